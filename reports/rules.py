"""Who may use the reports pages (``rules``): what the navigation and the pages offer. The
services check each report again (reports.access)."""

from typing import Any

import rules

from accounts.roles import role_of
from appeals.rules import has_own_record, is_representative
from audit.actors import Role
from casework.models import REVIEWERS


@rules.predicate
def is_reviewer(user: Any) -> bool:
    return role_of(user) in REVIEWERS


@rules.predicate
def is_oversight(user: Any) -> bool:
    return role_of(user) == Role.OVERSIGHT


rules.add_perm(
    "reports.use_reports", has_own_record | is_representative | is_reviewer | is_oversight
)
rules.add_perm("reports.ask_disclosure_of_own_record", has_own_record)
rules.add_perm("reports.ask_for_represented", is_representative)
rules.add_perm("reports.ask_for_case", is_reviewer)
rules.add_perm("reports.ask_oversight", is_oversight)

"""Who may see and act on cases: object permissions for the pages and the API (``rules``).

The services check the same things again: a permission here decides what is offered, and the
service decides what is done.
"""

from typing import Any

import rules

from accounts.roles import role_of
from casework.conflicts import conflict_for_request
from casework.models import Case
from casework.workflow import REVIEWERS


@rules.predicate
def is_reviewer(user: Any) -> bool:
    return role_of(user) in REVIEWERS


@rules.predicate
def passes_conflict_check(user: Any, case: Case | None) -> bool:
    if case is None:
        return True
    return conflict_for_request(user, case.subject).passes


rules.add_perm("casework.view_queue", is_reviewer)
rules.add_perm("casework.view_case", is_reviewer & passes_conflict_check)

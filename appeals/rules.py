"""Who may use the appeals pages (``rules``): what the navigation and the pages offer. The
services and selectors check the same again, object by object."""

from typing import Any

import rules

from accounts.per_request import remembered
from accounts.roles import role_of
from appeals.selectors import live_grants, own_subject
from audit.actors import Role


@rules.predicate
def has_own_record(user: Any) -> bool:
    """Anyone whose account is linked to their own record: officers and staff, reviewers too.
    Asked by the navigation on every page, so worked out once per request."""
    if role_of(user) is None:
        return False
    return remembered(user, "has_own_record", lambda: own_subject(user) is not None)


@rules.predicate
def is_representative(user: Any) -> bool:
    return role_of(user) == Role.REPRESENTATIVE


@rules.predicate
def represents_someone(user: Any) -> bool:
    return is_representative(user) and live_grants(user).exists()


@rules.predicate
def is_data_steward(user: Any) -> bool:
    return role_of(user) == Role.DATA_STEWARD


@rules.predicate
def is_senior_reviewer(user: Any) -> bool:
    return role_of(user) == Role.SENIOR_REVIEWER


rules.add_perm("appeals.view_own_record", has_own_record)
rules.add_perm("appeals.represent", is_representative)
rules.add_perm("appeals.adjudicate", is_data_steward)
rules.add_perm("appeals.decide_escalations", is_senior_reviewer)

"""The conflict rule: whose cases may this person neither see nor act on?

Nobody acts on a case about themselves, about someone in their own chain of command (either
direction: the line managers above them to the top, and everyone below them), about someone in
their own unit, about someone they declared a conflict with, or while they have a live case of
their own; an account not linked to its own record in the register fails the check.

The rule is written once, as one recursive query (``_SCOPE_SQL``) that lists everyone a person
is barred from and why. The work queue takes the whole list and filters by those ids
(``conflict_scope``); a case page, the API and the services ask it about one person, for the
reasons (``check_conflict``). See docs/decisions/0019-one-query-for-the-conflict-rule.md.
"""

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import connection
from django.db.models import QuerySet

from accounts.per_request import remembered
from casework.models import LIVE_STATUSES
from flags.models import Subject

UNLINKED = (
    "your account is not linked to your own record in the workforce register, so the conflict "
    "check cannot be made"
)
NOT_AT_PRESENT = "you may not review cases at present; ask your professional standards lead"
ABOUT_YOU = "the case is about you"
YOU_MANAGE_THEM = "you are in their chain of command"
THEY_MANAGE_YOU = "they are in your chain of command"
DECLARED = "you declared a conflict of interest with this person"


@dataclass(frozen=True)
class ConflictCheck:
    reasons: tuple[str, ...]

    @property
    def passes(self) -> bool:
        return not self.reasons


def conflict_scope(user: User) -> list[int] | None:
    """The subjects whose cases ``user`` may not see; None when they may see none at all: they
    have a live case of their own, or their account is not linked to their record."""
    with connection.cursor() as cursor:
        cursor.execute(_SCOPE_ROWS_SQL, _scope_params(user))
        rows = cursor.fetchall()
    if any(relation in _BARRED_FROM_ALL for _, relation in rows):
        return None
    return sorted({subject_id for subject_id, _ in rows})


def may_review_some_cases(users: QuerySet[User]) -> QuerySet[User]:
    """``users`` less those barred from every case: the query's ``unlinked`` and ``live`` rows
    (no record in the register, or a live case of their own), as a filter for a list of people,
    so that listing reviewers costs one query. A test holds it to ``conflict_scope``."""
    return users.filter(subject__isnull=False).exclude(subject__cases__status__in=LIVE_STATUSES)


def conflict_for_request(user: User, subject: Subject) -> ConflictCheck:
    """``check_conflict``, once per person and subject in a request (the permission rules and the
    page share it). Services run ``check_conflict`` afresh instead, under their row lock."""
    return remembered(user, ("conflict", subject.pk), lambda: check_conflict(user, subject))


def check_conflict(user: User, subject: Subject) -> ConflictCheck:
    """Every reason ``user`` may not act on a case about ``subject``; none means they may."""
    relations = _relations(user, subject.pk)
    reasons: list[str] = []
    if "unlinked" in relations:
        # Without the person's own record there is no unit or chain of command to check: the
        # check fails closed rather than passing everyone.
        reasons.append(UNLINKED)
    reasons += _relationship(relations, subject)
    if "live" in relations:
        # Worded so as not to tell a reviewer that a case about them exists: its notice may
        # have been deferred.
        reasons.append(NOT_AT_PRESENT)
    if "declared" in relations:
        reasons.append(DECLARED)
    return ConflictCheck(tuple(reasons))


def _relationship(relations: set[str], subject: Subject) -> list[str]:
    if "self" in relations:
        return [ABOUT_YOU]
    reasons = []
    if "below" in relations:
        reasons.append(YOU_MANAGE_THEM)
    if "above" in relations:
        reasons.append(THEY_MANAGE_YOU)
    if "unit" in relations:
        reasons.append(f"you work in the same unit ({subject.unit})")
    return reasons


def _relations(user: User, subject_id: int) -> set[str]:
    """How ``subject_id`` stands in ``user``'s conflict scope: the scope query, asked about one
    person. The database pushes the test into each branch, so only the chain of command is
    walked in full."""
    with connection.cursor() as cursor:
        cursor.execute(_RELATIONS_SQL, [*_scope_params(user), subject_id])
        return {row[0] for row in cursor.fetchall()}


def _scope_params(user: User) -> list[int | str]:
    return [user.pk, user.pk, *LIVE_STATUSES]


# Relations that bar the person from every case, not from one person's.
_BARRED_FROM_ALL = {"live", "unlinked"}

# The whole rule, for one person (the user id is the only input): their own record, everyone
# above them up the line-management tree and everyone below them however deep, their unit,
# their declarations; and two marks that bar them from everything: a live case about them, or
# no record linked to their account. UNION (not UNION ALL) in the walks stops a loop in the
# register from running forever, so no depth bound is needed and none can let a long chain
# through.
_LIVE = ", ".join(["%s"] * len(LIVE_STATUSES))
_SCOPE_SQL = f"""
WITH RECURSIVE
    own(id, unit) AS (
        SELECT id, unit FROM flags_subject WHERE user_id = %s
    ),
    above(id, manager) AS (
        SELECT s.id, s.line_manager_id FROM flags_subject s JOIN own o ON s.id = o.id
        UNION
        SELECT s.id, s.line_manager_id FROM flags_subject s JOIN above a ON s.id = a.manager
    ),
    below(id) AS (
        SELECT id FROM own
        UNION
        SELECT s.id FROM flags_subject s JOIN below b ON s.line_manager_id = b.id
    ),
    scope(id, relation) AS (
        SELECT id, 'self' FROM own
        UNION ALL SELECT id, 'above' FROM above WHERE id NOT IN (SELECT id FROM own)
        UNION ALL SELECT id, 'below' FROM below WHERE id NOT IN (SELECT id FROM own)
        UNION ALL SELECT s.id, 'unit' FROM flags_subject s JOIN own o ON s.unit = o.unit
        UNION ALL SELECT subject_id, 'declared' FROM casework_declaredconflict WHERE user_id = %s
        UNION ALL SELECT c.subject_id, 'live' FROM casework_case c JOIN own o ON c.subject_id = o.id
            WHERE c.status IN ({_LIVE})
        UNION ALL SELECT NULL, 'unlinked' WHERE NOT EXISTS (SELECT 1 FROM own)
    )
"""  # noqa: S608 - constant text and placeholders only
_ALL_ROWS = "SELECT id, relation FROM scope"
# The marks that bar the person from everything come with the one person's relations.
_ONE_PERSON = "SELECT relation FROM scope WHERE id = %s OR relation IN ('live', 'unlinked')"
_SCOPE_ROWS_SQL = _SCOPE_SQL + _ALL_ROWS
_RELATIONS_SQL = _SCOPE_SQL + _ONE_PERSON

"""The conflict rule: whose cases may this person neither see nor act on?

Nobody acts on a case about themselves, about someone in their own chain of command (either
direction: the line managers above them to the top, and everyone below them), about someone in
their own unit, about someone they declared a conflict with, or while they have a live case of
their own; an account not linked to its own record in the register fails the check.

The rule is written once, as one recursive query (``_SCOPE_SQL``) that lists everyone a person
is barred from and why. The work queue asks it for the whole list and filters by those ids
(``conflict_scope``); a case page and the services ask it about one person, for the reasons
(``check_conflict``). tests/casework/test_conflict_agreement.py holds the two to each other over
random organisation charts.
"""

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import connection
from django.db.models import Exists, OuterRef

from accounts.per_request import remembered
from casework.models import LIVE_STATUSES, Case
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


@dataclass(frozen=True)
class OwnRecord:
    """The person's own record in the register, as far as the rule needs it."""

    subject_id: int
    unit: str
    has_live_case: bool


def own_record(user: User) -> OwnRecord | None:
    """One query: the record ``user`` is linked to, and whether a case about it is live."""
    live = Case.objects.filter(subject=OuterRef("pk"), status__in=LIVE_STATUSES)
    row = (
        Subject.objects.filter(user=user)
        .annotate(live=Exists(live))
        .values_list("pk", "unit", "live")
        .first()
    )
    return None if row is None else OwnRecord(*row)


def conflict_scope(user: User) -> list[int] | None:
    """The subjects whose cases ``user`` may not see; None when they may see none at all: they
    have a live case of their own, or their account is not linked to their record."""
    own = own_record(user)
    if own is None or own.has_live_case:
        return None
    with connection.cursor() as cursor:
        cursor.execute(_SCOPE_IDS_SQL, _scope_params(user, own))
        return sorted(row[0] for row in cursor.fetchall())


def conflict_for_request(user: User, subject: Subject) -> ConflictCheck:
    """``check_conflict``, once per person and subject in a request (the permission rules and the
    page share it). Services run ``check_conflict`` afresh instead, under their row lock."""
    return remembered(user, ("conflict", subject.pk), lambda: check_conflict(user, subject))


def check_conflict(user: User, subject: Subject) -> ConflictCheck:
    """Every reason ``user`` may not act on a case about ``subject``; none means they may."""
    own = own_record(user)
    relations = _relations(user, own, subject.pk)
    reasons: list[str] = []
    if own is None:
        # Without the person's own record there is no unit or chain of command to check: the
        # check fails closed rather than passing everyone.
        reasons.append(UNLINKED)
    else:
        reasons += _relationship(relations, subject)
        if own.has_live_case:
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


def _relations(user: User, own: OwnRecord | None, subject_id: int) -> set[str]:
    """How ``subject_id`` stands in ``user``'s conflict scope: the scope query, asked about one
    person. The database pushes the ``id`` test into each branch, so only the chain of command
    is walked in full."""
    with connection.cursor() as cursor:
        cursor.execute(_RELATIONS_SQL, [*_scope_params(user, own), subject_id])
        return {row[0] for row in cursor.fetchall()}


def _scope_params(user: User, own: OwnRecord | None) -> list[object]:
    # Unlinked, the walks and the unit match nothing (= NULL is never true): only the person's
    # declarations are left, which is what the check still reports for them.
    own_id, unit = (own.subject_id, own.unit) if own else (None, None)
    return [own_id, own_id, own_id, own_id, own_id, unit, user.pk]


# Everyone above the person up the line-management tree, and everyone below them, however deep:
# UNION (not UNION ALL) stops a loop in the register from running forever, so no depth bound is
# needed and none can let a long chain through. Then their unit and their declarations.
_SCOPE_SQL = """
WITH RECURSIVE
    above(id, manager) AS (
        SELECT id, line_manager_id FROM flags_subject WHERE id = %s
        UNION
        SELECT s.id, s.line_manager_id FROM flags_subject s JOIN above a ON s.id = a.manager
    ),
    below(id) AS (
        SELECT id FROM flags_subject WHERE id = %s
        UNION
        SELECT s.id FROM flags_subject s JOIN below b ON s.line_manager_id = b.id
    ),
    scope(id, relation) AS (
        SELECT id, 'self' FROM flags_subject WHERE id = %s
        UNION ALL SELECT id, 'above' FROM above WHERE id <> %s
        UNION ALL SELECT id, 'below' FROM below WHERE id <> %s
        UNION ALL SELECT id, 'unit' FROM flags_subject WHERE unit = %s
        UNION ALL SELECT subject_id, 'declared' FROM casework_declaredconflict WHERE user_id = %s
    )
"""
_SCOPE_IDS_SQL = _SCOPE_SQL + "SELECT DISTINCT id FROM scope"  # noqa: S608 - constant text
_RELATIONS_SQL = _SCOPE_SQL + "SELECT relation FROM scope WHERE id = %s"  # noqa: S608

"""The conflict check: may this person act on a case about that person?

Nobody acts on a case about themselves, about someone in their own chain of command (either
direction), about someone in their own unit, about someone they declared a conflict with, or
while they have a live case of their own; an account not linked to its own record in the
register fails the check. Services enforce it; pages show its reasons.
"""

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import connection

from accounts.per_request import remembered
from casework.models import LIVE_STATUSES, Case, DeclaredConflict
from flags.models import Subject

UNLINKED = (
    "your account is not linked to your own record in the workforce register, so the conflict "
    "check cannot be made"
)
NOT_AT_PRESENT = "you may not review cases at present; ask your professional standards lead"

# Deeper than any real hierarchy; a guard, since the register refuses loops on import anyway.
MAX_CHAIN = 50


@dataclass(frozen=True)
class ConflictCheck:
    reasons: tuple[str, ...]

    @property
    def passes(self) -> bool:
        return not self.reasons


def managers_above(subject_id: int) -> list[int]:
    """The subject's line managers, nearest first, up to the top of the chain of command.

    One recursive query, however deep the chain: the conflict check runs on every case page.
    """
    with connection.cursor() as cursor:
        cursor.execute(_MANAGERS_SQL, [subject_id, MAX_CHAIN])
        return [row[0] for row in cursor.fetchall()]


# UNION (not UNION ALL) and the depth bound stop a loop in the register from running forever.
_MANAGERS_SQL = """
WITH RECURSIVE chain(id, depth) AS (
    SELECT line_manager_id, 1 FROM flags_subject WHERE id = %s AND line_manager_id IS NOT NULL
    UNION
    SELECT s.line_manager_id, c.depth + 1
    FROM flags_subject s JOIN chain c ON s.id = c.id
    WHERE s.line_manager_id IS NOT NULL AND c.depth < %s
)
SELECT id FROM chain GROUP BY id ORDER BY MIN(depth)
"""


def conflict_for_request(user: User, subject: Subject) -> ConflictCheck:
    """``check_conflict``, once per person and subject in a request (the permission rules and the
    page share it). Services run ``check_conflict`` afresh instead, under their row lock."""
    return remembered(user, ("conflict", subject.pk), lambda: check_conflict(user, subject))


def check_conflict(user: User, subject: Subject) -> ConflictCheck:
    """Every reason ``user`` may not act on a case about ``subject``; none means they may."""
    reasons: list[str] = []
    own = Subject.objects.filter(user=user).first()
    if own is None:
        # Without the person's own record there is no unit or chain of command to check: the
        # check fails closed rather than passing everyone.
        reasons.append(UNLINKED)
    else:
        reasons += _relationship(own, subject)
        if Case.objects.filter(subject=own, status__in=LIVE_STATUSES).exists():
            # Worded so as not to tell a reviewer that a case about them exists: its notice may
            # have been deferred.
            reasons.append(NOT_AT_PRESENT)
    if DeclaredConflict.objects.filter(user=user, subject=subject).exists():
        reasons.append("you declared a conflict of interest with this person")
    return ConflictCheck(tuple(reasons))


def _relationship(own: Subject, subject: Subject) -> list[str]:
    if own.pk == subject.pk:
        return ["the case is about you"]
    reasons = []
    if own.pk in managers_above(subject.pk):
        reasons.append("you are in their chain of command")
    if subject.pk in managers_above(own.pk):
        reasons.append("they are in your chain of command")
    if own.unit == subject.unit:
        reasons.append(f"you work in the same unit ({subject.unit})")
    return reasons

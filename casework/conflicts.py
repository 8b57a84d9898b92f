"""The conflict check: may this person act on a case about that person?

Nobody acts on a case about themselves, about someone in their own chain of command (either
direction), about someone in their own unit, about someone they declared a conflict with, or
while they have a live case of their own. Services enforce it; pages show its reasons.
"""

from dataclasses import dataclass

from django.contrib.auth.models import User

from casework.models import LIVE_STATUSES, Case, DeclaredConflict
from flags.models import Subject

# Deeper than any real hierarchy; a guard, since the register refuses loops on import anyway.
MAX_CHAIN = 50


@dataclass(frozen=True)
class ConflictCheck:
    reasons: tuple[str, ...]

    @property
    def passes(self) -> bool:
        return not self.reasons


def managers_above(subject_id: int) -> list[int]:
    """The subject's line managers, nearest first, up to the top of the chain of command."""
    chain: list[int] = []
    current = Subject.objects.filter(pk=subject_id).values_list("line_manager_id", flat=True)
    manager = current.first()
    while manager is not None and manager not in chain and len(chain) < MAX_CHAIN:
        chain.append(manager)
        manager = Subject.objects.filter(pk=manager).values_list("line_manager_id", flat=True)[0]
    return chain


def check_conflict(user: User, subject: Subject) -> ConflictCheck:
    """Every reason ``user`` may not act on a case about ``subject``; none means they may."""
    reasons: list[str] = []
    own = Subject.objects.filter(user=user).first()
    if own is not None:
        reasons += _relationship(own, subject)
        if Case.objects.filter(subject=own, status__in=LIVE_STATUSES).exists():
            reasons.append("you have a live case of your own")
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

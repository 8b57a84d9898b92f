"""A challenge's deadlines as the pages show them: each step, when it was due, when it was done,
and whether it was done in time (``appeals.deadlines.deadline_met``)."""

from dataclasses import dataclass
from datetime import date, datetime

from django.utils import timezone

from appeals.deadlines import deadline_met
from appeals.models import Challenge, ChallengeStatus


@dataclass(frozen=True)
class Deadline:
    step: str
    due: date
    done_at: datetime | None
    # True: done in time; False: done late, or not done and past due; None: not done, still may be.
    met: bool | None

    @property
    def words(self) -> str:
        if self.met is None:
            return "Not done yet"
        if self.done_at is None:
            return "Overdue"
        return "Met" if self.met else "Not met: done late"


def deadlines_of(challenge: Challenge, now: datetime | None = None) -> list[Deadline]:
    """The steps the data steward and, on escalation, the senior reviewer owe the person, in
    order. The person's own window to escalate is not one of them (see ``escalation_window``)."""
    moment = now or timezone.now()
    steps = [
        ("Take (acknowledge) it", challenge.acknowledge_due, challenge.acknowledged_at),
        ("Decide it", challenge.decide_due, challenge.decided_at),
    ]
    if challenge.escalation_decide_due is not None:
        steps.append(
            (
                "Decide the escalation",
                challenge.escalation_decide_due,
                challenge.escalation_decided_at,
            )
        )
    return [Deadline(step, due, done, deadline_met(due, done, moment)) for step, due, done in steps]


def next_due(challenge: Challenge) -> tuple[str, date] | None:
    """What an open challenge waits for next, and by when; None once nothing is owed."""
    if challenge.status == ChallengeStatus.SUBMITTED:
        return "Take it by", challenge.acknowledge_due
    if challenge.status == ChallengeStatus.ACKNOWLEDGED:
        return "Decide it by", challenge.decide_due
    if challenge.status == ChallengeStatus.ESCALATED and challenge.escalation_decide_due:
        return "Decide the escalation by", challenge.escalation_decide_due
    return None


def is_overdue(challenge: Challenge, today: date | None = None) -> bool:
    due = next_due(challenge)
    return due is not None and due[1] < (today or timezone.localdate())


def decided_in_time(challenge: Challenge) -> bool | None:
    """Whether the data steward decided it by its due date; None while undecided."""
    if challenge.decided_at is None:
        return None
    return timezone.localdate(challenge.decided_at) <= challenge.decide_due


def escalation_decided_in_time(challenge: Challenge) -> bool | None:
    if challenge.escalation_decided_at is None or challenge.escalation_decide_due is None:
        return None
    return timezone.localdate(challenge.escalation_decided_at) <= challenge.escalation_decide_due

"""The case state machine: the one table that says what may happen to a case next, and who may
do it. Services enforce it; pages and the API render it ("what can happen next, and who").

The system may only move a case toward the subject's benefit (hold, release, withdrawal). Every
adverse step needs named humans.
"""

from dataclasses import dataclass

from django.db import models

from audit.actors import Role
from casework.models import (  # noqa: F401 - Outcome is part of the workflow's vocabulary
    ADVERSE_OUTCOMES,
    LIVE_STATUSES,
    NON_ADVERSE_OUTCOMES,
    CaseStatus,
    Outcome,
)


class Action(models.TextChoices):
    START_REVIEW = "start_review", "Start review"
    RECOMMEND = "recommend", "Recommend an outcome"
    SIGN_OFF = "sign_off", "Sign off a non-adverse outcome"
    SIGN_REFERRAL = "sign_referral", "Sign a referral for misconduct investigation"
    RETURN_FOR_CORRECTION = "return_for_correction", "Return for correction"
    HOLD = "hold", "Put on hold"
    RELEASE = "release", "Release from hold"
    WITHDRAW = "withdraw", "Withdraw"
    DEFER_NOTIFICATION = "defer_notification", "Defer notifying the subject"
    ASSIGN = "assign", "Assign to a reviewer"


REVIEWERS = frozenset({Role.REVIEWER, Role.SENIOR_REVIEWER})
SENIOR = frozenset({Role.SENIOR_REVIEWER})
SYSTEM_OR_REVIEWERS = REVIEWERS | {Role.SYSTEM}

# Targets that are not a fixed state.
PREVIOUS = "previous"  # back to the state the case was in before it was put on hold
UNCHANGED = "unchanged"  # a decision that does not move the case


@dataclass(frozen=True)
class Transition:
    action: Action
    sources: frozenset[str]
    # A CaseStatus, or PREVIOUS or UNCHANGED.
    target: str
    roles: frozenset[Role]
    precondition: str


TRANSITIONS: tuple[Transition, ...] = (
    Transition(
        Action.START_REVIEW,
        frozenset({CaseStatus.OPEN}),
        CaseStatus.IN_REVIEW,
        REVIEWERS,
        "the reviewer is assigned and passes the conflict check",
    ),
    Transition(
        Action.RECOMMEND,
        frozenset({CaseStatus.IN_REVIEW}),
        CaseStatus.AWAITING_SIGN_OFF,
        REVIEWERS,
        "a recommended outcome with its rationale",
    ),
    Transition(
        Action.SIGN_OFF,
        frozenset({CaseStatus.AWAITING_SIGN_OFF}),
        CaseStatus.CLOSED,
        REVIEWERS,
        "a non-adverse outcome, signed by a reviewer who is not the recommender",
    ),
    Transition(
        Action.SIGN_REFERRAL,
        frozenset({CaseStatus.AWAITING_SIGN_OFF}),
        CaseStatus.REFERRED,
        SENIOR,
        "two senior signatures, neither the recommender's, and no open challenge on the "
        "case's evidence; the case is referred at the second",
    ),
    Transition(
        Action.RETURN_FOR_CORRECTION,
        frozenset({CaseStatus.AWAITING_SIGN_OFF}),
        CaseStatus.IN_REVIEW,
        REVIEWERS,
        "returned by a signer, with reasons",
    ),
    Transition(
        Action.HOLD,
        frozenset({CaseStatus.OPEN, CaseStatus.IN_REVIEW, CaseStatus.AWAITING_SIGN_OFF}),
        CaseStatus.ON_HOLD,
        SYSTEM_OR_REVIEWERS,
        "a challenge on the case's evidence is open: no outcome can be signed",
    ),
    Transition(
        Action.RELEASE,
        frozenset({CaseStatus.ON_HOLD}),
        PREVIOUS,
        frozenset({Role.SYSTEM}),
        "the challenge is resolved",
    ),
    Transition(
        Action.WITHDRAW,
        frozenset(LIVE_STATUSES),
        CaseStatus.WITHDRAWN,
        SYSTEM_OR_REVIEWERS,
        "corrected data no longer meets the threshold",
    ),
    Transition(
        Action.DEFER_NOTIFICATION,
        frozenset(LIVE_STATUSES),
        UNCHANGED,
        SENIOR,
        "the subject has not yet been told; reasons and an expiry date are given",
    ),
    Transition(
        Action.ASSIGN,
        frozenset({CaseStatus.OPEN, CaseStatus.IN_REVIEW}),
        UNCHANGED,
        SENIOR,
        "the new assignee is a reviewer who passes the conflict check",
    ),
)


class CaseActionError(Exception):
    """An action on a case that was refused; the message says why, in words. Nothing was written.

    Pages show the message; the API answers with ``status_code``.
    """

    status_code = 409


class TransitionRefused(CaseActionError):
    """An action the workflow does not allow now, by this role or in this state."""


class InvalidDecision(CaseActionError):
    """A decision whose content is not acceptable: no rationale, a missing outcome, a bad date.

    ``problems`` maps each part of the request at fault (``field``) to its message, so that a form
    can show each beside its field.
    """

    status_code = 422

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.problems: dict[str, str] = {field: message}

    @classmethod
    def about(cls, problems: dict[str, str]) -> "InvalidDecision":
        """Several problems at once: the message is all of them; ``problems`` names each."""
        error = cls(" ".join(problems.values()))
        error.problems = dict(problems)
        return error


class ConflictOfInterest(CaseActionError):
    """The actor may not see or act on this case: the conflict check does not pass."""

    status_code = 403


def transitions_from(status: str) -> list[Transition]:
    """What can happen next to a case in ``status``, in the table's order."""
    return [transition for transition in TRANSITIONS if status in transition.sources]


def transition_for(status: str, action: str, role: Role) -> Transition:
    """The transition ``role`` may make with ``action`` from ``status``, or TransitionRefused."""
    try:
        label = Action(action).label
    except ValueError:
        raise TransitionRefused(f"{action!r} is not an action on a case.") from None
    matching = [t for t in TRANSITIONS if t.action == action and status in t.sources]
    if not matching:
        allowed = ", ".join(str(t.action.label).lower() for t in transitions_from(status))
        raise TransitionRefused(
            f"{label} is not possible on a case that is {CaseStatus(status).label.lower()}; "
            f"what can happen next: {allowed or 'nothing'}."
        )
    [transition] = matching
    if role not in transition.roles:
        who = " or ".join(sorted(Role(r).label.lower() for r in transition.roles))
        raise TransitionRefused(f"{label} needs a {who}, not a {Role(role).label.lower()}.")
    return transition

"""The case state machine: the one table that says what may happen to a case next, who may do
it, and on what condition. Services enforce it; pages and the API render it ("what can happen
next, and who").

Each row carries its guard: the rule, beyond state and role, that must hold for the actor to take
it now (only the assignee recommends, nobody signs their own recommendation, ...). ``allowed``
checks the conflict check, the row and its guard together; ``refusal`` and ``next_steps`` say the
same in words for the pages. Targets are fixed here too, so that no service picks a state.

The system may only move a case toward the subject's benefit (hold, release, withdrawal). Every
adverse step needs named humans.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db import models
from django.utils import timezone

from audit.actors import Actor, Role
from casework import selectors
from casework.conflicts import ConflictCheck, check_conflict
from casework.models import (  # noqa: F401 - Outcome is part of the workflow's vocabulary
    ADVERSE_OUTCOMES,
    LIVE_STATUSES,
    NON_ADVERSE_OUTCOMES,
    REVIEWERS,
    SENIOR,
    Case,
    CaseStatus,
    DecisionKind,
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
    SET_ASIDE = "set_aside", "Set aside a decision"
    RECORD_REFERRAL_RESULT = "record_referral_result", "Record the referral's result"


SYSTEM_OR_REVIEWERS = REVIEWERS | {Role.SYSTEM}

# Targets that are not a fixed state.
PREVIOUS = "previous"  # back to the state the case was in before it was put on hold
UNCHANGED = "unchanged"  # a decision that does not move the case

# A guard says why ``actor`` may not take a transition on ``case`` now, or "" when they may.
Guard = Callable[[Case, Actor], str]


def no_guard(case: Case, actor: Actor) -> str:
    return ""


def only_the_assignee_or_unassigned(case: Case, actor: Actor) -> str:
    if case.assignee_id is not None and case.assignee_id != actor.user_id:
        return "A senior reviewer assigned this case to someone else: only they may start review."
    if actor.user_id in selectors.set_aside_deciders(case):
        return (
            "A decision of yours on this case was set aside when a challenge to it was upheld: "
            "a different reviewer must take it."
        )
    return ""


def only_the_assignee(case: Case, actor: Actor) -> str:
    if case.assignee_id != actor.user_id:
        return "Only the reviewer the case is assigned to may recommend."
    return ""


def not_the_recommender(case: Case, actor: Actor) -> str:
    if case.recommended_by_id == actor.user_id:
        return (
            "You recommended this outcome, so someone else must sign it or return it: nobody "
            "signs their own recommendation."
        )
    return ""


def non_adverse_not_by_the_recommender(case: Case, actor: Actor) -> str:
    if case.recommended_outcome in ADVERSE_OUTCOMES:
        return (
            "A referral for misconduct investigation needs two senior signatures: "
            "use sign referral."
        )
    if selectors.has_open_challenge(case):
        return "A challenge on this case is open: no outcome can be signed until it is resolved."
    return not_the_recommender(case, actor)


def referral_with_undisputed_evidence(case: Case, actor: Actor) -> str:
    if case.recommended_outcome not in ADVERSE_OUTCOMES:
        return "The recommendation is not a referral: sign it off as a non-adverse outcome."
    if selectors.has_open_challenge(case):
        return "A challenge on this case is open: a referral cannot be signed until it is resolved."
    if any(s.made_by_id == actor.user_id for s in selectors.referral_signatures(case)):
        return "You have already signed this referral: a second senior reviewer must sign it."
    return not_the_recommender(case, actor)


def a_challenge_is_open(case: Case, actor: Actor) -> str:
    # The system too: a hold with nothing to wait for would only delay the subject's case.
    if not selectors.has_open_challenge(case):
        return (
            "A case is put on hold while a challenge to its evidence or its decisions is open, "
            "and none is: there is nothing to wait for."
        )
    return ""


def no_longer_meets_threshold(case: Case, actor: Actor) -> str:
    if actor.role != Role.SYSTEM and selectors.still_meets_threshold(case):
        return (
            f"The case's data still meets threshold policy v{case.policy.version}, so it cannot "
            "be withdrawn: that is for cases whose corrected data no longer meets it. To end "
            "it, recommend an outcome for a second person to sign."
        )
    return ""


def no_referral_result_yet(case: Case, actor: Actor) -> str:
    # The referral that stands: a result recorded for one set aside before the case was referred
    # again is history, and does not stop the new referral's result being recorded.
    existing = selectors.referral_results_of(case).current
    if existing is not None:
        return (
            f"The result of this referral is already recorded (result {existing.pk}: "
            f"{existing.get_result_display().lower()}, the investigating body concluded on "
            f"{existing.concluded_on:%-d %B %Y}, recorded by {existing.recorded_by.get_username()} "
            f"on {timezone.localtime(existing.recorded_at):%-d %B %Y}). A referral has one "
            "result, and it is never rewritten."
        )
    if selectors.standing_referral(case) is None:
        return "No referral signature is on record for this case, so it has no result to record."
    return ""


def subject_not_yet_told(case: Case, actor: Actor) -> str:
    if not selectors.opening_notice_pending(case):
        return "The subject has already been told of this case."
    return ""


@dataclass(frozen=True)
class Transition:
    action: Action
    sources: frozenset[str]
    # A CaseStatus, or PREVIOUS or UNCHANGED.
    target: str
    roles: frozenset[Role]
    precondition: str
    guard: Guard = no_guard
    # How many distinct signatures move the case to ``target``; before the last, a signature
    # is recorded and the case stays where it is.
    signatures: int = 1
    # Taken only as the consequence of an upheld challenge (``appeals``), never from the case
    # page or the case API, which do not offer it.
    through_a_challenge: bool = False
    # Taken through a form and an endpoint of its own, by its own service, since what it writes
    # is not a decision: the case page and the case API offer it there, not with the others.
    own_form: bool = False


TRANSITIONS: tuple[Transition, ...] = (
    Transition(
        Action.START_REVIEW,
        frozenset({CaseStatus.OPEN}),
        CaseStatus.IN_REVIEW,
        REVIEWERS,
        "the reviewer is assigned and passes the conflict check",
        only_the_assignee_or_unassigned,
    ),
    Transition(
        Action.RECOMMEND,
        frozenset({CaseStatus.IN_REVIEW}),
        CaseStatus.AWAITING_SIGN_OFF,
        REVIEWERS,
        "a recommended outcome with its rationale",
        only_the_assignee,
    ),
    Transition(
        Action.SIGN_OFF,
        frozenset({CaseStatus.AWAITING_SIGN_OFF}),
        CaseStatus.CLOSED,
        REVIEWERS,
        "a non-adverse outcome, signed by a reviewer who is not the recommender",
        non_adverse_not_by_the_recommender,
    ),
    Transition(
        Action.SIGN_REFERRAL,
        frozenset({CaseStatus.AWAITING_SIGN_OFF}),
        CaseStatus.REFERRED,
        SENIOR,
        "two senior signatures, neither the recommender's, and no open challenge on the "
        "case's evidence; the case is referred at the second",
        referral_with_undisputed_evidence,
        signatures=2,
    ),
    Transition(
        Action.RETURN_FOR_CORRECTION,
        frozenset({CaseStatus.AWAITING_SIGN_OFF}),
        CaseStatus.IN_REVIEW,
        REVIEWERS,
        "returned by a signer, with reasons",
        not_the_recommender,
    ),
    Transition(
        Action.HOLD,
        frozenset({CaseStatus.OPEN, CaseStatus.IN_REVIEW, CaseStatus.AWAITING_SIGN_OFF}),
        CaseStatus.ON_HOLD,
        SYSTEM_OR_REVIEWERS,
        "a challenge on the case's evidence is open: no outcome can be signed",
        a_challenge_is_open,
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
        no_longer_meets_threshold,
    ),
    Transition(
        Action.DEFER_NOTIFICATION,
        frozenset(LIVE_STATUSES),
        UNCHANGED,
        SENIOR,
        "the subject has not yet been told; reasons and an expiry date are given",
        subject_not_yet_told,
    ),
    Transition(
        Action.ASSIGN,
        frozenset({CaseStatus.OPEN, CaseStatus.IN_REVIEW}),
        UNCHANGED,
        SENIOR,
        "the new assignee is a reviewer who passes the conflict check",
    ),
    Transition(
        Action.SET_ASIDE,
        frozenset(
            {
                CaseStatus.IN_REVIEW,
                CaseStatus.AWAITING_SIGN_OFF,
                CaseStatus.ON_HOLD,
                CaseStatus.CLOSED,
                CaseStatus.REFERRED,
            }
        ),
        CaseStatus.OPEN,
        frozenset({Role.DATA_STEWARD, Role.SENIOR_REVIEWER}),
        "a challenge to one of the case's decisions was upheld by the data steward deciding it "
        "(or, on escalation, a senior reviewer); the case returns to review, where a different "
        "reviewer must take it",
        through_a_challenge=True,
    ),
    Transition(
        Action.RECORD_REFERRAL_RESULT,
        frozenset({CaseStatus.REFERRED}),
        UNCHANGED,
        SENIOR,
        "the investigating body has concluded and no result is recorded yet for the referral "
        "that stands; the result, the day it concluded and the reasons are given",
        no_referral_result_yet,
        own_form=True,
    ),
)

# What the case page's action forms and the case API's transitions offer: everything but what
# only a challenge does and what has a form of its own.
CASE_ACTIONS = [
    (t.action.value, t.action.label)
    for t in TRANSITIONS
    if not (t.through_a_challenge or t.own_form)
]


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


def target_after(transition: Transition, case: Case, *, signatures: int = 1) -> str:
    """The state ``case`` is in after ``transition``, as the table says, given how many distinct
    signatures (this one included) the transition then has."""
    if signatures < transition.signatures or transition.target == UNCHANGED:
        return case.status
    if transition.target == PREVIOUS:
        return case.held_from
    return transition.target


def allowed(
    case: Case, action: str, actor: Actor, conflict: ConflictCheck | None = None
) -> Transition:
    """The transition ``actor`` may make with ``action`` on ``case`` now, or a CaseActionError
    that says why not: the conflict check, the table's row for the state and role, its guard."""
    check_conflict_passes(case, actor, conflict)
    transition = transition_for(case.status, action, actor.role)
    reason = transition.guard(case, actor)
    if reason:
        raise TransitionRefused(reason)
    return transition


def refusal(
    case: Case, action: str, actor: Actor, conflict: ConflictCheck | None = None
) -> CaseActionError | None:
    """Why ``actor`` may not take ``action`` on ``case`` as it stands, or None if they may.

    Everything that depends on the case and the person, not on what they write. The pages and
    the API use it to offer only what can be done; the services check the same under the row
    lock.
    """
    try:
        allowed(case, action, actor, conflict)
    except CaseActionError as exc:
        return exc
    return None


def check_conflict_passes(case: Case, actor: Actor, conflict: ConflictCheck | None = None) -> None:
    if actor.role == Role.SYSTEM:
        return
    conflict = conflict or check_conflict(actor.user, case.subject)
    if not conflict.passes:
        raise ConflictOfInterest(
            "You may not see or act on this case: " + "; ".join(conflict.reasons) + "."
        )


@dataclass(frozen=True)
class NextStep:
    """One thing that can happen next to a case: who may do it, and whether this viewer may now."""

    action: Action
    who: str
    precondition: str
    refusal: str

    @property
    def available(self) -> bool:
        return not self.refusal

    @property
    def label(self) -> str:
        return str(self.action.label)


def next_steps(case: Case, actor: Actor, conflict: ConflictCheck | None = None) -> list[NextStep]:
    """What can happen next to ``case``, by whom, and which of it ``actor`` may do now.

    Steps only the system takes (release from hold) are listed for information. ``conflict`` is
    the actor's conflict check for the case, when the caller has already run it.
    """
    if conflict is None and actor.role != Role.SYSTEM:
        conflict = check_conflict(actor.user, case.subject)
    steps = []
    for transition in transitions_from(case.status):
        if transition.through_a_challenge:
            continue
        who = " or ".join(sorted(str(Role(role).label).lower() for role in transition.roles))
        refused = refusal(case, transition.action, actor, conflict)
        steps.append(NextStep(transition.action, who, transition.precondition, str(refused or "")))
    return steps

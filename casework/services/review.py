"""Review: every decision a person (or the system) makes about a case.

One function per action, each the one door for that action, with the arguments it takes spelt
out. Each locks the case row, so that of two people acting at once the second sees the first's
result and is refused if it no longer fits; checks the workflow (``workflow.allowed``: the
conflict check, the transition table's row and its guard), the actor's fresh declaration of no
conflict and the rationale; then writes the insert-only decision, the case's new state (the
table's target, never the function's choice) with its history row, any notice to the subject,
and the audit events, in one transaction. Refused, it raises a CaseActionError and writes
nothing.

``act_on_case`` takes a ``DecisionRequest``, as the pages and the API collect it, and calls the
function for its action.
"""

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from accounts.roles import role_of
from audit import log
from audit.actors import Actor, Role
from audit.chain import canonical_json, canonical_time, sha256_hex
from audit.history import save_with_history
from casework import audit_actions, selectors
from casework.conflicts import check_conflict, conflict_scope
from casework.models import (
    ADVERSE_OUTCOMES,
    CHALLENGEABLE_DECISIONS,
    LIVE_STATUSES,
    REVIEWERS,
    Case,
    CaseStatus,
    Decision,
    DecisionKind,
    Notification,
    NotificationKind,
    Outcome,
)
from casework.services.notices import notify_now
from casework.workflow import (
    Action,
    InvalidDecision,
    Transition,
    TransitionRefused,
    allowed,
    check_conflict_passes,
    target_after,
)


@dataclass(frozen=True)
class DecisionRequest:
    """What an actor asks to do to a case, as the pages and the API collect it."""

    action: str
    rationale: str = ""
    outcome: str = ""
    no_conflict_declared: bool = False
    deferred_until: date | None = None
    # The state the actor saw the case in. When given and the case has moved on since, the
    # action is refused: someone else acted first.
    expected_status: str | None = None
    # For a signature: the recommendation (its decision id) the signer read. When given and a
    # newer recommendation has replaced it, the signature is refused.
    recommendation_id: int | None = None
    # For an assignment: the username of the reviewer the case is given to.
    assign_to: str = ""


def act_on_case(case_id: int, request: DecisionRequest, *, actor: Actor) -> Decision:
    """Carry out ``request`` on a case through the function for its action.

    The forms and the API call this; each action's own function checks and writes.
    """
    common: dict[str, Any] = {
        "actor": actor,
        "rationale": request.rationale,
        "no_conflict_declared": request.no_conflict_declared,
        "expected_status": request.expected_status,
    }
    signed: dict[str, Any] = {
        "outcome": request.outcome,
        "recommendation_id": request.recommendation_id,
    }
    match request.action:
        case Action.START_REVIEW:
            return start_review(case_id, **common)
        case Action.RECOMMEND:
            return recommend(case_id, outcome=request.outcome, **common)
        case Action.SIGN_OFF:
            return sign_off(case_id, **signed, **common)
        case Action.SIGN_REFERRAL:
            return sign_referral(case_id, **signed, **common)
        case Action.RETURN_FOR_CORRECTION:
            return return_for_correction(case_id, **common)
        case Action.HOLD:
            return hold(case_id, **common)
        case Action.RELEASE:
            return release(case_id, **common)
        case Action.WITHDRAW:
            return withdraw(case_id, **common)
        case Action.DEFER_NOTIFICATION:
            return defer_notification(case_id, deferred_until=request.deferred_until, **common)
        case Action.ASSIGN:
            return assign(case_id, assign_to=request.assign_to, **common)
    # Not an action here: refused with the same checks and words as any other refusal, and
    # otherwise because it is taken elsewhere (a referral's result has a door of its own).
    with transaction.atomic():
        _begin(case_id, request.action, **common)
    if request.action == Action.RECORD_REFERRAL_RESULT:
        raise TransitionRefused(
            "A referral's result is not a decision: record it with its own form on the case "
            "page, or at /api/v1/cases/{id}/referral-result/."
        )
    raise TransitionRefused(f"{request.action!r} is not an action on a case.")  # pragma: no cover


def start_review(
    case_id: int,
    *,
    actor: Actor,
    rationale: str,
    no_conflict_declared: bool = False,
    expected_status: str | None = None,
) -> Decision:
    """A reviewer takes an open case: they become its assignee."""
    with _acting(
        case_id, Action.START_REVIEW, actor, rationale, no_conflict_declared, expected_status
    ) as (case, transition):
        now = timezone.now()
        change = Change(
            DecisionKind.TRIAGE,
            audit_actions.CASE_REVIEW_STARTED,
            {"assignee": actor.user, "review_started_at": now, "review_started_by": actor.user},
        )
        return _record(case, transition, change, actor=actor, rationale=rationale)


def recommend(
    case_id: int,
    *,
    actor: Actor,
    outcome: str,
    rationale: str,
    no_conflict_declared: bool = False,
    expected_status: str | None = None,
) -> Decision:
    """The assignee recommends an outcome for someone else to sign. A recommended referral tells
    the subject at once, deferral or not: they always hear before an adverse outcome is signed."""
    with _acting(
        case_id, Action.RECOMMEND, actor, rationale, no_conflict_declared, expected_status
    ) as (case, transition):
        chosen = _outcome(outcome)
        notices = []
        if chosen in ADVERSE_OUTCOMES:
            notices = notify_now(case, NotificationKind.ADVERSE_OUTCOME_PENDING)
        change = Change(
            DecisionKind.RECOMMENDATION,
            audit_actions.CASE_RECOMMENDED,
            {
                "recommended_outcome": chosen,
                "recommended_at": timezone.now(),
                "recommended_by": actor.user,
            },
            outcome=chosen,
        )
        return _record(case, transition, change, actor=actor, rationale=rationale, before=notices)


def sign_off(
    case_id: int,
    *,
    actor: Actor,
    outcome: str,
    rationale: str,
    no_conflict_declared: bool = False,
    recommendation_id: int | None = None,
    expected_status: str | None = None,
) -> Decision:
    """A reviewer who did not recommend it signs a non-adverse outcome, closing the case."""
    with _acting(
        case_id, Action.SIGN_OFF, actor, rationale, no_conflict_declared, expected_status
    ) as (case, transition):
        signed = _signed_outcome(case, outcome, recommendation_id)
        change = Change(
            DecisionKind.SIGN_OFF,
            audit_actions.CASE_SIGNED_OFF,
            {"concluded_at": timezone.now(), "concluded_by": actor.user, "outcome": signed},
            outcome=signed,
        )
        notices = notify_now(case, NotificationKind.CASE_CONCLUDED)
        return _record(case, transition, change, actor=actor, rationale=rationale, before=notices)


def sign_referral(
    case_id: int,
    *,
    actor: Actor,
    outcome: str,
    rationale: str,
    no_conflict_declared: bool = False,
    recommendation_id: int | None = None,
    expected_status: str | None = None,
) -> Decision:
    """A senior reviewer signs a recommended referral; the second distinct senior signature on
    the same recommendation and evidence refers the case."""
    with _acting(
        case_id, Action.SIGN_REFERRAL, actor, rationale, no_conflict_declared, expected_status
    ) as (case, transition):
        signed = _signed_outcome(case, outcome, recommendation_id)
        signatures = len(selectors.referral_signatures(case)) + 1
        # The notice goes when a referral is recommended; this is the guarantee, not the rule.
        notices = notify_now(case, NotificationKind.ADVERSE_OUTCOME_PENDING)
        if signatures < transition.signatures:
            change = Change(
                DecisionKind.SIGN_OFF,
                audit_actions.CASE_REFERRAL_SIGNED,
                {},
                outcome=signed,
                signatures=signatures,
            )
        else:
            change = Change(
                DecisionKind.SECOND_SIGNATURE,
                audit_actions.CASE_REFERRED,
                {"concluded_at": timezone.now(), "concluded_by": actor.user, "outcome": signed},
                outcome=signed,
                signatures=signatures,
            )
            notices += notify_now(case, NotificationKind.CASE_CONCLUDED)
        return _record(case, transition, change, actor=actor, rationale=rationale, before=notices)


def return_for_correction(
    case_id: int,
    *,
    actor: Actor,
    rationale: str,
    no_conflict_declared: bool = False,
    expected_status: str | None = None,
) -> Decision:
    """A signer sends the recommendation back, with reasons; the recommendation is cleared."""
    action = Action.RETURN_FOR_CORRECTION
    with _acting(case_id, action, actor, rationale, no_conflict_declared, expected_status) as (
        case,
        transition,
    ):
        change = Change(
            DecisionKind.RETURN_FOR_CORRECTION,
            audit_actions.CASE_RETURNED,
            {"recommended_outcome": "", "recommended_at": None, "recommended_by": None},
        )
        return _record(case, transition, change, actor=actor, rationale=rationale)


def hold(
    case_id: int,
    *,
    actor: Actor,
    rationale: str,
    no_conflict_declared: bool = False,
    expected_status: str | None = None,
) -> Decision:
    """The system or a reviewer holds a case while a challenge to its evidence is open."""
    with _acting(case_id, Action.HOLD, actor, rationale, no_conflict_declared, expected_status) as (
        case,
        transition,
    ):
        change = Change(DecisionKind.HOLD, audit_actions.CASE_HELD, {"held_from": case.status})
        return _record(case, transition, change, actor=actor, rationale=rationale)


def release(
    case_id: int,
    *,
    actor: Actor,
    rationale: str,
    no_conflict_declared: bool = False,
    expected_status: str | None = None,
) -> Decision:
    """The system returns a held case to the state it was held from."""
    with _acting(
        case_id, Action.RELEASE, actor, rationale, no_conflict_declared, expected_status
    ) as (case, transition):
        change = Change(DecisionKind.RELEASE, audit_actions.CASE_RELEASED, {"held_from": ""})
        return _record(case, transition, change, actor=actor, rationale=rationale)


def withdraw(
    case_id: int,
    *,
    actor: Actor,
    rationale: str,
    no_conflict_declared: bool = False,
    expected_status: str | None = None,
) -> Decision:
    """The system, or a reviewer once the corrected data no longer meets the policy the case
    opened under, withdraws a live case; the subject is told."""
    with _acting(
        case_id, Action.WITHDRAW, actor, rationale, no_conflict_declared, expected_status
    ) as (case, transition):
        change = Change(
            DecisionKind.WITHDRAWAL,
            audit_actions.CASE_WITHDRAWN,
            {"concluded_at": timezone.now(), "concluded_by": actor.user, "held_from": ""},
        )
        notices = notify_now(case, NotificationKind.CASE_CONCLUDED)
        return _record(case, transition, change, actor=actor, rationale=rationale, before=notices)


def defer_notification(
    case_id: int,
    *,
    actor: Actor,
    deferred_until: date | None,
    rationale: str,
    no_conflict_declared: bool = False,
    expected_status: str | None = None,
) -> Decision:
    """A senior reviewer defers telling the subject that the case opened, until a date within
    NOTIFICATION_DEFERRAL_MAX_DAYS of the opening (so renewals cannot stretch it)."""
    with _acting(
        case_id, Action.DEFER_NOTIFICATION, actor, rationale, no_conflict_declared, expected_status
    ) as (case, transition):
        until = _deferral_end(case, deferred_until)
        notice = (
            Notification.objects.select_for_update()
            .filter(case=case, kind=NotificationKind.CASE_OPENED)
            .first()
        )
        if notice is None or notice.sent_at is not None:  # the guard checked; this is the lock
            raise TransitionRefused("The subject has already been told of this case.")
        # The notice falls due at the start of the day after the deferral ends.
        was_due = notice.due_at
        notice.due_at = timezone.make_aware(
            datetime.combine(until + timedelta(days=1), datetime.min.time())
        )
        notice.save(update_fields=["due_at"])
        change = Change(
            DecisionKind.NOTIFICATION_DEFERRAL,
            audit_actions.CASE_NOTIFICATION_DEFERRED,
            {},
            deferred_until=until,
            audit_data={
                "notification": notice.pk,
                "due_at_before": canonical_time(was_due),
                "due_at_after": canonical_time(notice.due_at),
            },
        )
        return _record(case, transition, change, actor=actor, rationale=rationale)


def assign(
    case_id: int,
    *,
    actor: Actor,
    assign_to: str,
    rationale: str,
    no_conflict_declared: bool = False,
    expected_status: str | None = None,
) -> Decision:
    """A senior reviewer gives an open or in-review case to a reviewer who passes the conflict
    check; only that reviewer may then start review."""
    with _acting(
        case_id, Action.ASSIGN, actor, rationale, no_conflict_declared, expected_status
    ) as (case, transition):
        assignee = _assignable(case, assign_to)
        change = Change(
            DecisionKind.ASSIGNMENT,
            audit_actions.CASE_ASSIGNED,
            {"assignee": assignee},
            audit_data={"assigned_to": assignee.pk, "assigned_from": case.assignee_id},
            assigned_to=assignee,
        )
        return _record(case, transition, change, actor=actor, rationale=rationale)


def set_aside(
    case_id: int,
    *,
    actor: Actor,
    decision_id: int,
    rationale: str,
    no_conflict_declared: bool = False,
    cause: Mapping[str, Any] | None = None,
) -> Decision:
    """Set aside a recommendation or signed outcome that an upheld challenge found wrong. Called
    by ``appeals`` only, as the adjudicator (a data steward, or a senior reviewer deciding an
    escalation). A new decision names the one set aside, which stays as it was; the case returns
    to review, unassigned, and whoever made the decision set aside may not take it again."""
    with _acting(case_id, Action.SET_ASIDE, actor, rationale, no_conflict_declared, None) as (
        case,
        transition,
    ):
        original = case.decisions.filter(pk=decision_id).first()
        if original is None or original.kind not in CHALLENGEABLE_DECISIONS:
            raise InvalidDecision(
                f"Decision {decision_id} is not a recommendation or a signature on this case.",
                field="decision",
            )
        if original.set_aside_by.exists():
            raise TransitionRefused(f"Decision {decision_id} has already been set aside.")
        if case.status not in LIVE_STATUSES and (
            Case.objects.filter(subject_id=case.subject_id, status__in=LIVE_STATUSES).exists()
        ):
            raise TransitionRefused(
                "The person this case is about has another live case, and a person has at most "
                "one: that case must end before this one can return to review."
            )
        change = Change(
            DecisionKind.SET_ASIDE,
            audit_actions.CASE_DECISION_SET_ASIDE,
            {
                "assignee": None,
                "recommended_outcome": "",
                "recommended_at": None,
                "recommended_by": None,
                "concluded_at": None,
                "concluded_by": None,
                "outcome": "",
                "held_from": "",
            },
            audit_data={"sets_aside": original.pk, **(cause or {})},
            sets_aside=original,
        )
        return _record(case, transition, change, actor=actor, rationale=rationale)


# ---------------------------------------------------------------------------------------------
# What every action shares.


@contextmanager
def _acting(
    case_id: int,
    action: str,
    actor: Actor,
    rationale: str,
    no_conflict_declared: bool,
    expected_status: str | None,
) -> Iterator[tuple[Case, Transition]]:
    """The action's transaction, with the case locked and the action checked (``_begin``); what
    the action writes inside it commits with it, or nothing does."""
    with transaction.atomic():
        yield _begin(
            case_id,
            action,
            actor=actor,
            rationale=rationale,
            no_conflict_declared=no_conflict_declared,
            expected_status=expected_status,
        )


def _begin(
    case_id: int,
    action: str,
    *,
    actor: Actor,
    rationale: str,
    no_conflict_declared: bool,
    expected_status: str | None,
) -> tuple[Case, Transition]:
    """Lock the case and check that ``actor`` may take ``action`` with what they wrote.

    Runs inside the action's transaction; the row lock is held until it commits.
    """
    case = (
        Case.objects.select_for_update(of=("self",))
        .select_related("subject", "policy")
        .filter(pk=case_id)
        .first()
    )
    if case is None:
        raise TransitionRefused(f"There is no case {case_id}.")
    if expected_status and expected_status != case.status:
        # Whether the case moved on is itself something only those who may see it learn.
        check_conflict_passes(case, actor)
        raise TransitionRefused(
            "Someone else acted on this case while you were looking at it: it is now "
            f"{CaseStatus(case.status).label.lower()}. Nothing was saved; check the case and "
            "try again."
        )
    transition = allowed(case, action, actor)
    _check_declaration_and_rationale(rationale, no_conflict_declared, actor)
    return case, transition


def _check_declaration_and_rationale(
    rationale: str, no_conflict_declared: bool, actor: Actor
) -> None:
    """Both at once, so that a form shows every problem with what was written together."""
    problems: dict[str, str] = {}
    minimum = settings.DECISION_RATIONALE_MIN_CHARS
    if len(rationale.strip()) < minimum:
        problems["rationale"] = f"Give your reasons in at least {minimum} characters."
    if actor.role != Role.SYSTEM and not no_conflict_declared:
        problems["no_conflict_declared"] = (
            "Declare that you have no conflict of interest with the person this case is about."
        )
    if problems:
        raise InvalidDecision.about(problems)


def _outcome(outcome: str) -> Outcome:
    if not outcome:
        raise InvalidDecision("Choose an outcome.", field="outcome")
    try:
        return Outcome(outcome)
    except ValueError:
        raise InvalidDecision(f"{outcome!r} is not an outcome.", field="outcome") from None


def _signed_outcome(case: Case, outcome: str, recommendation_id: int | None) -> Outcome:
    """The outcome a signer signs: they must name it, and it must be the one recommended."""
    recommended = Outcome(case.recommended_outcome)
    if recommendation_id is not None:
        latest = selectors.latest_decision(case, DecisionKind.RECOMMENDATION)
        if latest is None or latest.pk != recommendation_id:
            raise TransitionRefused(
                "The recommendation changed after you read it. Nothing was saved; read the case "
                "again before you sign."
            )
    if not outcome:
        raise InvalidDecision(
            f"Name the outcome you are signing: the recommendation is {recommended.label.lower()}.",
            field="outcome",
        )
    if outcome != recommended:
        raise InvalidDecision(
            f"The recommendation is {recommended.label.lower()}. To sign a different outcome, "
            "return the case for correction.",
            field="outcome",
        )
    return recommended


def _deferral_end(case: Case, until: date | None) -> date:
    today = timezone.localdate()
    longest = settings.NOTIFICATION_DEFERRAL_MAX_DAYS
    latest = timezone.localdate(case.opened_at) + timedelta(days=longest)
    if until is None:
        raise InvalidDecision(
            "Give the date until which the notice is deferred.", field="deferred_until"
        )
    if not today < until <= latest:
        raise InvalidDecision(
            f"A deferral must end after today and within {longest} days of the case opening "
            f"(by {latest.isoformat()}).",
            field="deferred_until",
        )
    return until


def _assignable(case: Case, username: str) -> Any:
    assignee = (
        get_user_model().objects.filter(username=username, is_active=True).first()
        if username
        else None
    )
    # A reviewer barred from every case (a live case of their own, or no record) is answered as
    # one who does not exist: the assigner must not learn that a colleague is under review.
    if assignee is None or role_of(assignee) not in REVIEWERS or conflict_scope(assignee) is None:
        raise InvalidDecision("Choose a reviewer to assign the case to.", field="assign_to")
    if assignee.pk == case.assignee_id:
        raise InvalidDecision(
            f"The case is already assigned to {assignee.get_username()}.", field="assign_to"
        )
    if not check_conflict(assignee, case.subject).passes:
        # Their reasons are theirs: the assigner learns only that the check does not pass.
        raise InvalidDecision(
            f"{assignee.get_username()} may not review this case: the conflict check does not "
            "pass for them.",
            field="assign_to",
        )
    return assignee


@dataclass
class Change:
    """What an action writes: the decision's kind and audit code, and the case's changed fields.

    The case's new state is not here: it is the transition table's target (``target_after``).
    """

    kind: DecisionKind
    audit_action: str
    fields: dict[str, Any]
    outcome: str = ""
    deferred_until: date | None = None
    audit_data: dict[str, Any] = field(default_factory=dict)
    assigned_to: Any = None
    # For a transition that needs several signatures: how many there are with this one.
    signatures: int = 1
    sets_aside: Decision | None = None


def _record(
    case: Case,
    transition: Transition,
    change: Change,
    *,
    actor: Actor,
    rationale: str,
    before: Sequence[log.Entry] = (),
) -> Decision:
    """Write the decision, the case's new state with its history row, and the audit events
    (``before`` first: the notices the decision sent)."""
    now = timezone.now()
    decision = new_decision(
        case,
        transition,
        change,
        actor=actor,
        rationale=rationale,
        now=now,
        hashes=selectors.evidence_hashes(case),
    )
    decision.save()
    fields = case_changes(case, decision, change, now)
    if fields:
        save_with_history(
            case,
            actor=actor,
            reason=f"{DecisionKind(change.kind).label.lower()} (decision {decision.pk})",
            update_fields=list(fields),
        )
    log.record_many([*before, decision_entry(case, decision, change)], actor=actor)
    return decision


def new_decision(
    case: Case,
    transition: Transition,
    change: Change,
    *,
    actor: Actor,
    rationale: str,
    now: datetime,
    hashes: list[str],
) -> Decision:
    """The decision ``change`` makes on ``case``, unsaved: its target is the table's."""
    return Decision(
        case=case,
        kind=change.kind,
        outcome=change.outcome,
        rationale=rationale.strip(),
        made_at=now,
        made_by=actor.user,
        role=actor.role,
        on_behalf_of=actor.on_behalf_of,
        # A person's declaration was required by _begin; the system has no interest to declare.
        no_conflict_declared=True,
        status_before=case.status,
        status_after=target_after(transition, case, signatures=change.signatures),
        policy_version=case.policy.version,
        evidence_hashes=hashes,
        deferred_until=change.deferred_until,
        assigned_to=change.assigned_to,
        sets_aside=change.sets_aside,
    )


def case_changes(case: Case, decision: Decision, change: Change, now: datetime) -> dict[str, Any]:
    """Apply the decision's changes to ``case`` (unsaved); returns the fields changed."""
    fields = dict(change.fields)
    if decision.status_after != decision.status_before:
        fields.update(status=decision.status_after, status_changed_at=now)
    for name, value in fields.items():
        setattr(case, name, value)
    return fields


def decision_entry(case: Case, decision: Decision, change: Change) -> log.Entry:
    return log.Entry(
        change.audit_action,
        case,
        data={
            "decision": decision.pk,
            "kind": change.kind,
            "outcome": change.outcome,
            "from": decision.status_before,
            "to": decision.status_after,
            "policy_version": decision.policy_version,
            "evidence_hashes": sha256_hex(canonical_json(decision.evidence_hashes)),
            "rationale_hash": sha256_hex(decision.rationale.encode("utf-8")),
            "no_conflict_declared": decision.no_conflict_declared,
            "row_hash": log.row_hash(decision),
            **change.audit_data,
        },
        reason=DecisionKind(change.kind).label.lower(),
    )

"""Every governed write of the casework app.

Each function takes a keyword-only ``actor``, runs in one transaction, and writes its audit events
in that transaction.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from accounts.roles import role_of
from audit import log
from audit.access import Shown, record_access
from audit.actors import Actor, Role
from audit.chain import canonical_json, canonical_time, sha256_hex
from audit.history import save_with_history
from casework import audit_actions
from casework.conflicts import ConflictCheck, check_conflict
from casework.models import (
    ADVERSE_OUTCOMES,
    AttachedVia,
    Case,
    CaseFlag,
    CaseStatus,
    Decision,
    DecisionKind,
    DeclaredConflict,
    Notification,
    NotificationKind,
    Outcome,
    PolicyStatus,
    ThresholdPolicy,
)
from casework.policies import DEFAULT_DESCRIPTION, DEFAULT_RULES
from casework.selectors import (
    active_policy,
    candidate_flags,
    case_candidate_flags,
    live_cases_by_subject,
)
from casework.thresholds import Evaluation, counts, evaluate, parse_rules
from casework.workflow import (
    REVIEWERS,
    Action,
    CaseActionError,
    ConflictOfInterest,
    InvalidDecision,
    Transition,
    TransitionRefused,
    transition_for,
    transitions_from,
)
from flags.models import (
    EvidenceRecord,
    EvidenceStatus,
    Subject,
)
from flags.services import lock_subjects
from flags.signals import Consequences, StoredFlag


def open_or_update_cases_for_new_flags(
    new_flags: Sequence[StoredFlag], *, actor: Actor
) -> Consequences:
    """Evaluate the subjects of newly stored flags against the active threshold policy.

    Called by the system inside the ingest transaction. For each subject: if they have a live
    case, the new flags that count under the policy are attached to it; otherwise, if the policy
    is met, a case opens with the evaluation trace and every counting flag attached. The system
    only ever opens a case for review: no outcome is reached here.

    Returns the cases the new flags joined (``{flag_id: case_id}``) and the ``case.opened`` and
    ``case.flags_attached`` audit events, which the ingest transaction appends, as ``actor``, after
    its own: the audit chain's lock is then held only for the transaction's last step.
    """
    with transaction.atomic():
        subject_ids = {flag.subject_id for flag in new_flags}
        lock_subjects(subject_ids)
        policy = active_policy()
        rules = parse_rules(policy.rules)
        now = timezone.now()
        as_of = timezone.localdate(now)
        live = live_cases_by_subject(subject_ids)
        candidates = candidate_flags(subject_ids - set(live), rules, as_of)

        evaluations: dict[int, Evaluation] = {}
        for subject_id, flags in candidates.items():
            evaluation = evaluate(
                rules, flags, policy_version=policy.version, as_of=as_of, evaluated_at=now
            )
            if evaluation.met:
                evaluations[subject_id] = evaluation
        opened = bulk_create_with_history(
            [
                Case(
                    subject_id=subject_id,
                    status=CaseStatus.OPEN,
                    policy=policy,
                    trace=evaluation.as_trace(),
                    opened_at=now,
                    opened_by=actor.user,
                    status_changed_at=now,
                    due_on=as_of + timedelta(days=settings.CASE_REVIEW_DUE_DAYS),
                )
                for subject_id, evaluation in evaluations.items()
            ],
            Case,
            default_user=actor.user,
            default_change_reason=f"threshold met under policy v{policy.version}",
            default_date=now,
        )
        links: list[CaseFlag] = []
        attached: dict[int, int] = {}
        entries: list[log.Entry] = []
        for case in opened:
            evaluation = evaluations[case.subject_id]
            flag_ids_counted = evaluation.counted_flag_ids()
            category_of = {
                flag["id"]: item["category"]
                for item in evaluation.categories
                for flag in item["counted"]
            }
            links += [
                CaseFlag(
                    case=case,
                    flag_id=flag_id,
                    attached_at=now,
                    via=AttachedVia.OPENING,
                    category=category_of[flag_id],
                )
                for flag_id in flag_ids_counted
            ]
            attached.update(dict.fromkeys(flag_ids_counted, case.pk))
            entries.append(
                log.Entry(
                    audit_actions.CASE_OPENED,
                    case,
                    data={
                        "subject": case.subject_id,
                        "policy_version": policy.version,
                        "flags": flag_ids_counted,
                        "trace_hash": sha256_hex(canonical_json(case.trace)),
                    },
                    reason=f"threshold met under policy v{policy.version}",
                )
            )

        newly_attached: dict[int, list[int]] = {}
        for new in new_flags:
            case = live.get(new.subject_id)
            rule = rules.get(new.category)
            if case is None or rule is None:
                continue
            if counts(rule, new.score, new.window_end, as_of):
                links.append(
                    CaseFlag(
                        case=case,
                        flag_id=new.id,
                        attached_at=now,
                        via=AttachedVia.JOINING,
                        category=new.category,
                    )
                )
                attached[new.id] = case.pk
                newly_attached.setdefault(case.pk, []).append(new.id)
        for case_id, ids in newly_attached.items():
            entries.append(
                log.Entry(
                    audit_actions.CASE_FLAGS_ATTACHED,
                    ("casework.case", case_id),
                    data={"flags": ids, "policy_version": policy.version},
                    reason=f"new flags count under policy v{policy.version}",
                )
            )
        CaseFlag.objects.bulk_create(links, batch_size=2000)
        notice_due = now + timedelta(hours=settings.SUBJECT_NOTICE_DELAY_HOURS)
        Notification.objects.bulk_create(
            [
                Notification(
                    subject_id=case.subject_id,
                    case=case,
                    kind=NotificationKind.CASE_OPENED,
                    created_at=now,
                    due_at=notice_due,
                )
                for case in opened
            ],
            batch_size=2000,
        )
    return Consequences(cases=attached, audit_entries=entries, actor=actor)


def install_default_policy(*, actor: Actor) -> ThresholdPolicy | None:
    """Install the default policy as version 1, active, when no policy exists yet.

    Run by the system after migrations. Returns the policy, or None when one already existed.
    """
    with transaction.atomic():
        if ThresholdPolicy.objects.exists():
            return None
        parse_rules(DEFAULT_RULES)  # the default must pass the same check as any proposal
        now = timezone.now()
        policy = ThresholdPolicy(
            version=1,
            status=PolicyStatus.ACTIVE,
            rules=DEFAULT_RULES,
            description=DEFAULT_DESCRIPTION,
            proposed_at=now,
            proposed_by=actor.user,
            activated_at=now,
            activated_by=actor.user,
        )
        save_with_history(policy, actor=actor, reason="default policy installed")
        log.record(
            audit_actions.POLICY_SEEDED,
            policy,
            actor=actor,
            data={"version": 1, "rules_hash": sha256_hex(canonical_json(DEFAULT_RULES))},
            reason="default threshold policy installed",
        )
    return policy


def declare_conflict(subject: Subject, *, actor: Actor) -> DeclaredConflict:
    """Record the actor's declaration that they must not act on cases about ``subject``.

    Anyone may declare; a repeated declaration changes nothing and returns the first.
    """
    with transaction.atomic():
        existing = DeclaredConflict.objects.filter(user=actor.user, subject=subject).first()
        if existing is not None:
            return existing
        declaration = DeclaredConflict(user=actor.user, subject=subject, declared_at=timezone.now())
        save_with_history(declaration, actor=actor, reason="conflict declared")
        log.record(
            audit_actions.CONFLICT_DECLARED,
            declaration,
            actor=actor,
            data={"user": actor.user_id, "subject": subject.pk},
            reason="conflict of interest declared",
        )
    return declaration


def record_case_views(
    cases: Iterable[Case], *, actor: Actor, channel: str, view: str, purpose: str = "case review"
) -> None:
    """Log that ``actor`` was shown these cases, each about a person (the access log)."""
    record_access(
        [Shown(case.subject_id, "casework.case", case.pk) for case in cases],
        actor=actor,
        channel=channel,
        view=view,
        purpose=purpose,
    )


# ---------------------------------------------------------------------------------------------
# Review: every decision a person (or the system) makes about a case.


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
    """Carry out one action of the workflow on a case, for any actor the table allows.

    The one door for every decision: it locks the case row, so that of two people acting at once
    the second sees the first's result and is refused if it no longer fits; checks the
    transition table, the conflict check, the action's own rules (``refusal``), the actor's
    fresh declaration of no conflict and the rationale; then writes the decision, the case's new
    state with its history row, any notice to the subject, and the audit events, in one
    transaction. Raises a CaseActionError subclass and writes nothing when refused.
    """
    with transaction.atomic():
        case = (
            Case.objects.select_for_update(of=("self",))
            .select_related("subject", "policy")
            .filter(pk=case_id)
            .first()
        )
        if case is None:
            raise TransitionRefused(f"There is no case {case_id}.")
        if request.expected_status and request.expected_status != case.status:
            _check_conflict(case, actor)
            raise TransitionRefused(
                "Someone else acted on this case while you were looking at it: it is now "
                f"{CaseStatus(case.status).label.lower()}. Nothing was saved; check the case and "
                "try again."
            )
        transition = _allowed(case, request.action, actor)
        _check_declaration_and_rationale(request, actor)
        return _HANDLERS[transition.action](case, request, transition, actor)


def refusal(
    case: Case, action: str, actor: Actor, conflict: ConflictCheck | None = None
) -> CaseActionError | None:
    """Why ``actor`` may not take ``action`` on ``case`` as it stands, or None if they may.

    Everything that depends on the case and the person, not on what they write: the transition
    table, the conflict check, and each action's own rules. The pages and the API use it to
    offer only what can be done; ``act_on_case`` checks the same under the row lock.
    """
    try:
        _allowed(case, action, actor, conflict)
    except CaseActionError as exc:
        return exc
    return None


def _allowed(
    case: Case, action: str, actor: Actor, conflict: ConflictCheck | None = None
) -> Transition:
    """The transition ``actor`` may make with ``action`` now; a CaseActionError says why not."""
    _check_conflict(case, actor, conflict)
    transition = transition_for(case.status, action, actor.role)
    reason = _ACTION_RULES.get(transition.action, _no_rule)(case, actor)
    if reason:
        raise TransitionRefused(reason)
    return transition


def _check_conflict(case: Case, actor: Actor, conflict: ConflictCheck | None = None) -> None:
    if actor.role == Role.SYSTEM:
        return
    conflict = conflict or check_conflict(actor.user, case.subject)
    if not conflict.passes:
        raise ConflictOfInterest(
            "You may not see or act on this case: " + "; ".join(conflict.reasons) + "."
        )


def _no_rule(case: Case, actor: Actor) -> str:
    return ""


def _must_be_assignee(case: Case, actor: Actor) -> str:
    if case.assignee_id != actor.user_id:
        return "Only the reviewer the case is assigned to may recommend."
    return ""


def _must_not_be_recommender(case: Case, actor: Actor) -> str:
    if case.recommended_by_id == actor.user_id:
        return (
            "You recommended this outcome, so someone else must sign it or return it: nobody "
            "signs their own recommendation."
        )
    return ""


def _sign_off_rule(case: Case, actor: Actor) -> str:
    if case.recommended_outcome in ADVERSE_OUTCOMES:
        return (
            "A referral for misconduct investigation needs two senior signatures: "
            "use sign referral."
        )
    return _must_not_be_recommender(case, actor)


def _sign_referral_rule(case: Case, actor: Actor) -> str:
    if case.recommended_outcome not in ADVERSE_OUTCOMES:
        return "The recommendation is not a referral: sign it off as a non-adverse outcome."
    if has_disputed_evidence(case):
        return (
            "A challenge to the evidence behind this case is open: a referral cannot be signed "
            "until it is resolved."
        )
    if any(s.made_by_id == actor.user_id for s in referral_signatures(case)):
        return "You have already signed this referral: a second senior reviewer must sign it."
    return _must_not_be_recommender(case, actor)


def _defer_rule(case: Case, actor: Actor) -> str:
    pending = Notification.objects.filter(
        case=case, kind=NotificationKind.CASE_OPENED, sent_at=None
    )
    if not pending.exists():
        return "The subject has already been told of this case."
    return ""


def _hold_rule(case: Case, actor: Actor) -> str:
    if actor.role != Role.SYSTEM and not has_disputed_evidence(case):
        return (
            "A case is put on hold while a challenge to its evidence is open, and none is: "
            "there is nothing to wait for."
        )
    return ""


def _withdraw_rule(case: Case, actor: Actor) -> str:
    if actor.role != Role.SYSTEM and still_meets_threshold(case):
        return (
            f"The case's data still meets threshold policy v{case.policy.version}, so it cannot "
            "be withdrawn: that is for cases whose corrected data no longer meets it. To end "
            "it, recommend an outcome for a second person to sign."
        )
    return ""


def _start_review_rule(case: Case, actor: Actor) -> str:
    if case.assignee_id is not None and case.assignee_id != actor.user_id:
        return "A senior reviewer assigned this case to someone else: only they may start review."
    return ""


_ACTION_RULES: dict[Action, Callable[[Case, Actor], str]] = {
    Action.START_REVIEW: _start_review_rule,
    Action.HOLD: _hold_rule,
    Action.WITHDRAW: _withdraw_rule,
    Action.RECOMMEND: _must_be_assignee,
    Action.SIGN_OFF: _sign_off_rule,
    Action.SIGN_REFERRAL: _sign_referral_rule,
    Action.RETURN_FOR_CORRECTION: _must_not_be_recommender,
    Action.DEFER_NOTIFICATION: _defer_rule,
}


def _check_declaration_and_rationale(request: DecisionRequest, actor: Actor) -> None:
    """Both at once, so that a form shows every problem with what was written together."""
    problems: dict[str, str] = {}
    minimum = settings.DECISION_RATIONALE_MIN_CHARS
    if len(request.rationale.strip()) < minimum:
        problems["rationale"] = f"Give your reasons in at least {minimum} characters."
    if actor.role != Role.SYSTEM and not request.no_conflict_declared:
        problems["no_conflict_declared"] = (
            "Declare that you have no conflict of interest with the person this case is about."
        )
    if problems:
        raise InvalidDecision.about(problems)


def _outcome(request: DecisionRequest) -> Outcome:
    if not request.outcome:
        raise InvalidDecision("Choose an outcome.", field="outcome")
    try:
        return Outcome(request.outcome)
    except ValueError:
        raise InvalidDecision(f"{request.outcome!r} is not an outcome.", field="outcome") from None


def evidence_hashes(case: Case) -> list[str]:
    """The content hashes of the evidence behind the case's flags, sorted: what it rests on."""
    rows = EvidenceRecord.objects.filter(flags__case_links__case=case).values_list(
        "content_hash", flat=True
    )
    return sorted(set(rows))


def still_meets_threshold(case: Case) -> bool:
    """Whether the case's active flags, on their evidence as it stands (withdrawn records left
    out), still meet the policy the case opened under, as of the day it was evaluated."""
    rules = parse_rules(case.policy.rules)
    trace = case.trace if isinstance(case.trace, dict) else {}
    as_of = date.fromisoformat(trace["as_of"]) if "as_of" in trace else case.opened_at.date()
    candidates = case_candidate_flags(case)
    evaluation = evaluate(
        rules,
        candidates,
        policy_version=case.policy.version,
        as_of=as_of,
        evaluated_at=timezone.now(),
    )
    return evaluation.met


def has_disputed_evidence(case: Case) -> bool:
    """Whether a challenge to the data behind the case is open (its evidence is disputed)."""
    return EvidenceRecord.objects.filter(
        flags__case_links__case=case, status=EvidenceStatus.DISPUTED
    ).exists()


@dataclass
class _Change:
    """What a handler decided: the decision's kind, the case's new state and changed fields."""

    kind: DecisionKind
    audit_action: str
    status_after: str
    fields: dict[str, Any]
    outcome: str = ""
    deferred_until: date | None = None
    audit_data: dict[str, Any] = field(default_factory=dict)
    assigned_to: Any = None


def _record(
    case: Case,
    request: DecisionRequest,
    change: _Change,
    actor: Actor,
    extra_entries: Sequence[log.Entry] = (),
) -> Decision:
    now = timezone.now()
    status_before = case.status
    decision = Decision.objects.create(
        case=case,
        kind=change.kind,
        outcome=change.outcome,
        rationale=request.rationale.strip(),
        made_at=now,
        made_by=actor.user,
        role=actor.role,
        on_behalf_of=actor.on_behalf_of,
        no_conflict_declared=request.no_conflict_declared or actor.role == Role.SYSTEM,
        status_before=status_before,
        status_after=change.status_after,
        policy_version=case.policy.version,
        evidence_hashes=evidence_hashes(case),
        deferred_until=change.deferred_until,
        assigned_to=change.assigned_to,
    )
    fields = dict(change.fields)
    if change.status_after != status_before:
        fields.update(status=change.status_after, status_changed_at=now)
    for name, value in fields.items():
        setattr(case, name, value)
    label = DecisionKind(change.kind).label.lower()
    if fields:
        save_with_history(
            case,
            actor=actor,
            reason=f"{label} (decision {decision.pk})",
            update_fields=list(fields),
        )
    entry = log.Entry(
        change.audit_action,
        case,
        data={
            "decision": decision.pk,
            "kind": change.kind,
            "outcome": change.outcome,
            "from": status_before,
            "to": change.status_after,
            "policy_version": decision.policy_version,
            "evidence_hashes": sha256_hex(canonical_json(decision.evidence_hashes)),
            "rationale_hash": sha256_hex(decision.rationale.encode("utf-8")),
            "no_conflict_declared": decision.no_conflict_declared,
            "row_hash": log.row_hash(decision),
            **change.audit_data,
        },
        reason=label,
    )
    log.record_many([*extra_entries, entry], actor=actor)
    return decision


def _start_review(
    case: Case, request: DecisionRequest, transition: Transition, actor: Actor
) -> Decision:
    now = timezone.now()
    change = _Change(
        DecisionKind.TRIAGE,
        audit_actions.CASE_REVIEW_STARTED,
        transition.target,
        {"assignee": actor.user, "review_started_at": now, "review_started_by": actor.user},
    )
    return _record(case, request, change, actor)


def _recommend(
    case: Case, request: DecisionRequest, transition: Transition, actor: Actor
) -> Decision:
    outcome = _outcome(request)
    notices: list[log.Entry] = []
    if outcome in ADVERSE_OUTCOMES:
        # The subject is always told before an adverse outcome is signed, deferral or not.
        notices = _notify_now(case, NotificationKind.ADVERSE_OUTCOME_PENDING)
    change = _Change(
        DecisionKind.RECOMMENDATION,
        audit_actions.CASE_RECOMMENDED,
        transition.target,
        {
            "recommended_outcome": outcome,
            "recommended_at": timezone.now(),
            "recommended_by": actor.user,
        },
        outcome=outcome,
    )
    return _record(case, request, change, actor, notices)


def _signed_outcome(case: Case, request: DecisionRequest) -> Outcome:
    """The outcome a signer signs: they must name it, and it must be the one recommended."""
    recommended = Outcome(case.recommended_outcome)
    if request.recommendation_id is not None:
        latest = _latest(case, DecisionKind.RECOMMENDATION)
        if latest is None or latest.pk != request.recommendation_id:
            raise TransitionRefused(
                "The recommendation changed after you read it. Nothing was saved; read the case "
                "again before you sign."
            )
    if not request.outcome:
        raise InvalidDecision(
            f"Name the outcome you are signing: the recommendation is {recommended.label.lower()}.",
            field="outcome",
        )
    if request.outcome != recommended:
        raise InvalidDecision(
            f"The recommendation is {recommended.label.lower()}. To sign a different outcome, "
            "return the case for correction.",
            field="outcome",
        )
    return recommended


def _sign_off(
    case: Case, request: DecisionRequest, transition: Transition, actor: Actor
) -> Decision:
    outcome = _signed_outcome(case, request)
    now = timezone.now()
    change = _Change(
        DecisionKind.SIGN_OFF,
        audit_actions.CASE_SIGNED_OFF,
        transition.target,
        {"concluded_at": now, "concluded_by": actor.user, "outcome": outcome},
        outcome=outcome,
    )
    notices = _notify_now(case, NotificationKind.CASE_CONCLUDED)
    return _record(case, request, change, actor, notices)


def referral_signatures(case: Case) -> list[Decision]:
    """The senior signatures on the case's current referral recommendation, oldest first."""
    if case.recommended_at is None:
        return []
    # A signature counts only for the recommendation it was made on, with nothing between (no
    # hold, no release), and on the evidence as it stands now: a corrected record means the
    # signer signed something else. Decisions are insert-only, so ids order them.
    since = (
        case.decisions.filter(
            kind__in=[DecisionKind.RECOMMENDATION, DecisionKind.HOLD, DecisionKind.RELEASE]
        )
        .order_by("-pk")
        .values_list("pk", flat=True)
        .first()
    )
    current = evidence_hashes(case)
    signatures = case.decisions.filter(
        kind=DecisionKind.SIGN_OFF, outcome=Outcome.REFERRAL, pk__gt=since or 0
    ).order_by("pk")
    return [signature for signature in signatures if signature.evidence_hashes == current]


def _latest(case: Case, kind: DecisionKind) -> Decision | None:
    return case.decisions.filter(kind=kind).order_by("-pk").first()


def _sign_referral(
    case: Case, request: DecisionRequest, transition: Transition, actor: Actor
) -> Decision:
    outcome = _signed_outcome(case, request)
    # The notice is sent when a referral is recommended; this is the guarantee, not the rule.
    notices = _notify_now(case, NotificationKind.ADVERSE_OUTCOME_PENDING)
    if not referral_signatures(case):
        change = _Change(
            DecisionKind.SIGN_OFF,
            audit_actions.CASE_REFERRAL_SIGNED,
            case.status,
            {},
            outcome=outcome,
        )
        return _record(case, request, change, actor, notices)
    now = timezone.now()
    change = _Change(
        DecisionKind.SECOND_SIGNATURE,
        audit_actions.CASE_REFERRED,
        transition.target,
        {"concluded_at": now, "concluded_by": actor.user, "outcome": outcome},
        outcome=outcome,
    )
    notices += _notify_now(case, NotificationKind.CASE_CONCLUDED)
    return _record(case, request, change, actor, notices)


def _return_for_correction(
    case: Case, request: DecisionRequest, transition: Transition, actor: Actor
) -> Decision:
    change = _Change(
        DecisionKind.RETURN_FOR_CORRECTION,
        audit_actions.CASE_RETURNED,
        transition.target,
        {"recommended_outcome": "", "recommended_at": None, "recommended_by": None},
    )
    return _record(case, request, change, actor)


def _hold(case: Case, request: DecisionRequest, transition: Transition, actor: Actor) -> Decision:
    change = _Change(
        DecisionKind.HOLD, audit_actions.CASE_HELD, transition.target, {"held_from": case.status}
    )
    return _record(case, request, change, actor)


def _release(
    case: Case, request: DecisionRequest, transition: Transition, actor: Actor
) -> Decision:
    change = _Change(
        DecisionKind.RELEASE, audit_actions.CASE_RELEASED, case.held_from, {"held_from": ""}
    )
    return _record(case, request, change, actor)


def _withdraw(
    case: Case, request: DecisionRequest, transition: Transition, actor: Actor
) -> Decision:
    now = timezone.now()
    change = _Change(
        DecisionKind.WITHDRAWAL,
        audit_actions.CASE_WITHDRAWN,
        transition.target,
        {"concluded_at": now, "concluded_by": actor.user, "held_from": ""},
    )
    notices = _notify_now(case, NotificationKind.CASE_CONCLUDED)
    return _record(case, request, change, actor, notices)


def _defer_notification(
    case: Case, request: DecisionRequest, transition: Transition, actor: Actor
) -> Decision:
    until = request.deferred_until
    today = timezone.localdate()
    longest = settings.NOTIFICATION_DEFERRAL_MAX_DAYS
    # Counted from the day the case opened, so that renewing a deferral cannot stretch it.
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
    notice = (
        Notification.objects.select_for_update()
        .filter(case=case, kind=NotificationKind.CASE_OPENED)
        .first()
    )
    if notice is None or notice.sent_at is not None:  # refusal() checked; this is the lock
        raise TransitionRefused("The subject has already been told of this case.")
    # The notice falls due at the start of the day after the deferral ends.
    was_due = notice.due_at
    notice.due_at = timezone.make_aware(
        datetime.combine(until + timedelta(days=1), datetime.min.time())
    )
    notice.save(update_fields=["due_at"])
    change = _Change(
        DecisionKind.NOTIFICATION_DEFERRAL,
        audit_actions.CASE_NOTIFICATION_DEFERRED,
        case.status,
        {},
        deferred_until=until,
        audit_data={
            "notification": notice.pk,
            "due_at_before": canonical_time(was_due),
            "due_at_after": canonical_time(notice.due_at),
        },
    )
    return _record(case, request, change, actor)


def _assign(case: Case, request: DecisionRequest, transition: Transition, actor: Actor) -> Decision:
    assignee = (
        get_user_model().objects.filter(username=request.assign_to, is_active=True).first()
        if request.assign_to
        else None
    )
    if assignee is None or role_of(assignee) not in REVIEWERS:
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
    change = _Change(
        DecisionKind.ASSIGNMENT,
        audit_actions.CASE_ASSIGNED,
        case.status,
        {"assignee": assignee},
        audit_data={"assigned_to": assignee.pk, "assigned_from": case.assignee_id},
        assigned_to=assignee,
    )
    return _record(case, request, change, actor)


_Handler = Callable[[Case, DecisionRequest, Transition, Actor], Decision]
_HANDLERS: dict[Action, _Handler] = {
    Action.START_REVIEW: _start_review,
    Action.RECOMMEND: _recommend,
    Action.SIGN_OFF: _sign_off,
    Action.SIGN_REFERRAL: _sign_referral,
    Action.RETURN_FOR_CORRECTION: _return_for_correction,
    Action.HOLD: _hold,
    Action.RELEASE: _release,
    Action.WITHDRAW: _withdraw,
    Action.DEFER_NOTIFICATION: _defer_notification,
    Action.ASSIGN: _assign,
}


# ---------------------------------------------------------------------------------------------
# Notices to the subject.


def _notify_now(case: Case, kind: NotificationKind) -> list[log.Entry]:
    """Send the subject a notice of ``kind`` now (and the case-opened notice, if still pending).

    Returns the audit entries for the caller's transaction; e-mail goes after commit.
    """
    now = timezone.now()
    entries = []
    for each in dict.fromkeys([NotificationKind.CASE_OPENED, kind]):
        notice, _ = Notification.objects.select_for_update().get_or_create(
            case=case,
            kind=each,
            defaults={"subject_id": case.subject_id, "created_at": now, "due_at": now},
        )
        if notice.sent_at is None:
            entries.append(_mark_sent(notice, now))
    return entries


def _mark_sent(notice: Notification, now: datetime) -> log.Entry:
    notice.sent_at = now
    notice.save(update_fields=["sent_at"])
    transaction.on_commit(partial(_email_later, notice.pk))
    return log.Entry(
        audit_actions.NOTIFICATION_SENT,
        notice,
        data={"case": notice.case_id, "subject": notice.subject_id, "kind": notice.kind},
        reason="the subject is told",
    )


def _email_later(notification_id: int) -> None:
    from casework.tasks import email_notification

    email_notification.delay(notification_id)


def send_due_notifications(*, actor: Actor, limit: int = 1000) -> int:
    """Send every pending notice that has fallen due (its deferral, if any, has ended).

    Run by the system on a schedule. Returns how many were sent.
    """
    with transaction.atomic():
        due = list(
            Notification.objects.select_for_update(skip_locked=True)
            .filter(sent_at=None, due_at__lte=timezone.now())
            .order_by("due_at", "pk")[:limit]
        )
        now = timezone.now()
        log.record_many([_mark_sent(notice, now) for notice in due], actor=actor)
    return len(due)


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
    steps = []
    if conflict is None and actor.role != Role.SYSTEM:
        conflict = check_conflict(actor.user, case.subject)
    for transition in transitions_from(case.status):
        who = " or ".join(sorted(str(Role(role).label).lower() for role in transition.roles))
        refused = refusal(case, transition.action, actor, conflict)
        steps.append(NextStep(transition.action, who, transition.precondition, str(refused or "")))
    return steps

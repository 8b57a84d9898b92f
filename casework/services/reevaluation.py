"""What a challenge does to the cases resting on the data it disputes: the system's holds and
releases, and the re-evaluation after a correction. Called by ``appeals`` inside the transaction
that files or decides a challenge.

Set-based: each function costs the same few queries for one case or hundreds, since one
record can sit under the flags of many people's cases. The system moves a case only toward the
subject's benefit (hold, release, withdrawal), through the rows of the transition table, each
move an insert-only decision and an audit event that names its cause (the challenge), exactly as
a single move by ``casework.services.review`` would write it.

Each function returns the audit entries for the caller to append last, after its own.
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone

from audit import log
from audit.actors import Actor, Role
from audit.bulk_writes import insert_objects, update_with_history
from casework import audit_actions, selectors
from casework.models import (
    Case,
    CaseReevaluation,
    CaseStatus,
    Consequence,
    Decision,
    DecisionKind,
    NotificationKind,
)
from casework.services.notices import notify_many_now
from casework.services.review import Change, case_changes, decision_entry, new_decision
from casework.thresholds import Evaluation
from casework.workflow import Action, TransitionRefused, transition_for

HOLDABLE = frozenset({CaseStatus.OPEN, CaseStatus.IN_REVIEW, CaseStatus.AWAITING_SIGN_OFF})
CONCLUDED = frozenset({CaseStatus.CLOSED, CaseStatus.REFERRED})


def hold_cases(
    case_ids: Iterable[int], *, actor: Actor, rationale: str, cause: Mapping[str, Any]
) -> list[log.Entry]:
    """Put on hold every live case among ``case_ids`` that has an open challenge and is not held
    already: no outcome can be signed on it until the challenge is resolved."""
    _system_only(actor)
    cases = _locked(case_ids)
    challenged = selectors.cases_with_open_challenges(case.pk for case in cases)
    holding = [case for case in cases if case.status in HOLDABLE and case.pk in challenged]
    return _move(
        holding,
        Action.HOLD,
        lambda case: Change(
            DecisionKind.HOLD,
            audit_actions.CASE_HELD,
            {"held_from": case.status},
            audit_data=dict(cause),
        ),
        actor=actor,
        rationale=rationale,
    )


def release_unchallenged_cases(
    case_ids: Iterable[int], *, actor: Actor, rationale: str, cause: Mapping[str, Any]
) -> list[log.Entry]:
    """Release from hold every held case among ``case_ids`` on which no challenge remains open,
    to the state it was held from."""
    _system_only(actor)
    cases = _locked(case_ids)
    challenged = selectors.cases_with_open_challenges(case.pk for case in cases)
    releasing = [
        case for case in cases if case.status == CaseStatus.ON_HOLD and case.pk not in challenged
    ]
    return _move(
        releasing, Action.RELEASE, _release_change(cause), actor=actor, rationale=rationale
    )


@dataclass(frozen=True)
class Reevaluated:
    """What a re-evaluation did: each case's consequence, and the audit entries to append."""

    consequences: dict[int, str]
    entries: list[log.Entry]


def reevaluate_cases(
    case_ids: Iterable[int], *, actor: Actor, cause: str, cause_data: Mapping[str, Any]
) -> Reevaluated:
    """Evaluate every case among ``case_ids`` again, under the policy version it opened under and
    as of the day it was first evaluated, on the flags and evidence that still stand, after a
    correction or withdrawal of data it rested on (``cause`` says which, in words).

    A live case that no longer meets the threshold is withdrawn and its subject told; one that
    still meets it is released from hold when no other challenge is open on it; a closed case is
    marked for its reviewers to reconsider, and a referred case for the body it went to to be
    told. The new trace is stored beside the original (``CaseReevaluation``), whatever followed.
    """
    _system_only(actor)
    cases = [case for case in _locked(case_ids) if case.status != CaseStatus.WITHDRAWN]
    flags = selectors.candidate_flags_of_cases(case.pk for case in cases)
    challenged = selectors.cases_with_open_challenges(case.pk for case in cases)
    now = timezone.now()
    evaluations = {case.pk: selectors.evaluate_again(case, flags[case.pk]) for case in cases}
    consequences = {case.pk: _consequence(case, evaluations[case.pk], challenged) for case in cases}

    def of(kind: str) -> list[Case]:
        return [case for case in cases if consequences[case.pk] == kind]

    rationale = (
        f"{cause}: the data that still stands was evaluated again under the policy the case "
        "opened under."
    )
    entries = _move(
        of(Consequence.WITHDRAWN),
        Action.WITHDRAW,
        lambda case: Change(
            DecisionKind.WITHDRAWAL,
            audit_actions.CASE_WITHDRAWN,
            {"concluded_at": now, "concluded_by": actor.user, "held_from": ""},
            audit_data=dict(cause_data),
        ),
        actor=actor,
        rationale=f"{rationale} It no longer meets the threshold.",
        notify=NotificationKind.CASE_CONCLUDED,
    )
    entries += _move(
        of(Consequence.RELEASED),
        Action.RELEASE,
        _release_change(cause_data),
        actor=actor,
        rationale=f"{rationale} It still meets the threshold, and no challenge remains open.",
    )
    # The case.reevaluated events below record the mark, as each case's consequence.
    _mark_for_reconsideration(
        of(Consequence.RECONSIDER) + of(Consequence.REFERRAL_FLAGGED), now, actor=actor, cause=cause
    )
    entries += _store_reevaluations(cases, evaluations, consequences, now, cause, cause_data)
    return Reevaluated(consequences, entries)


def _consequence(case: Case, evaluation: Evaluation, challenged: set[int]) -> str:
    if case.status in CONCLUDED:
        if case.status == CaseStatus.REFERRED:
            return Consequence.REFERRAL_FLAGGED
        return Consequence.RECONSIDER
    if not evaluation.met:
        return Consequence.WITHDRAWN
    if case.status != CaseStatus.ON_HOLD:
        return Consequence.UNCHANGED
    return Consequence.STILL_HELD if case.pk in challenged else Consequence.RELEASED


def _release_change(cause: Mapping[str, Any]) -> Callable[[Case], Change]:
    return lambda case: Change(
        DecisionKind.RELEASE, audit_actions.CASE_RELEASED, {"held_from": ""}, audit_data=dict(cause)
    )


def _system_only(actor: Actor) -> None:
    # Only the system moves cases as the consequence of a challenge, toward the subject's benefit.
    if actor.role != Role.SYSTEM:
        raise TransitionRefused("Only the system moves cases as the consequence of a challenge.")


def _locked(case_ids: Iterable[int]) -> list[Case]:
    # Locked in id order, as every set-based writer takes them, so that two cannot deadlock.
    return list(
        Case.objects.select_for_update(of=("self",))
        .select_related("policy")
        .filter(pk__any=sorted(set(case_ids)))
        .order_by("pk")
    )


def _move(
    cases: list[Case],
    action: Action,
    change_for: Callable[[Case], Change],
    *,
    actor: Actor,
    rationale: str,
    notify: NotificationKind | None = None,
) -> list[log.Entry]:
    """Take ``action`` on every case, each by its transition table row: one decision each, the
    cases' new states with their history rows, the notices, in a fixed number of queries."""
    if not cases:
        return []
    now = timezone.now()
    hashes = selectors.evidence_hashes_of_cases(case.pk for case in cases)
    planned: list[tuple[Case, Decision, Change]] = []
    for case in cases:
        transition = transition_for(case.status, action, actor.role)
        change = change_for(case)
        decision = new_decision(
            case,
            transition,
            change,
            actor=actor,
            rationale=rationale,
            now=now,
            hashes=hashes[case.pk],
        )
        planned.append((case, decision, change))
    decisions = insert_objects([decision for _, decision, _ in planned])
    changed: set[str] = set()
    decision_of: dict[int, int] = {}
    for (case, _, change), decision in zip(planned, decisions, strict=True):
        changed |= set(case_changes(case, decision, change, now))
        decision_of[case.pk] = decision.pk
    label = DecisionKind(planned[0][2].kind).label.lower()
    update_with_history(
        Case,
        cases,
        sorted(changed),
        user=actor.user,
        # Each history row names its decision, as a single move by casework.services.review does.
        reason=lambda case: f"{label} (decision {decision_of[case.pk]})",
        when=now,
    )
    notices = notify_many_now(cases, notify) if notify else []
    return notices + [
        decision_entry(case, decision, change)
        for (case, _, change), decision in zip(planned, decisions, strict=True)
    ]


def _mark_for_reconsideration(
    cases: list[Case], now: datetime, *, actor: Actor, cause: str
) -> None:
    marking = [case for case in cases if case.reconsider_since is None]
    for case in marking:
        case.reconsider_since = now
    update_with_history(
        Case,
        marking,
        ["reconsider_since"],
        user=actor.user,
        reason=f"rests on data since corrected: {cause}"[:100],
        when=now,
    )


def _store_reevaluations(
    cases: list[Case],
    evaluations: dict[int, Evaluation],
    consequences: dict[int, str],
    now: datetime,
    cause: str,
    cause_data: Mapping[str, Any],
) -> list[log.Entry]:
    rows = insert_objects(
        [
            CaseReevaluation(
                case=case,
                evaluated_at=now,
                cause=cause[:200],
                policy_version=case.policy.version,
                trace=evaluations[case.pk].as_trace(),
                met=evaluations[case.pk].met,
                consequence=consequences[case.pk],
            )
            for case in cases
        ]
    )
    return [
        log.Entry(
            audit_actions.CASE_REEVALUATED,
            ("casework.case", row.case_id),
            data={
                "reevaluation": row.pk,
                "policy_version": row.policy_version,
                "met": row.met,
                "consequence": row.consequence,
                "row_hash": log.row_hash(row),
                **cause_data,
            },
            reason=cause,
        )
        for row in rows
    ]

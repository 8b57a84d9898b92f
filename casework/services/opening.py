"""Opening cases: the system's answer to new flags, under the active threshold policy."""

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from audit import log
from audit.actors import Actor
from audit.chain import canonical_json, sha256_hex
from audit.history import save_with_history
from casework import audit_actions
from casework.models import (
    AttachedVia,
    Case,
    CaseFlag,
    CaseStatus,
    Notification,
    NotificationKind,
    PolicyStatus,
    ThresholdPolicy,
)
from casework.policies import DEFAULT_DESCRIPTION, DEFAULT_RULES
from casework.selectors import active_policy, candidate_flags, live_cases_by_subject
from casework.thresholds import Evaluation, counts, evaluate, parse_rules
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
        # Each case's event data, completed with its links' ids and row hash once they exist.
        event_data: dict[int, dict[str, Any]] = {}
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
            event_data[case.pk] = {
                "subject": case.subject_id,
                "policy_version": policy.version,
                "flags": flag_ids_counted,
                "trace_hash": sha256_hex(canonical_json(case.trace)),
            }
            entries.append(
                log.Entry(
                    audit_actions.CASE_OPENED,
                    case,
                    data=event_data[case.pk],
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
            event_data[case_id] = {"flags": ids, "policy_version": policy.version}
            entries.append(
                log.Entry(
                    audit_actions.CASE_FLAGS_ATTACHED,
                    ("casework.case", case_id),
                    data=event_data[case_id],
                    reason=f"new flags count under policy v{policy.version}",
                )
            )
        CaseFlag.objects.bulk_create(links, batch_size=2000)
        _name_links(event_data, links)
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


def _name_links(event_data: dict[int, dict[str, Any]], links: list[CaseFlag]) -> None:
    """Put each case's new links (their ids, now assigned) and the hash of their rows into the
    data of the event recording them, so verify_audit can check the links against it."""
    of_case: dict[int, list[CaseFlag]] = {}
    for link in links:
        of_case.setdefault(link.case_id, []).append(link)
    for case_id, data in event_data.items():
        data["case_flags"] = [link.pk for link in of_case[case_id]]
        data["row_hash"] = log.row_hash(of_case[case_id])


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

"""What a data steward's decision on a challenge does to the evidence and the flags resting on it.

Each function runs inside the caller's transaction (the challenge's adjudication, in
``appeals.services``) and returns the audit entries for the caller to append after its own
writes, so that the chain's lock is held only for the transaction's last step. The record's
earlier content stays in its history; audit data carries hashes, never the content itself.
"""

from collections.abc import Iterable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

from django.utils import timezone

from audit import log
from audit.actors import Actor
from audit.bulk_writes import update_with_history
from audit.history import save_with_history
from flags import audit_actions
from flags.models import (
    EvidenceContext,
    EvidenceRecord,
    EvidenceStatus,
    Flag,
    FlagEvidence,
    FlagStatus,
    stands_for,
)
from flags.services import evidence_hash

# What caused a change, as data (``{"challenge": 12}``), put into each of its audit events.
_NONE: Mapping[str, Any] = MappingProxyType({})


class EvidenceNotFound(LookupError):
    pass


def locked_evidence(evidence_id: int) -> EvidenceRecord:
    record = EvidenceRecord.objects.select_for_update().filter(pk=evidence_id).first()
    if record is None:
        raise EvidenceNotFound(f"There is no evidence record {evidence_id}.")
    return record


def dispute_evidence(
    record: EvidenceRecord, *, actor: Actor, cause: str, cause_data: Mapping[str, Any] = _NONE
) -> list[log.Entry]:
    """Mark a (locked) record disputed while a challenge to it is open. Returns its status before,
    in the entry's data, for the caller to keep: the dispute settles back to it."""
    before = record.status
    _set_status(record, EvidenceStatus.DISPUTED, actor=actor, reason=f"disputed: {cause}")
    return [
        log.Entry(
            audit_actions.EVIDENCE_DISPUTED,
            record,
            data={"from": before, "to": record.status, "cause": cause, **cause_data},
            reason=cause,
        )
    ]


def settle_dispute(
    record: EvidenceRecord,
    *,
    back_to: str,
    actor: Actor,
    cause: str,
    cause_data: Mapping[str, Any] = _NONE,
) -> list[log.Entry]:
    """A challenge to a (locked) record ended without changing it: it returns to ``back_to``
    (as received, or corrected by an earlier challenge)."""
    if record.status != EvidenceStatus.DISPUTED:
        return []
    _set_status(record, back_to, actor=actor, reason=f"dispute settled: {cause}")
    return [
        log.Entry(
            audit_actions.EVIDENCE_DISPUTE_SETTLED,
            record,
            data={"from": EvidenceStatus.DISPUTED, "to": back_to, "cause": cause, **cause_data},
            reason=cause,
        )
    ]


def correct_evidence(
    record: EvidenceRecord,
    *,
    summary: str,
    payload: Mapping[str, Any],
    occurred_at: datetime,
    actor: Actor,
    cause: str,
    cause_data: Mapping[str, Any] = _NONE,
) -> list[log.Entry]:
    """Replace a (locked) record's content with the corrected content: a new version in its
    history, status ``corrected``, the content hash recomputed, ``corrected_at`` now. Flags raised
    before now no longer rest on it (``flags.models.stands_for``)."""
    hash_before = record.content_hash
    record.summary = summary
    record.payload = dict(payload)
    record.occurred_at = occurred_at
    record.content_hash = evidence_hash(record)
    record.status = EvidenceStatus.CORRECTED
    record.corrected_at = timezone.now()
    save_with_history(
        record,
        actor=actor,
        reason=f"corrected: {cause}",
        update_fields=[
            "summary",
            "payload",
            "occurred_at",
            "content_hash",
            "status",
            "corrected_at",
        ],
    )
    return [
        log.Entry(
            audit_actions.EVIDENCE_CORRECTED,
            record,
            data={
                "content_hash_before": hash_before,
                "content_hash_after": record.content_hash,
                "cause": cause,
                **cause_data,
            },
            reason=cause,
        )
    ]


def withdraw_evidence(
    record: EvidenceRecord, *, actor: Actor, cause: str, cause_data: Mapping[str, Any] = _NONE
) -> list[log.Entry]:
    """Withdraw a (locked) record: no flag rests on it any more, and no detector can send it
    again."""
    before = record.status
    _set_status(record, EvidenceStatus.WITHDRAWN, actor=actor, reason=f"withdrawn: {cause}")
    return [
        log.Entry(
            audit_actions.EVIDENCE_WITHDRAWN,
            record,
            data={"from": before, "to": record.status, "cause": cause, **cause_data},
            reason=cause,
        )
    ]


def withdraw_flags_left_without_evidence(
    evidence_ids: Iterable[int],
    *,
    actor: Actor,
    cause: str,
    cause_data: Mapping[str, Any] = _NONE,
) -> tuple[list[int], list[log.Entry]]:
    """Withdraw every active flag resting on these records none of whose records still stands
    for it (each withdrawn, or corrected after the flag was raised). Set-based: the same few
    queries for one flag or thousands. Returns the withdrawn flags' ids and their audit entries.
    """
    ids = list(evidence_ids)
    touched = Flag.objects.filter(
        status=FlagStatus.ACTIVE,
        pk__in=FlagEvidence.objects.filter(evidence_id__in=ids).values("flag_id"),
    )
    links = FlagEvidence.objects.filter(flag__in=touched).values_list(
        "flag_id", "flag__received_at", "evidence__status", "evidence__corrected_at"
    )
    standing: dict[int, bool] = {}
    for flag_id, received_at, status, corrected_at in links:
        standing[flag_id] = standing.get(flag_id, False) or stands_for(
            status, corrected_at, received_at
        )
    falling = sorted(flag_id for flag_id, stands in standing.items() if not stands)
    if not falling:
        return [], []
    flags = list(Flag.objects.select_for_update().filter(pk__any=falling).order_by("pk"))
    for flag in flags:
        flag.status = FlagStatus.WITHDRAWN
    update_with_history(
        Flag,
        flags,
        ["status"],
        user=actor.user,
        reason=f"withdrawn: none of its evidence stands ({cause})"[:100],
        when=timezone.now(),
    )
    entries = [
        log.Entry(
            audit_actions.FLAG_WITHDRAWN,
            flag,
            data={"subject": flag.subject_id, "cause": cause, **cause_data},
            reason=cause,
        )
        for flag in flags
    ]
    return [flag.pk for flag in flags], entries


def record_context(
    record: EvidenceRecord, *, subject_id: int, account: str, actor: Actor, given_with: str
) -> list[log.Entry]:
    """Keep a person's account of a record's context beside it, for their reviewers to read."""
    context = EvidenceContext.objects.create(
        evidence=record,
        subject_id=subject_id,
        account=account,
        given_at=timezone.now(),
        given_by=actor.user,
        on_behalf_of=actor.on_behalf_of,
        given_with=given_with,
    )
    return [
        log.Entry(
            audit_actions.EVIDENCE_CONTEXT_GIVEN,
            record,
            data={
                "evidence_context": context.pk,
                "subject": subject_id,
                "row_hash": log.row_hash(context),
            },
            reason=given_with,
        )
    ]


def _set_status(record: EvidenceRecord, status: str, *, actor: Actor, reason: str) -> None:
    record.status = status
    save_with_history(record, actor=actor, reason=reason, update_fields=["status"])

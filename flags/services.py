"""Every governed write of the flags app: detectors (their tokens through ``tokens.services``)
and flag ingest.

Each function takes a keyword-only ``actor``, runs in one transaction, and writes its audit events
in that transaction. Workforce imports live in ``flags.workforce``.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone

from audit import log
from audit.actors import Actor
from audit.bulk_writes import insert_rows, insert_with_history
from audit.chain import canonical_json, canonical_time, sha256_hex
from audit.history import save_with_history
from flags import audit_actions
from flags.ingest_schema import Bounds, Evidence, FlagItem, check_item
from flags.models import (
    Detector,
    EvidenceRecord,
    EvidenceStatus,
    Flag,
    FlagEvidence,
    FlagStatus,
    Subject,
)
from flags.signals import Consequences, StoredFlag, cases_of_flags, flags_stored
from tokens.models import TokenKind
from tokens.services import IssuedToken, TokenError, issue_token


class DetectorError(ValueError):
    pass


def register_detector(
    slug: str,
    *,
    name: str,
    actor: Actor,
    owner: str = "",
    description: str = "",
    version: str = "",
    token_days: int | None = None,
) -> tuple[Detector, IssuedToken]:
    """Register a detector with its own service user, and return it with its first API token,
    lasting ``token_days`` (by default API_TOKEN_MAX_DAYS).

    The token is shown once: only its hash is stored.
    """
    if Detector.objects.filter(slug=slug).exists():
        raise DetectorError(f"A detector with slug {slug!r} already exists.")
    with transaction.atomic():
        user = get_user_model().objects.create_user(username=f"detector.{slug}", is_active=True)
        user.set_unusable_password()
        user.save(update_fields=["password"])
        detector = Detector(
            slug=slug,
            name=name,
            owner=owner,
            description=description,
            current_version=version,
            user=user,
        )
        save_with_history(detector, actor=actor, reason="detector registered")
        log.record(
            audit_actions.DETECTOR_REGISTERED,
            detector,
            actor=actor,
            data={"slug": slug, "service_user": user.pk, "version": version},
            reason="detector registered",
        )
        issued = issue_detector_token(detector, actor=actor, days=token_days)
    return detector, issued


def issue_detector_token(
    detector: Detector, *, actor: Actor, days: int | None = None
) -> IssuedToken:
    """Issue another API token for a detector (for rotation), lasting ``days`` (by default
    API_TOKEN_MAX_DAYS). The token is in the result, once; only its hash is kept."""
    try:
        return issue_token(detector.user, kind=TokenKind.DETECTOR, actor=actor, days=days)
    except TokenError as exc:
        raise DetectorError(str(exc)) from exc


# --- ingest ----------------------------------------------------------------------------------


@dataclass
class ItemOutcome:
    index: int
    external_id: str | None
    status: str
    errors: dict[str, list[str]] | None = None
    flag: int | None = None
    case: int | None = None


@dataclass
class _Pending:
    """A valid item on its way into the database."""

    index: int
    item: FlagItem
    subject_id: int = 0
    evidence_keys: list[tuple[str, str]] = field(default_factory=list)


def evidence_hash(evidence: Evidence | EvidenceRecord) -> str:
    """The content hash of an evidence record: as a detector sends it, or as it is now held
    (a corrected record's hash is recomputed from its corrected content)."""
    return sha256_hex(
        canonical_json(
            {
                "source_system": evidence.source_system,
                "record_type": evidence.record_type,
                "record_id": evidence.record_id,
                "occurred_at": canonical_time(evidence.occurred_at),
                "summary": evidence.summary,
                "payload": evidence.payload,
            }
        )
    )


def flag_hash(item: FlagItem, evidence_hashes: Sequence[str]) -> str:
    body = item.model_dump(mode="json", exclude={"evidence"})
    body["evidence"] = list(evidence_hashes)
    return sha256_hex(canonical_json(body))


def ingest_flags(
    *, detector: Detector, raw_items: Sequence[Any], actor: Actor
) -> list[ItemOutcome]:
    """Store a detector's batch of flags: each item is created, a duplicate, or rejected.

    Called by the ingest API for an active detector, acting as the detector's service user.
    Guarantees: a rejected item writes nothing; a replayed item (same detector and external_id)
    changes nothing; the valid items are stored with their evidence, history rows and one
    ``flag.received`` audit event each, and the subjects they touch are evaluated against the
    active threshold policy, all in one transaction.
    """
    outcomes: list[ItemOutcome | None] = [None] * len(raw_items)
    valid: list[_Pending] = []
    first_seen: dict[str, int] = {}
    bounds = Bounds.now()
    for index, raw in enumerate(raw_items):
        external_id = _external_id_of(raw)
        checked = check_item(raw, bounds)
        if isinstance(checked, dict):
            outcomes[index] = ItemOutcome(index, external_id, "rejected", errors=checked)
        elif checked.external_id in first_seen:
            outcomes[index] = _rejected(
                index,
                external_id,
                "external_id",
                f"repeats the external_id of item {first_seen[checked.external_id]} in this batch",
            )
        else:
            first_seen[checked.external_id] = index
            valid.append(_Pending(index, checked))

    # A concurrent batch may store the same flag or evidence record between our read and our
    # insert; the unique constraints then refuse ours, and a retry sees theirs as existing.
    for attempt in range(3):
        try:
            with transaction.atomic():
                stored = _store(detector, valid, actor=actor)
            break
        except (IntegrityError, OperationalError) as exc:
            if attempt == 2 or not _worth_retrying(exc):
                raise
    for outcome in stored:
        outcomes[outcome.index] = outcome
    return [outcome for outcome in outcomes if outcome is not None]


# PostgreSQL's codes for a deadlock and a serialisation failure: the transaction lost a race and
# may simply be run again.
_RETRYABLE_SQLSTATES = {"40P01", "40001"}


def _worth_retrying(exc: Exception) -> bool:
    if isinstance(exc, IntegrityError):
        return True
    return getattr(exc.__cause__, "sqlstate", None) in _RETRYABLE_SQLSTATES


def _external_id_of(raw: Any) -> str | None:
    if isinstance(raw, dict) and isinstance(raw.get("external_id"), str):
        return str(raw["external_id"])
    return None


def _rejected(index: int, external_id: str | None, where: str, message: str) -> ItemOutcome:
    return ItemOutcome(index, external_id, "rejected", errors={where: [message]})


def _store(detector: Detector, valid: list[_Pending], *, actor: Actor) -> list[ItemOutcome]:
    outcomes: list[ItemOutcome] = []
    pending = _drop_duplicates(detector, valid, outcomes)
    pending = _resolve_subjects(pending, outcomes)
    if not pending:
        return outcomes
    lock_subjects({p.subject_id for p in pending})
    pending, held = _resolve_evidence(pending, outcomes, actor=actor)
    if not pending:
        return outcomes
    now = timezone.now()
    hashes = [flag_hash(p.item, [held[key][1] for key in p.evidence_keys]) for p in pending]
    flag_ids = insert_with_history(
        Flag,
        [
            {
                "detector_id": detector.pk,
                "external_id": p.item.external_id,
                "detector_version": p.item.detector_version,
                "subject_id": p.subject_id,
                "category": p.item.category,
                "rule": p.item.rule,
                "score": p.item.score,
                "explanation": p.item.explanation,
                "factors": [factor.model_dump(mode="json") for factor in p.item.factors],
                "window_start": p.item.window.start,
                "window_end": p.item.window.end,
                "content_hash": content_hash,
                "received_at": now,
                "status": FlagStatus.ACTIVE,
            }
            for p, content_hash in zip(pending, hashes, strict=True)
        ],
        user=actor.user,
        reason=f"received from detector {detector.slug}",
        when=now,
    )
    link_rows = [
        {"flag_id": flag_id, "evidence_id": held[key][0], "position": position}
        for p, flag_id in zip(pending, flag_ids, strict=True)
        for position, key in enumerate(p.evidence_keys)
    ]
    links_of: dict[int, list[FlagEvidence]] = {}
    for pk, row in zip(insert_rows(FlagEvidence, link_rows), link_rows, strict=True):
        links_of.setdefault(row["flag_id"], []).append(FlagEvidence(pk=pk, **row))
    consequences = _consequences_of_new_flags(
        [
            StoredFlag(flag_id, p.subject_id, p.item.category, p.item.score, p.item.window.end)
            for p, flag_id in zip(pending, flag_ids, strict=True)
        ],
        actor=actor,
    )
    log.record_many(
        [
            log.Entry(
                audit_actions.FLAG_RECEIVED,
                ("flags.flag", flag_id),
                data={
                    "detector": detector.pk,
                    "detector_version": p.item.detector_version,
                    "subject": p.subject_id,
                    "category": p.item.category,
                    "score": p.item.score,
                    "content_hash": content_hash,
                    "evidence": [list(held[key]) for key in p.evidence_keys],
                    "flag_evidence": [link.pk for link in links_of[flag_id]],
                    "row_hash": log.row_hash(links_of[flag_id]),
                },
                reason=f"flag {p.item.external_id} from detector {detector.slug}",
            )
            for p, flag_id, content_hash in zip(pending, flag_ids, hashes, strict=True)
        ],
        actor=actor,
    )
    cases: dict[int, int] = {}
    for consequence in consequences:
        log.record_many(consequence.audit_entries, actor=consequence.actor)
        cases.update(consequence.cases)
    outcomes += [
        ItemOutcome(p.index, p.item.external_id, "created", flag=flag_id, case=cases.get(flag_id))
        for p, flag_id in zip(pending, flag_ids, strict=True)
    ]
    return outcomes


def _drop_duplicates(
    detector: Detector, valid: list[_Pending], outcomes: list[ItemOutcome]
) -> list[_Pending]:
    existing = {
        external_id: (pk, content_hash)
        for external_id, pk, content_hash in Flag.objects.filter(
            detector=detector, external_id__any=[p.item.external_id for p in valid]
        ).values_list("external_id", "pk", "content_hash")
    }
    if not existing:
        return valid
    case_of = _latest_case_of_flags([pk for pk, _ in existing.values()])
    for p in valid:
        if p.item.external_id not in existing:
            continue
        flag_id, stored_hash = existing[p.item.external_id]
        if flag_hash(p.item, [evidence_hash(e) for e in p.item.evidence]) != stored_hash:
            outcomes.append(
                _rejected(
                    p.index,
                    p.item.external_id,
                    "external_id",
                    f"was already used by this detector for flag {flag_id}, with different "
                    "contents; a new or corrected flag needs a new external_id",
                )
            )
        else:
            outcomes.append(
                ItemOutcome(
                    p.index,
                    p.item.external_id,
                    "duplicate",
                    flag=flag_id,
                    case=case_of.get(flag_id),
                )
            )
    return [p for p in valid if p.item.external_id not in existing]


def _latest_case_of_flags(flag_ids: list[int]) -> dict[int, int]:
    """The case each flag was last attached to, as casework answers: cases live above flags."""
    cases: dict[int, int] = {}
    answers: list[tuple[Any, Any]] = cases_of_flags.send(sender=Flag, flag_ids=flag_ids)
    for _receiver, answer in answers:
        cases.update(answer)
    return cases


def _resolve_subjects(valid: list[_Pending], outcomes: list[ItemOutcome]) -> list[_Pending]:
    ids = dict(
        Subject.objects.filter(staff_number__any={p.item.subject for p in valid}).values_list(
            "staff_number", "pk"
        )
    )
    kept = []
    for p in valid:
        subject_id = ids.get(p.item.subject)
        if subject_id is None:
            outcomes.append(
                _rejected(
                    p.index,
                    p.item.external_id,
                    "subject",
                    f"no subject with staff number {p.item.subject!r} is in the workforce register",
                )
            )
        else:
            p.subject_id = subject_id
            kept.append(p)
    return kept


def lock_subjects(subject_ids: set[int]) -> None:
    """Lock subjects' rows, in id order so that two batches cannot deadlock.

    Ingest and threshold evaluation for a subject then happen one batch at a time, so two
    batches cannot both open a case for the same person.
    """
    list(
        Subject.objects.select_for_update()
        .filter(pk__any=subject_ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _resolve_evidence(
    pending: list[_Pending], outcomes: list[ItemOutcome], *, actor: Actor
) -> tuple[list[_Pending], dict[tuple[str, str], tuple[int, str]]]:
    """Find or create each evidence record, as ``{(source, record id): (pk, content hash)}``.

    A record already held with other contents is a conflict: changing source data is a
    correction, which goes through a challenge, never a silent overwrite by a detector.
    """
    wanted: dict[tuple[str, str], tuple[Evidence, str]] = {}
    for p in pending:
        # Assigned afresh, not appended: a retried transaction resolves the same items again.
        p.evidence_keys = [(e.source_system, e.record_id) for e in p.item.evidence]
        for key, evidence in zip(p.evidence_keys, p.item.evidence, strict=True):
            wanted.setdefault(key, (evidence, evidence_hash(evidence)))
    held: dict[tuple[str, str], tuple[int, str]] = {}
    settled: dict[tuple[str, str], str] = {}
    for pk, source, record_id, content_hash, status in EvidenceRecord.objects.filter(
        record_id__any={key[1] for key in wanted}
    ).values_list("pk", "source_system", "record_id", "content_hash", "status"):
        if (source, record_id) in wanted:
            held[(source, record_id)] = (pk, content_hash)
            settled[(source, record_id)] = status
    kept = []
    for p in pending:
        problems = _evidence_conflicts(p, wanted, held, settled)
        if problems:
            outcomes.append(ItemOutcome(p.index, p.item.external_id, "rejected", errors=problems))
        else:
            kept.append(p)
    used = {key for p in kept for key in p.evidence_keys}
    # Sorted, so that two batches inserting the same new records take their locks in one order.
    needed = sorted(key for key in wanted if key in used and key not in held)
    now = timezone.now()
    ids = insert_with_history(
        EvidenceRecord,
        [
            {
                "source_system": wanted[key][0].source_system,
                "record_type": wanted[key][0].record_type,
                "record_id": wanted[key][0].record_id,
                "occurred_at": wanted[key][0].occurred_at,
                "summary": wanted[key][0].summary,
                "payload": wanted[key][0].payload,
                "content_hash": wanted[key][1],
                "received_at": now,
                "status": EvidenceStatus.AS_RECEIVED,
            }
            for key in needed
        ],
        user=actor.user,
        reason="received as evidence for a flag",
        when=now,
    )
    held.update({key: (pk, wanted[key][1]) for key, pk in zip(needed, ids, strict=True)})
    return kept, held


def _evidence_conflicts(
    p: _Pending,
    wanted: dict[tuple[str, str], tuple[Evidence, str]],
    held: dict[tuple[str, str], tuple[int, str]],
    settled: dict[tuple[str, str], str],
) -> dict[str, list[str]]:
    problems = {}
    for position, (key, evidence) in enumerate(zip(p.evidence_keys, p.item.evidence, strict=True)):
        first, first_hash = wanted[key]
        this_hash = first_hash if evidence is first else evidence_hash(evidence)
        expected = held[key][1] if key in held else first_hash
        status = settled.get(key)
        if status == EvidenceStatus.WITHDRAWN:
            # A challenge was upheld against it: no flag may rest on it again.
            problems[f"evidence.{position}"] = [
                f"record {key[1]!r} of {key[0]!r} was withdrawn when a challenge to it was "
                "upheld; no flag can rest on it"
            ]
        elif status == EvidenceStatus.CORRECTED and this_hash != expected:
            problems[f"evidence.{position}"] = [
                f"record {key[1]!r} of {key[0]!r} was corrected when a challenge to it was "
                "upheld; its earlier content cannot be sent again. Re-read the source record "
                "and send it as it now stands"
            ]
        elif this_hash != expected:
            problems[f"evidence.{position}"] = [
                f"record {key[1]!r} of {key[0]!r} is already held with different contents; "
                "send the record as it was first received, or correct it through a challenge"
            ]
    return problems


def _consequences_of_new_flags(flags: list[StoredFlag], *, actor: Actor) -> list[Consequences]:
    responses: list[tuple[Any, Any]] = flags_stored.send(sender=Flag, flags=flags, actor=actor)
    return [response for _receiver, response in responses if isinstance(response, Consequences)]

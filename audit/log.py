"""Appending to the hash-chained audit log.

Services call :func:`record` (or :func:`record_many` for a batch) inside the transaction of the
change they record. Appends are serialised: on PostgreSQL a transaction-scoped advisory lock, on
SQLite the database write lock that ``BEGIN IMMEDIATE`` takes. Under the lock the head of the
chain is read from committed rows, so two writers can never both extend the same head. The lock
is held until commit, so services record their events last.
"""

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from audit import registry
from audit.actors import Actor
from audit.bulk_writes import insert_rows
from audit.chain import GENESIS_HASH, ChainCheck, event_hash, verify_chain

# Services put ``row_hash`` in the data of the event recording an insert-only row.
from audit.insert_only import row_hash as row_hash
from audit.models import CHAIN_FIELDS, AuditEvent, canonical_fields

# An arbitrary constant naming the chain's advisory lock ("SCRUTINY" in ASCII, as an int).
CHAIN_LOCK_KEY = 0x5343525554494E59


class AuditOutsideTransaction(RuntimeError):
    pass


@dataclass(frozen=True)
class Entry:
    """One event to append: what happened to which object, and why."""

    action: str
    target: models.Model | tuple[str, Any]
    data: Mapping[str, Any] = field(default_factory=dict)
    reason: str = ""

    def target_type_and_id(self) -> tuple[str, str]:
        if isinstance(self.target, models.Model):
            return self.target._meta.label_lower, str(self.target.pk)
        kind, pk = self.target
        return kind, str(pk)


def record(
    action: str,
    target: models.Model | tuple[str, Any],
    *,
    actor: Actor,
    data: Mapping[str, Any] | None = None,
    reason: str = "",
) -> AuditEvent:
    return record_many([Entry(action, target, data or {}, reason)], actor=actor)[0]


def record_many(entries: Sequence[Entry], *, actor: Actor) -> list[AuditEvent]:
    """Append events for one actor, in order, to the chain. Must run inside ``atomic()``."""
    for entry in entries:
        registry.require(entry.action)
    if not entries:
        return []
    _lock_chain()
    head = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
    seq, prev_hash = head if head else (0, GENESIS_HASH)
    now = timezone.now()
    on_behalf_of = actor.on_behalf_of.pk if actor.on_behalf_of is not None else None
    events = []
    for entry in entries:
        seq += 1
        target_type, target_id = entry.target_type_and_id()
        event = AuditEvent(
            seq=seq,
            occurred_at=now,
            actor_user_id=actor.user_id,
            actor_username=actor.username,
            actor_role=str(actor.role),
            on_behalf_of_user_id=on_behalf_of,
            action=entry.action,
            target_type=target_type,
            target_id=target_id,
            reason=entry.reason[:300],
            data=dict(entry.data),
            prev_hash=prev_hash,
        )
        event.hash = event_hash(event.chain_fields())
        prev_hash = event.hash
        events.append(event)
    insert_rows(AuditEvent, [{f: getattr(e, f) for f in _COLUMNS} for e in events])
    return events


_COLUMNS = [field.attname for field in AuditEvent._meta.concrete_fields]


def _lock_chain() -> None:
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise AuditOutsideTransaction(
            "Audit events must be written inside the transaction of the change they record."
        )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])


def _stored_events(chunk_size: int = 5000, up_to: int | None = None) -> Iterator[dict[str, Any]]:
    """The stored events in order, as the fields their hashes cover plus ``hash``: read as plain
    rows, not models, which is most of the cost of a verification."""
    events = AuditEvent.objects.order_by("seq")
    if up_to is not None:
        events = events.filter(seq__lte=up_to)
    columns = (*CHAIN_FIELDS, "hash")
    for row in events.values_list(*columns).iterator(chunk_size=chunk_size):
        yield canonical_fields(dict(zip(columns, row, strict=True)))


def verify_stored_chain(up_to: int | None = None) -> ChainCheck:
    """Recompute the chain from the database, oldest first: the whole of it, or up to the event
    ``up_to`` (a report's snapshot)."""
    return verify_chain(_stored_events(up_to=up_to))


def events_for(target_type: str, target_ids: Iterable[Any]) -> models.QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(
        target_type=target_type, target_id__in=[str(pk) for pk in target_ids]
    )

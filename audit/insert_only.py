"""The insert-only tables, and the check that their rows are still what the audit log recorded.

Each app registers its own insert-only models when it starts (in ``AppConfig.ready``), so that
``audit`` never imports a domain app::

    insert_only.register(Decision, audit_key="decision")

A registered table is guarded three ways. A migration gives it the append-only triggers
(``audit.triggers.protect_table``); ``manage.py setup_database_roles`` grants the application's
database role only SELECT and INSERT on it; and, where the model names an ``audit_key``, the audit
event that recorded a row carries the row's id (or a list of ids) under that key and a hash of the
rows' governed fields under ``row_hash``. ``manage.py verify_audit`` recomputes those hashes, so a
row rewritten or deleted by someone who got past the first two guards is named by the sequence
number of the event that recorded it, and a row that no event recorded is reported too.
"""

import datetime
import decimal
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import models

from audit.chain import canonical_json, canonical_time, sha256_hex
from audit.models import AuditEvent

ROW_HASH_KEY = "row_hash"


@dataclass(frozen=True)
class InsertOnly:
    """One insert-only model: the columns its row hash covers, and the audit data key naming it."""

    model: type[models.Model]
    columns: tuple[str, ...]
    audit_key: str | None

    @property
    def label(self) -> str:
        return self.model._meta.label_lower

    @property
    def table(self) -> str:
        return self.model._meta.db_table

    def governed(self, row: models.Model) -> dict[str, Any]:
        return {column: _canonical(getattr(row, column)) for column in self.columns}


_REGISTERED: dict[str, InsertOnly] = {}


class NotInsertOnly(LookupError):
    pass


def register(
    model: type[models.Model], *, fields: Sequence[str] | None = None, audit_key: str | None = None
) -> InsertOnly:
    """Declare ``model`` insert-only. ``fields`` (default: every column) are what its row hash
    covers; ``audit_key`` is the key, in the data of the audit event recording a row, that holds
    the row's id or a list of ids. Without one, the table is guarded by triggers and privileges
    only (the audit log itself, whose rows the chain covers)."""
    label = model._meta.label_lower
    if label in _REGISTERED:
        raise ValueError(f"{label} is registered as insert-only twice.")
    if audit_key is not None and any(s.audit_key == audit_key for s in _REGISTERED.values()):
        raise ValueError(f"Audit data key {audit_key!r} already names another insert-only table.")
    names = fields if fields is not None else [f.name for f in model._meta.concrete_fields]
    # Columns (made_by_id, not made_by), so a row reads the same from the instance that was saved
    # and from the database; the primary key always, so a row cannot swap places with another.
    pk = model._meta.pk
    assert pk is not None  # noqa: S101 - every concrete model has one
    columns = dict.fromkeys([pk.attname, *(_column(model, name) for name in names)])
    spec = InsertOnly(model, tuple(columns), audit_key)
    _REGISTERED[label] = spec
    return spec


def _column(model: type[models.Model], name: str) -> str:
    found = model._meta.get_field(name)
    if not isinstance(found, models.Field) or not found.concrete:
        raise ValueError(f"{model._meta.label_lower}.{name} is not a column.")
    return str(found.attname)


def registered() -> list[InsertOnly]:
    return sorted(_REGISTERED.values(), key=lambda spec: spec.label)


def spec_for(model: type[models.Model]) -> InsertOnly:
    try:
        return _REGISTERED[model._meta.label_lower]
    except KeyError:
        raise NotInsertOnly(
            f"{model._meta.label_lower} is not registered as insert-only."
        ) from None


def row_hash(rows: models.Model | Sequence[models.Model]) -> str:
    """The hash an audit event records under ``row_hash`` for one row, or for a list of rows in
    the order their ids are listed."""
    if isinstance(rows, models.Model):
        return sha256_hex(canonical_json(spec_for(type(rows)).governed(rows)))
    if not rows:
        raise ValueError("A row hash needs at least one row.")
    spec = spec_for(type(rows[0]))
    return sha256_hex(canonical_json([spec.governed(row) for row in rows]))


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return canonical_time(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    return value


# --- checking the rows against the log ------------------------------------------------------------


@dataclass(frozen=True)
class RowProblem:
    """A row that differs from the audit log: ``seq`` names the event that recorded it, or is
    None for a row that no event recorded."""

    seq: int | None
    description: str


@dataclass(frozen=True)
class RowCheck:
    rows: dict[str, int] = field(default_factory=dict)
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class _Recorded:
    seq: int
    ids: list[Any]
    listed: bool
    row_hash: str | None


def verify_rows(batch_size: int = 2000) -> RowCheck:
    """Recompute the row hash of every registered row that an audit event recorded."""
    check = RowCheck()
    for spec in registered():
        if spec.audit_key is not None:
            _verify_table(spec, spec.audit_key, check, batch_size)
    return check


def _verify_table(spec: InsertOnly, key: str, check: RowCheck, batch_size: int) -> None:
    covered: set[Any] = set()
    for batch in _batches(_recorded(key), batch_size):
        ids = [pk for recorded in batch for pk in recorded.ids]
        covered.update(ids)
        rows = spec.model._default_manager.in_bulk(ids)
        for recorded in batch:
            problem = _compare(spec, recorded, rows)
            if problem:
                check.problems.append(RowProblem(recorded.seq, problem))
    stored = spec.model._default_manager.order_by("pk").values_list("pk", flat=True)
    count = 0
    for pk in stored.iterator(chunk_size=batch_size * 5):
        count += 1
        if pk not in covered:
            check.problems.append(RowProblem(None, f"{spec.label} {pk}: no audit event records it"))
    check.rows[spec.label] = count


def _recorded(key: str) -> Iterator[_Recorded]:
    # The data column is canonical JSON text, so a substring match narrows the scan cheaply; the
    # key is then looked up properly, at the top level, in the parsed data.
    events = AuditEvent.objects.filter(data__contains=f'"{key}":').order_by("seq")
    for seq, data in events.values_list("seq", "data").iterator(chunk_size=5000):
        if not isinstance(data, dict) or key not in data:
            continue
        named = data[key]
        listed = isinstance(named, list)
        yield _Recorded(seq, named if listed else [named], listed, data.get(ROW_HASH_KEY))


def _compare(spec: InsertOnly, recorded: _Recorded, rows: dict[Any, models.Model]) -> str:
    missing = [pk for pk in recorded.ids if pk not in rows]
    where = f"audit event seq {recorded.seq}"
    if missing:
        return f"{where} recorded {spec.label} {_ids(missing)}: not in the table any more"
    if recorded.row_hash is None:
        # Recorded before row hashes were: the row is accounted for, its content cannot be checked.
        return ""
    found = [rows[pk] for pk in recorded.ids]
    actual = row_hash(found if recorded.listed else found[0])
    if actual != recorded.row_hash:
        return f"{where}: {spec.label} {_ids(recorded.ids)} differ from what it recorded"
    return ""


def _ids(ids: Iterable[Any]) -> str:
    shown = [str(pk) for pk in ids]
    if len(shown) > 10:
        return ", ".join(shown[:10]) + f" and {len(shown) - 10} more"
    return ", ".join(shown)


def _batches(items: Iterable[_Recorded], size: int) -> Iterator[list[_Recorded]]:
    batch: list[_Recorded] = []
    ids = 0
    for item in items:
        batch.append(item)
        ids += len(item.ids)
        if ids >= size:
            yield batch
            batch, ids = [], 0
    if batch:
        yield batch

"""Fast bulk writes with history rows, for the ingest path and the set-based moves a
correction makes.

Django's ``bulk_create`` spends most of a 1,000-flag batch preparing values field by field and
quoting them into SQL. On PostgreSQL these helpers draw the new ids from the table's sequence in
one query and stream the rows with ``COPY``, several times faster; on other databases they fall
back to ``bulk_create``. Historical rows are written the same way, with the same fields that
django-simple-history's ``bulk_history_create`` writes, so history is identical either way.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from django.contrib.auth.models import User
from django.db import connections, models, router
from django.db.models import Case, Value, When
from django.db.models.functions import Cast

import config.lookups  # noqa: F401 - registers the __any lookup used here

Row = dict[str, Any]
M = TypeVar("M", bound=models.Model)


def _columns(model: type[models.Model]) -> list[models.Field[Any, Any]]:
    return list(model._meta.concrete_fields)


def _defaults(fields: list[models.Field[Any, Any]]) -> Row:
    """Each non-key column's default, computed once per call and shared: rows are only read."""
    return {field.attname: field.get_default() for field in fields if not field.primary_key}


def _converter(field: models.Field[Any, Any]) -> Callable[[Any], Any] | None:
    """How a column's value goes to COPY: psycopg adapts plain Python types; JSON goes as text."""
    if isinstance(field, models.JSONField):
        encoder = field.encoder
        return lambda value: json.dumps(value, cls=encoder)
    to_text: Callable[[Any], Any] | None = getattr(field, "to_copy_text", None)
    return to_text


class _Prepared(str):
    """A value already in the text form COPY takes, converted once for a row and its history."""


def _prepared_once(model: type[models.Model], rows: Sequence[Mapping[str, Any]]) -> list[Row]:
    converters = [
        (field.attname, convert)
        for field in _columns(model)
        if (convert := _converter(field)) is not None
    ]
    prepared = []
    for row in rows:
        copy = dict(row)
        for name, convert in converters:
            if copy.get(name) is not None:
                copy[name] = _Prepared(convert(copy[name]))
        prepared.append(copy)
    return prepared


def insert_rows(model: type[models.Model], rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Insert rows (dicts keyed by column attname) and return their primary keys, in order.

    Rows that carry their own primary key (the audit log's ``seq``) keep it; otherwise new keys
    are drawn from the table's sequence.
    """
    if not rows:
        return []
    meta = model._meta
    connection = connections[router.db_for_write(model)]
    fields = _columns(model)
    defaults = _defaults(fields)
    completed = [{**defaults, **row} for row in rows]
    if connection.vendor != "postgresql":
        created = model._default_manager.bulk_create(
            [model(**row) for row in completed], batch_size=500
        )
        return [int(obj.pk) for obj in created]
    pk_column = meta.pk.column
    quote = connection.ops.quote_name
    pk_attname = meta.pk.attname
    # COPY runs on the raw psycopg cursor: wrap it so a unique violation arrives as Django's
    # IntegrityError, which callers catch to retry a lost insert race.
    with connection.wrap_database_errors, connection.cursor() as cursor:
        if all(row.get(pk_attname) is not None for row in completed):
            ids = [int(row[pk_attname]) for row in completed]
        else:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [meta.db_table, pk_column, len(completed)],
            )
            ids = [int(row[0]) for row in cursor.fetchall()]
        names = ", ".join(quote(str(field.column)) for field in fields)
        statement = f"COPY {quote(meta.db_table)} ({names}) FROM STDIN"
        plan = [(field.attname, _converter(field)) for field in fields]
        with cursor.cursor.copy(statement) as copy:
            for pk, row in zip(ids, completed, strict=True):
                row[pk_attname] = pk
                copy.write_row(
                    [
                        row[name]
                        if convert is None or row[name] is None or isinstance(row[name], _Prepared)
                        else convert(row[name])
                        for name, convert in plan
                    ]
                )
    return ids


def insert_objects(objs: Sequence[M]) -> list[M]:
    """``bulk_create`` for unsaved objects of one model, by ``insert_rows``: each takes its
    primary key, and is then as if saved."""
    if not objs:
        return []
    model = type(objs[0])
    names = [field.attname for field in _columns(model) if not field.primary_key]
    ids = insert_rows(model, [{name: getattr(obj, name) for name in names} for obj in objs])
    database = router.db_for_write(model)
    for obj, pk in zip(objs, ids, strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = database
    return list(objs)


def insert_with_history(
    model: type[models.Model],
    rows: Sequence[Mapping[str, Any]],
    *,
    user: User,
    reason: str,
    when: datetime,
) -> list[int]:
    """Insert rows and one ``+`` historical row each, naming the acting user and the reason."""
    if connections[router.db_for_write(model)].vendor == "postgresql":
        rows = _prepared_once(model, rows)  # JSON is serialised once for both rows
    ids = insert_rows(model, rows)
    history_model = model.history.model  # type: ignore[attr-defined]
    tracked = [field.attname for field in history_model.tracked_fields]
    pk_attname = model._meta.pk.attname
    defaults = _defaults(_columns(model))
    historical = []
    for pk, row in zip(ids, rows, strict=True):
        values = {**defaults, **row, pk_attname: pk}
        historical.append(
            {
                **{name: values[name] for name in tracked},
                "history_date": when,
                "history_user_id": user.pk,
                "history_change_reason": reason,
                "history_type": "+",
            }
        )
    insert_rows(history_model, historical)
    return ids


def update_with_history(
    model: type[models.Model],
    objs: Sequence[models.Model],
    fields: Sequence[str],
    *,
    user: User,
    reason: str | Callable[[Any], str],
    when: datetime,
) -> None:
    """Write ``fields`` of ``objs``, as the caller has set them in memory, and one ``~``
    historical row each, as django-simple-history's ``bulk_update_with_history`` writes them; in
    the same statements for one object or thousands. ``reason`` is the history rows' change
    reason, or gives each object's.

    One UPDATE: a field every object takes the same value of is set to that value, and only a
    field whose values differ is written per row (a CASE on the primary key, as Django's
    ``bulk_update`` writes it). A set-based move (a hundred cases withdrawn, five hundred flags
    withdrawn) gives most fields one value, so the statement stays small. The history rows go
    by ``insert_rows`` (COPY on PostgreSQL). ``objs`` must hold their rows' current values in
    every other field: the history row copies them.
    """
    if not objs:
        return
    connection = connections[router.db_for_write(model)]
    meta = model._meta
    values: dict[str, Any] = {}
    for name in fields:
        field = meta.get_field(name)
        assert isinstance(field, models.Field)  # noqa: S101 - a concrete field, by name
        each = [getattr(obj, field.attname) for obj in objs]
        if all(value == each[0] for value in each[1:]):
            values[field.attname] = each[0]
            continue
        case: Any = Case(
            *[
                When(pk=obj.pk, then=Value(value, output_field=field))
                for obj, value in zip(objs, each, strict=True)
            ],
            output_field=field,
        )
        if connection.features.requires_casted_case_in_updates:
            case = Cast(case, output_field=field)
        values[field.attname] = case
    model._default_manager.filter(pk__any=[obj.pk for obj in objs]).update(**values)
    history_model = model.history.model  # type: ignore[attr-defined]
    tracked = [field.attname for field in history_model.tracked_fields]
    reason_of = reason if callable(reason) else lambda obj: reason
    insert_rows(
        history_model,
        [
            {
                **{name: getattr(obj, name) for name in tracked},
                "history_date": when,
                "history_user_id": user.pk,
                "history_change_reason": reason_of(obj),
                "history_type": "~",
            }
            for obj in objs
        ],
    )

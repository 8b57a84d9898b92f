"""Fast bulk inserts with history rows, for the ingest path.

Django's ``bulk_create`` spends most of a 1,000-flag batch preparing values field by field and
quoting them into SQL. On PostgreSQL these helpers draw the new ids from the table's sequence in
one query and stream the rows with ``COPY``, several times faster; on other databases they fall
back to ``bulk_create``. Historical rows are written the same way, with the same fields that
django-simple-history's ``bulk_history_create`` writes, so history is identical either way.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import connections, models, router

Row = dict[str, Any]


def _columns(model: type[models.Model]) -> list[models.Field[Any, Any]]:
    return list(model._meta.concrete_fields)


def _complete(fields: list[models.Field[Any, Any]], row: Mapping[str, Any]) -> Row:
    full: Row = {}
    for field in fields:
        if field.attname in row:
            full[field.attname] = row[field.attname]
        elif not field.primary_key:
            full[field.attname] = field.get_default()
    return full


def _copy_value(field: models.Field[Any, Any], value: Any) -> Any:
    """A value as COPY takes it: psycopg adapts plain Python types; JSON goes as text."""
    if value is None:
        return None
    if isinstance(field, models.JSONField):
        return json.dumps(value, cls=field.encoder)
    to_text = getattr(field, "to_copy_text", None)
    return to_text(value) if to_text else value


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
    completed = [_complete(fields, row) for row in rows]
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
        with cursor.cursor.copy(statement) as copy:
            for pk, row in zip(ids, completed, strict=True):
                row[pk_attname] = pk
                copy.write_row([_copy_value(field, row[field.attname]) for field in fields])
    return ids


def insert_with_history(
    model: type[models.Model],
    rows: Sequence[Mapping[str, Any]],
    *,
    user: User,
    reason: str,
    when: datetime,
) -> list[int]:
    """Insert rows and one ``+`` historical row each, naming the acting user and the reason."""
    ids = insert_rows(model, rows)
    history_model = model.history.model  # type: ignore[attr-defined]
    tracked = [field.attname for field in history_model.tracked_fields]
    pk_attname = model._meta.pk.attname
    fields = _columns(model)
    historical = []
    for pk, row in zip(ids, rows, strict=True):
        values = _complete(fields, row)
        values[pk_attname] = pk
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

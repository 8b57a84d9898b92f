"""A governed record's history as people read it: each version, who made it, when and why, and
what it changed field by field. The case page shows a case's and its flags' history with it, and
the data steward's challenge page an evidence record's."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Model

_KINDS = {"+": "Created", "~": "Changed", "-": "Deleted"}


@dataclass(frozen=True)
class Version:
    """One historical version and its differences from the version of the same object before
    it (none for the first)."""

    object_id: Any
    at: datetime
    who: str
    reason: str
    kind: str
    changes: list[tuple[str, Any, Any]]


def versions_with_changes(records: Any, by: str | None = None) -> list[Version]:
    """Each version in ``records`` (a simple-history query set, with ``history_user`` selected),
    oldest first, with its field-level differences from the one before it. ``by`` names the
    field that tells objects apart when the query set holds the history of several (``"id"``):
    each is compared only with its own earlier versions."""
    ordering = (by, "history_id") if by else ("history_id",)
    previous: dict[Any, Model] = {}
    versions = []
    for record in records.order_by(*ordering):
        key = getattr(record, by) if by else None
        before = previous.get(key)
        changes = []
        if before is not None:
            delta = record.diff_against(before)
            changes = [(change.field, change.old, change.new) for change in delta.changes]
        previous[key] = record
        versions.append(
            Version(
                object_id=key,
                at=record.history_date,
                who=record.history_user.get_username() if record.history_user else "",
                reason=record.history_change_reason or "",
                kind=_KINDS[record.history_type],
                changes=changes,
            )
        )
    return versions

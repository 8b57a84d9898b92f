"""An evidence record's payload as rows a reviewer can read: one row per value, named by the
path of fields that leads to it, instead of the payload printed as a Python dict."""

from collections.abc import Mapping
from typing import Any

from django import template

register = template.Library()

PATH_SEPARATOR = " / "


def field_label(key: Any) -> str:
    """``authorised_by`` reads "Authorised by"; a list position reads "item 1"."""
    if isinstance(key, int):
        return f"item {key + 1}"
    words = str(key).replace("_", " ").strip()
    return words[:1].upper() + words[1:] if words else "(no name)"


def value_text(value: Any) -> str:
    if value is None:
        return "Not given"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, dict | list) and not value:
        return "Empty"
    return str(value)


@register.filter
def payload_rows(payload: Any) -> list[tuple[str, str]]:
    """(label, text) for each value in ``payload``, in the order the record gives them; nested
    objects and lists are walked without recursion, as deep as they go."""
    rows: list[tuple[str, str]] = []
    pending: list[tuple[tuple[str, ...], Any]] = [((), payload)]
    while pending:
        path, value = pending.pop()
        if isinstance(value, dict) and value:
            children = [((*path, field_label(k)), v) for k, v in value.items()]
        elif isinstance(value, list) and value:
            children = [((*path, field_label(i)), v) for i, v in enumerate(value)]
        else:
            rows.append((PATH_SEPARATOR.join(path) or "Record", value_text(value)))
            continue
        pending.extend(reversed(children))
    return rows


@register.filter
def of_record(by_record: Mapping[int, Any], evidence_id: int) -> Any:
    """What ``by_record`` (evidence id to rows) holds for one record: ``context_accounts|
    of_record:item.evidence_id`` for the person's accounts of its context."""
    return by_record.get(evidence_id, [])


_STATUS_TAGS = {
    "disputed": "govuk-tag--yellow",
    "corrected": "govuk-tag--blue",
    "withdrawn": "govuk-tag--grey",
}


@register.filter
def evidence_tag(status: str) -> str:
    """The GOV.UK tag colour of an evidence record's status; "" for a record as received."""
    return _STATUS_TAGS.get(status, "")

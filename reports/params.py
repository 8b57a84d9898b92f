"""A report's kind and parameters, read strictly: exactly the fields the kind takes, each of its
type, and nothing else. The parameters are stored as canonical JSON, so that the same request
is the same bytes."""

from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from audit.chain import canonical_json
from reports.errors import ReportInvalid
from reports.models import ReportKind

# The largest id a row can have.
MAX_ROW_ID = 2**63 - 1

FIELDS: dict[str, tuple[str, ...]] = {
    ReportKind.DISCLOSURE: ("subject",),
    ReportKind.CASE_FILE: ("case",),
    ReportKind.OVERSIGHT: ("from", "to"),
}


def parse_kind(kind: Any) -> str:
    if not isinstance(kind, str) or kind not in FIELDS:
        choices = ", ".join(FIELDS)
        raise ReportInvalid({"kind": f"Choose the kind of report: one of {choices}."})
    return kind


def parse(kind: str, params: Any) -> tuple[str, dict[str, Any]]:
    """The kind and its parameters, checked; ReportInvalid naming each problem otherwise."""
    kind = parse_kind(kind)
    if not isinstance(params, dict):
        raise ReportInvalid({"params": "Give the report's parameters as a JSON object."})
    expected = FIELDS[kind]
    problems = {
        f"params.{name}": f"A {ReportKind(kind).label.lower()} takes no {name!r}."
        for name in params
        if name not in expected
    }
    problems.update(
        {f"params.{name}": "This field is required." for name in expected if name not in params}
    )
    if problems:
        raise ReportInvalid(problems)
    if kind == ReportKind.OVERSIGHT:
        return kind, _period(params["from"], params["to"])
    name = expected[0]
    return kind, {name: _row_id(name, params[name])}


def _row_id(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ROW_ID:
        raise ReportInvalid({f"params.{name}": f"Give the {name}'s number, a whole number."})
    return value


def _period(start: Any, end: Any) -> dict[str, Any]:
    problems: dict[str, str] = {}
    days: dict[str, date] = {}
    for name, value in (("from", start), ("to", end)):
        try:
            if not isinstance(value, str) or len(value) != 10:
                raise ValueError
            days[name] = date.fromisoformat(value)
        except ValueError:
            problems[f"params.{name}"] = "Give a date as YYYY-MM-DD."
    if problems:
        raise ReportInvalid(problems)
    first, last = days["from"], days["to"]
    today = timezone.localdate()
    if last < first:
        raise ReportInvalid({"params.to": "The period must end on or after the day it starts."})
    if last > today:
        raise ReportInvalid({"params.to": "The period cannot end after today."})
    longest = settings.REPORT_MAX_PERIOD_DAYS
    if last - first > timedelta(days=longest - 1):
        raise ReportInvalid({"params.to": f"A period may span at most {longest} days."})
    return {"from": first.isoformat(), "to": last.isoformat()}


def canonical(params: dict[str, Any]) -> str:
    return canonical_json(params).decode("utf-8")

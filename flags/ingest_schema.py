"""The shape of an ingest request, checked item by item with pydantic.

pydantic rather than DRF serializers: a batch of 1,000 flags with their evidence is about 30,000
fields, which DRF validates in around a second and pydantic in a few milliseconds. The same
models produce the OpenAPI schema (drf-spectacular's pydantic extension), so the documentation
and the check cannot drift apart. See docs/decisions/0004-pydantic-for-ingest.md.
"""

import json
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal, Self, get_args

from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from flags.models import Category, RecordType

CategoryName = Literal[
    "overtime_fraud",
    "attendance",
    "system_misuse",
    "abuse_of_position",
    "undeclared_conflict",
    "complaints_pattern",
    "other",
]
RecordTypeName = Literal[
    "sickness", "overtime", "access_log", "complaint", "discipline", "roster", "declaration"
]
if set(get_args(CategoryName)) != set(Category.values) or set(get_args(RecordTypeName)) != set(
    RecordType.values
):
    raise ImproperlyConfigured(
        "The ingest schema's categories or record types drifted from the models'."
    )

MAX_EVIDENCE = 50
# How deeply an evidence payload (or a factor) may nest objects and lists. Real source records
# are a few levels deep; the cap keeps every later walk of a stored payload (hashing it, the
# audit chain's canonical JSON, the case page) far from the stack's limit.
MAX_NESTING = 32
NESTED_TOO_DEEP = f"is nested more than {MAX_NESTING} levels deep"


# A flag, its evidence list, a record, then the payload's own levels.
MAX_ITEM_NESTING = MAX_NESTING + 3


def nesting_depth(value: Any, limit: int = MAX_NESTING) -> int:
    """How many levels of objects and lists ``value`` holds (a scalar 0, ``{}`` 1), walked
    without recursion; past ``limit`` the walk stops, as the answer is then "too deep"."""
    deepest = 0
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            inner: Any = item.values()
        elif isinstance(item, list):
            inner = item
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest  # deep enough to refuse: no need to walk the rest
        pending.extend((child, depth + 1) for child in inner)
    return deepest


def _not_too_deep(value: Any) -> Any:
    if nesting_depth(value) > MAX_NESTING:
        raise ValueError(NESTED_TOO_DEEP)
    return value


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Factor(Strict):
    """One contributing factor of the score, as the detector weighed it."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=120)]
    value: Any = Field(description="A number, a string, or true/false.")
    weight: float = Field(
        allow_inf_nan=False, description="The factor's weight in the score; may be negative."
    )

    @field_validator("value")
    @classmethod
    def plain_value(cls, value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError("must be a finite number")
        if not isinstance(value, bool | int | float | str):
            raise ValueError("must be a number, a string or true/false")
        return value


# Dates a detector can honestly send: source records from 1900 on, and nothing observed in the
# future (a flag whose window ends in the future would count toward thresholds for ever).
EARLIEST = date(1900, 1, 1)
EARLIEST_TIME = datetime(1900, 1, 1, tzinfo=UTC)
LEEWAY = timedelta(days=1)


def _text_only(value: Any) -> Any:
    """Dates and times come as ISO 8601 text: a bare number is refused, not read as a timestamp."""
    if not isinstance(value, str):
        raise ValueError(f"must be written as ISO 8601 text; got {value!r}")
    return value


@dataclass(frozen=True)
class Bounds:
    """The latest date and time a batch may mention, fixed once for the whole batch."""

    latest_date: date
    latest_time: datetime

    @classmethod
    def now(cls) -> "Bounds":
        return cls(timezone.localdate() + LEEWAY, timezone.now() + LEEWAY)


def _bounds(info: ValidationInfo) -> Bounds:
    given = info.context.get("bounds") if isinstance(info.context, dict) else None
    return given if isinstance(given, Bounds) else Bounds.now()


def _plausible_date(value: date, info: ValidationInfo) -> date:
    latest = _bounds(info).latest_date
    if not EARLIEST <= value <= latest:
        raise ValueError(f"must fall between {EARLIEST} and {latest}; got {value}")
    return value


def _plausible_time(value: datetime, info: ValidationInfo) -> datetime:
    latest = _bounds(info).latest_time
    try:
        in_utc = value.astimezone(UTC)
    except OverflowError:
        in_utc = None
    if in_utc is None or not EARLIEST_TIME <= in_utc <= latest:
        raise ValueError(f"must fall between 1900 and {latest:%Y-%m-%d}; got {value.isoformat()}")
    return in_utc


SourceDate = Annotated[date, BeforeValidator(_text_only), AfterValidator(_plausible_date)]
SourceTime = Annotated[AwareDatetime, BeforeValidator(_text_only), AfterValidator(_plausible_time)]


class Window(Strict):
    """The period of source data the detector looked at; it cannot end in the future."""

    start: SourceDate
    end: SourceDate

    @model_validator(mode="after")
    def ordered(self) -> Self:
        if self.start > self.end:
            raise ValueError(f"start ({self.start}) is after end ({self.end})")
        return self


class Evidence(Strict):
    """A snapshot of one source-system record the flag rests on."""

    source_system: Annotated[str, StringConstraints(min_length=1, max_length=60)]
    record_type: RecordTypeName
    record_id: Annotated[str, StringConstraints(min_length=1, max_length=120)]
    occurred_at: SourceTime
    summary: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    payload: Annotated[dict[str, Any], BeforeValidator(_not_too_deep)] = Field(
        default_factory=dict,
        description=(
            "The source record's fields as a JSON object, nested at most "
            f"{MAX_NESTING} levels deep (the object itself is the first level)."
        ),
    )


def _may_hold_unstorable_text(raw: dict[str, Any]) -> bool:
    """A fast check in C for the rare item worth walking: json escapes NUL as \\u0000, and a
    lone surrogate cannot be encoded. A false alarm only costs the walk."""
    text = json.dumps(raw, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return "\\u0000" in text


def unstorable_text(value: Any, path: str = "") -> tuple[str, str] | None:
    """The first string that no database can store as text: a NUL or a lone surrogate."""
    if isinstance(value, str):
        if "\x00" in value:
            return path, "contains a NUL character"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path, "contains an unpaired surrogate (invalid Unicode)"
        return None
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, inner in items:
        where = f"{path}.{key}" if path else str(key)
        found = unstorable_text(key, where) if isinstance(key, str) else None
        found = found or unstorable_text(inner, where)
        if found:
            return found
    return None


class FlagItem(Strict):
    """One flag. ``external_id`` is the detector's own id: sending it again changes nothing."""

    external_id: Annotated[str, StringConstraints(min_length=1, max_length=120)]
    subject: Annotated[str, StringConstraints(min_length=1, max_length=20)] = Field(
        description="The subject's staff number."
    )
    category: CategoryName
    rule: Annotated[str, StringConstraints(min_length=1, max_length=120)]
    detector_version: Annotated[str, StringConstraints(min_length=1, max_length=60)]
    # Strict: true, false and "0.5" are refused rather than read as 1.0, 0.0 and 0.5.
    score: float = Field(ge=0, le=1, allow_inf_nan=False, strict=True)
    explanation: Annotated[str, StringConstraints(min_length=1, max_length=5000)]
    factors: Annotated[list[Factor], BeforeValidator(_not_too_deep)] = Field(
        default_factory=list, max_length=100
    )
    window: Window
    evidence: list[Evidence] = Field(min_length=1, max_length=MAX_EVIDENCE)

    @field_validator("score")
    @classmethod
    def no_negative_zero(cls, value: float) -> float:
        return value + 0.0  # -0.0 becomes 0.0

    @field_validator("evidence")
    @classmethod
    def evidence_listed_once(cls, value: list[Evidence]) -> list[Evidence]:
        seen: dict[tuple[str, str], int] = {}
        for position, evidence in enumerate(value):
            key = (evidence.source_system, evidence.record_id)
            if key in seen:
                raise ValueError(
                    f"evidence {position} repeats evidence {seen[key]} "
                    f"({evidence.source_system} record {evidence.record_id!r})"
                )
            seen[key] = position
        return value


class IngestRequest(BaseModel):
    """A batch of flags from one detector. Documents the request; items are checked one by one
    with :func:`check_item`, so that one bad item cannot sink the batch."""

    flags: list[FlagItem] = Field(min_length=1, max_length=1000)


class ItemResult(BaseModel):
    index: int
    external_id: str | None
    status: Literal["created", "duplicate", "rejected"]
    errors: dict[str, list[str]] | None = None
    flag: int | None = None
    case: int | None = None


class IngestResponse(BaseModel):
    created: int
    duplicate: int
    rejected: int
    items: list[ItemResult]


def _location(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "flag"


def _words(error: Any) -> str:
    """Turn a pydantic error into words a detector's author understands."""
    kind = error["type"]
    ctx = error.get("ctx", {})
    given = error.get("input")
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a field of a flag; check its spelling"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')}; got {given!r}"
    if kind in {"greater_than_equal", "less_than_equal", "greater_than", "less_than"}:
        if error["loc"][-1] == "score":
            return f"must be between 0 and 1; got {given!r}"
        return f"{error['msg'].lower()}; got {given!r}"
    if kind in {
        "date_parsing",
        "date_from_datetime_parsing",
        "date_type",
        "date_from_datetime_inexact",
    }:
        return f"must be a date written YYYY-MM-DD; got {given!r}"
    if kind in {"datetime_parsing", "datetime_from_date_parsing", "datetime_type"}:
        return (
            "must be a date and time in ISO 8601 with a time zone, such as "
            f"2026-03-01T09:30:00Z; got {given!r}"
        )
    if kind == "timezone_aware":
        return f"must include a time zone (Z or +01:00, say); got {given!r}"
    if kind == "too_short" and error["loc"][-1] == "evidence":
        return "must hold at least one evidence record: a flag without evidence cannot be reviewed"
    if kind == "too_long" and error["loc"][-1] == "evidence":
        return f"may hold at most {MAX_EVIDENCE} evidence records"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters"
    if kind in {"float_parsing", "float_type", "int_type"}:
        return f"must be a number; got {given!r}"
    if kind == "finite_number":
        return "must be a finite number"
    if kind == "model_type" or kind == "dict_type":
        return "must be a JSON object"
    if kind == "list_type":
        return "must be a JSON list"
    if kind == "string_type":
        return f"must be a string; got {given!r}"
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    return str(error["msg"])


def field_errors(exc: ValidationError) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for error in exc.errors(include_url=False):
        errors.setdefault(_location(error["loc"]), []).append(_words(error))
    return errors


def check_item(raw: Any, bounds: Bounds | None = None) -> FlagItem | dict[str, list[str]]:
    """A valid item, or its errors keyed by field path (``evidence.0.occurred_at``)."""
    if not isinstance(raw, dict):
        return {"flag": ["each flag must be a JSON object"]}
    # Too deep for the text check's recursive walk: pydantic names the part nested too deeply.
    shallow = nesting_depth(raw, MAX_ITEM_NESTING) <= MAX_ITEM_NESTING
    unstorable = unstorable_text(raw) if shallow and _may_hold_unstorable_text(raw) else None
    if unstorable:
        return {unstorable[0] or "flag": [unstorable[1]]}
    try:
        return FlagItem.model_validate(raw, context={"bounds": bounds or Bounds.now()})
    except ValidationError as exc:
        return field_errors(exc)

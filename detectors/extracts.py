"""The source-system extracts: their file names, columns, and readers.

The generator writes these files and the detectors read them, so both take the formats from here.
Each extract is UTF-8 CSV with a header row; dates are ISO 8601 and times are UTC (``Z``).
``workforce.csv`` is the HR extract that ``manage.py import_workforce`` accepts.
"""

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, NamedTuple

WORKFORCE_FILE = "workforce.csv"
SICKNESS_FILE = "sickness.csv"
OVERTIME_FILE = "overtime.csv"
ACCESS_FILE = "access.csv"
COMPLAINTS_FILE = "complaints.csv"
GROUND_TRUTH_FILE = "ground_truth.csv"
MANIFEST_FILE = "manifest.json"

# The same columns, in the same order, as flags.workforce.COLUMNS (a test holds them together).
WORKFORCE_COLUMNS = (
    "staff_number",
    "name",
    "rank",
    "role",
    "unit",
    "line_manager",
    "working_pattern",
    "employment_type",
    "sex",
    "ethnicity",
    "disability",
    "age_band",
    "long_term_sickness",
)
SICKNESS_COLUMNS = (
    "spell_id",
    "staff_number",
    "start_date",
    "end_date",
    "days_lost",
    "reason",
    "self_certified",
)
OVERTIME_COLUMNS = (
    "claim_id",
    "staff_number",
    "worked_on",
    "started_at",
    "hours",
    "claim_type",
    "reason",
    "authorised_by",
)
ACCESS_COLUMNS = (
    "event_id",
    "staff_number",
    "occurred_at",
    "system",
    "record_type",
    "record_ref",
    "task_ref",
)
COMPLAINTS_COLUMNS = (
    "complaint_id",
    "staff_number",
    "received_on",
    "allegation",
    "source",
    "outcome",
)
GROUND_TRUTH_COLUMNS = ("staff_number", "seeded_pattern")

# Source-system names, as evidence records name them.
SICKNESS_SYSTEM = "hr-absence"
OVERTIME_SYSTEM = "payroll-overtime"
ACCESS_SYSTEM = "it-access-audit"


class ExtractMissing(FileNotFoundError):
    """An extract a detector needs is not in the data directory."""


class WorkforceEntry(NamedTuple):
    staff_number: str
    rank: str
    role: str
    unit: str
    line_manager: str
    working_pattern: str
    employment_type: str


class SicknessSpell(NamedTuple):
    spell_id: str
    staff_number: str
    start: date
    end: date
    days_lost: int
    reason: str
    self_certified: bool


class OvertimeClaim(NamedTuple):
    claim_id: str
    staff_number: str
    worked_on: date
    started_at: str
    hours: float
    claim_type: str
    reason: str
    authorised_by: str


class AccessEvent(NamedTuple):
    event_id: str
    staff_number: str
    occurred_at: str
    system: str
    record_type: str
    record_ref: str
    task_ref: str


@dataclass(frozen=True)
class Manifest:
    """What a generated data directory holds, and the date its extracts were taken."""

    seed: int
    subjects: int
    as_of: date
    files: dict[str, dict[str, Any]]


def _rows(data_dir: Path, name: str, columns: tuple[str, ...]) -> Iterator[list[str]]:
    path = data_dir / name
    try:
        handle = path.open(encoding="utf-8", newline="")
    except FileNotFoundError as exc:
        raise ExtractMissing(
            f"{path} is missing: build the extracts first (manage.py seed_demo, or "
            "python -m detectors.synthetic_force)"
        ) from exc
    with handle:
        reader = csv.reader(handle)
        header = tuple(next(reader, ()))
        if header[: len(columns)] != columns:
            raise ValueError(f"{path}: expected the columns {', '.join(columns)}")
        yield from reader


def read_manifest(data_dir: Path) -> Manifest:
    path = data_dir / MANIFEST_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ExtractMissing(f"{path} is missing: build the extracts first") from exc
    return Manifest(
        seed=int(raw["seed"]),
        subjects=int(raw["subjects"]),
        as_of=date.fromisoformat(raw["as_of"]),
        files=dict(raw["files"]),
    )


def read_workforce(data_dir: Path) -> list[WorkforceEntry]:
    index = {column: position for position, column in enumerate(WORKFORCE_COLUMNS)}
    return [
        WorkforceEntry(*(row[index[field]] for field in WorkforceEntry._fields))
        for row in _rows(data_dir, WORKFORCE_FILE, WORKFORCE_COLUMNS)
    ]


def read_sickness(data_dir: Path) -> list[SicknessSpell]:
    return [
        SicknessSpell(
            spell_id,
            staff_number,
            date.fromisoformat(start),
            date.fromisoformat(end),
            int(days),
            reason,
            certified == "yes",
        )
        for spell_id, staff_number, start, end, days, reason, certified in _rows(
            data_dir, SICKNESS_FILE, SICKNESS_COLUMNS
        )
    ]


def _claim(row: list[str]) -> OvertimeClaim:
    claim_id, staff_number, worked_on, started_at, hours, claim_type, reason, authorised_by = row
    return OvertimeClaim(
        claim_id,
        staff_number,
        date.fromisoformat(worked_on),
        started_at,
        float(hours),
        claim_type,
        reason,
        authorised_by,
    )


def read_overtime(data_dir: Path) -> list[OvertimeClaim]:
    return [_claim(row) for row in _rows(data_dir, OVERTIME_FILE, OVERTIME_COLUMNS)]


def iter_access_events(data_dir: Path) -> Iterator[AccessEvent]:
    """Stream the access log: at full size it holds over a million events."""
    for row in _rows(data_dir, ACCESS_FILE, ACCESS_COLUMNS):
        yield AccessEvent(*row)

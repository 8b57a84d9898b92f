"""Hand-written extracts small enough to work out the right answer on paper."""

import csv
import json
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from pathlib import Path

from detectors.extracts import (
    ACCESS_COLUMNS,
    ACCESS_FILE,
    OVERTIME_COLUMNS,
    OVERTIME_FILE,
    SICKNESS_COLUMNS,
    SICKNESS_FILE,
    WORKFORCE_COLUMNS,
    WORKFORCE_FILE,
)

COLUMNS = {
    WORKFORCE_FILE: WORKFORCE_COLUMNS,
    SICKNESS_FILE: SICKNESS_COLUMNS,
    OVERTIME_FILE: OVERTIME_COLUMNS,
    ACCESS_FILE: ACCESS_COLUMNS,
}
WriteExtracts = Callable[[date, dict[str, Sequence[Sequence[str]]]], Path]


def person(
    staff_number: str, unit: str = "North Response 1", role: str = "Response officer"
) -> tuple[str, ...]:
    return (staff_number, f"Person {staff_number}", "constable", role, unit, "", "full_time",
            "officer", "", "", "", "", "")  # fmt: skip


def write_extracts_into(
    directory: Path, as_of: date, extracts: dict[str, Sequence[Sequence[str]]]
) -> Path:
    """Write the given extracts and a manifest dated ``as_of``, as the generator would."""
    files = {}
    for name, rows in extracts.items():
        with (directory / name).open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(COLUMNS[name])
            writer.writerows(rows)
        back = 728 if name == SICKNESS_FILE else 364
        files[name] = {
            "rows": len(rows),
            "from": (as_of - timedelta(days=back)).isoformat(),
            "to": as_of.isoformat(),
        }
    manifest = {"seed": 0, "subjects": 0, "as_of": as_of.isoformat(), "files": files}
    (directory / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return directory

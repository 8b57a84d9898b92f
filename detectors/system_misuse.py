"""Look-ups of records with no linked task or incident, month by month.

Most look-ups in policing systems are made for a task or incident and say so; a look-up with none
may be curiosity about a neighbour, an ex-partner or a celebrity. Some people forget to link, and
some roles (analysts, professional standards) research without a task, so a month is flagged only
when a person's unlinked look-ups exceed what the force-wide unlinked share predicts for their
volume by at least five. The score rises with that excess; the unlinked look-ups are the evidence.

    python -m detectors.system_misuse --data-dir var/demo-force --url http://127.0.0.1:8000 \\
        --token TOKEN
"""

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from detectors.extracts import (
    ACCESS_FILE,
    ACCESS_SYSTEM,
    AccessEvent,
    iter_access_events,
    read_manifest,
)
from detectors.periods import complete_months, month_label
from detectors.runner import ReferenceDetector, main_for

SLUG = "system-misuse"
VERSION = "1.0.0"
RULE = "system_misuse.unlinked_lookups"
CATEGORY = "system_misuse"
MIN_EXCESS = 5.0
MAX_EVIDENCE = 50
# Ordinary working hours: look-ups outside them are shown to the reviewer, not scored.
DAY_HOURS = range(7, 22)


@dataclass
class MonthOfLookups:
    """One person's look-ups in one month: how many, and the unlinked ones themselves."""

    total: int = 0
    unlinked: list[AccessEvent] | None = None


def score_for(excess: float) -> float:
    """0.4 at an excess of five (monitoring only), 0.64 at 10, 0.87 at 20, 0.95 at 30."""
    return round(1 - 0.6 * math.exp(-(excess - MIN_EXCESS) / 10), 3)


def _evidence(event: AccessEvent) -> dict[str, Any]:
    kind = event.record_type.replace("_", " ")
    return {
        "source_system": ACCESS_SYSTEM,
        "record_type": "access_log",
        "record_id": event.event_id,
        "occurred_at": event.occurred_at,
        "summary": f"{event.system} {kind} look-up of {event.record_ref} with no linked task",
        "payload": {
            "system": event.system,
            "record_type": event.record_type,
            "record_ref": event.record_ref,
            "task_ref": None,
        },
    }


def _tally(data_dir: Path, months: set[str]) -> dict[tuple[str, str], MonthOfLookups]:
    tally: dict[tuple[str, str], MonthOfLookups] = defaultdict(MonthOfLookups)
    for event in iter_access_events(data_dir):
        month = event.occurred_at[:7]
        if month not in months:
            continue
        entry = tally[(event.staff_number, month)]
        entry.total += 1
        if not event.task_ref:
            if entry.unlinked is None:
                entry.unlinked = []
            entry.unlinked.append(event)
    return tally


def _flag(
    staff_number: str, month: tuple[date, date], lookups: MonthOfLookups, share: float
) -> dict[str, Any] | None:
    unlinked = sorted(lookups.unlinked or [], key=lambda e: (e.occurred_at, e.event_id))
    expected = lookups.total * share
    excess = len(unlinked) - expected
    if excess < MIN_EXCESS:
        return None
    first, last = month
    records = len({event.record_ref for event in unlinked})
    late = sum(1 for event in unlinked if int(event.occurred_at[11:13]) not in DAY_HOURS)
    shown = unlinked[:MAX_EVIDENCE]
    return {
        "external_id": f"{SLUG}-{staff_number}-{first:%Y-%m}",
        "subject": staff_number,
        "category": CATEGORY,
        "rule": RULE,
        "detector_version": VERSION,
        "score": score_for(excess),
        "explanation": (
            f"In {month_label(first)}, {len(unlinked)} of {lookups.total} record look-ups had no "
            f"linked task or incident. Across the force {share:.1%} of look-ups that month had "
            f"none, which predicts {expected:.1f} for this volume: {excess:.1f} more than "
            f"expected (flagged from {MIN_EXCESS:g}). They touched {records} distinct records; "
            f"{late} were made between 22:00 and 07:00. Research roles may look records up "
            f"without a task; the {len(shown)} earliest unlinked look-ups are attached."
        ),
        "factors": [
            {"name": "excess_unlinked_lookups", "value": round(excess, 2), "weight": 1.0},
            {"name": "unlinked_lookups", "value": len(unlinked), "weight": 0.0},
            {"name": "all_lookups", "value": lookups.total, "weight": 0.0},
            {"name": "force_unlinked_share", "value": round(share, 5), "weight": 0.0},
            {"name": "distinct_records", "value": records, "weight": 0.0},
            {"name": "lookups_22_to_07", "value": late, "weight": 0.0},
        ],
        "window": {"start": first.isoformat(), "end": last.isoformat()},
        "evidence": [_evidence(event) for event in shown],
    }


def find_flags(data_dir: Path) -> list[dict[str, Any]]:
    manifest = read_manifest(data_dir)
    covered_from = date.fromisoformat(manifest.files[ACCESS_FILE]["from"])
    months = {
        f"{first:%Y-%m}": (first, last)
        for first, last in complete_months(covered_from, manifest.as_of)
    }
    tally = _tally(data_dir, set(months))
    totals: dict[str, list[int]] = {key: [0, 0] for key in months}
    for (_, month), lookups in tally.items():
        totals[month][0] += lookups.total
        totals[month][1] += len(lookups.unlinked or [])
    flags = []
    for (staff_number, month), lookups in sorted(
        tally.items(), key=lambda item: (item[0][1], item[0][0])
    ):
        if len(lookups.unlinked or []) < MIN_EXCESS:
            continue
        all_lookups, all_unlinked = totals[month]
        flag = _flag(staff_number, months[month], lookups, all_unlinked / all_lookups)
        if flag is not None:
            flags.append(flag)
    return flags


DETECTOR = ReferenceDetector(
    slug=SLUG,
    name="System look-ups without a task",
    description=(
        "Monthly record look-ups with no linked task or incident, against the force-wide "
        f"unlinked share; flags an excess of {MIN_EXCESS:g} or more."
    ),
    version=VERSION,
    find_flags=find_flags,
)

if __name__ == "__main__":
    raise SystemExit(main_for(DETECTOR))

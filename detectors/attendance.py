"""Sickness absence by the Bradford factor, at each quarter end of the last year.

The Bradford factor is S squared times D over a rolling 52 weeks, S the number of spells of
absence and D the days lost in them. Squaring the spells makes frequent short absences weigh far
more than one long one. Many employers act at trigger points (commonly 51, 201, 401 and 651);
this detector flags at 250 and above, scoring higher as the factor grows.

It is known to fall harder on disabled staff and on part-time workers, whose absences come as
more, shorter spells. That is why it is here: Scrutiny's fairness report has to show the
disparity such a detector produces, and the threshold policy treats attendance flags as weak
evidence (several strong ones in a year, never one alone).

Evaluating at each quarter end, rather than on the day the detector runs, gives each flag a
stable period: the same extract always yields the same flags, and repeated quarters above the
trigger show as repeated flags, which is what the policy counts.

    python -m detectors.attendance --data-dir var/demo-force --url http://127.0.0.1:8000 --token T
"""

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from detectors.extracts import SICKNESS_SYSTEM, SicknessSpell, read_manifest, read_sickness
from detectors.periods import long_date, quarter_ends
from detectors.runner import ReferenceDetector, main_for

SLUG = "attendance"
VERSION = "1.0.0"
RULE = "attendance.bradford_factor"
CATEGORY = "attendance"
WINDOW_DAYS = 52 * 7
TRIGGER_POINT = 250
MAX_EVIDENCE = 50
# The quarter ends examined: those in the year to the extract date.
LOOK_BACK_DAYS = 365


@dataclass(frozen=True)
class Bradford:
    spells: list[SicknessSpell]
    days: int

    @property
    def factor(self) -> int:
        return len(self.spells) ** 2 * self.days


def bradford_factor(
    spells: Iterable[SicknessSpell], window_start: date, window_end: date
) -> Bradford:
    """The spells that began in [window_start, window_end], and the days of them inside it.

    A spell running past the window's end counts only its days up to the end: the factor at a
    date is what was known on that date.
    """
    counted = sorted(
        (spell for spell in spells if window_start <= spell.start <= window_end),
        key=lambda spell: (spell.start, spell.spell_id),
    )
    days = sum(min(spell.days_lost, (window_end - spell.start).days + 1) for spell in counted)
    return Bradford(counted, days)


def score_for(factor: int) -> float:
    """0.5 at the trigger point of 250, 0.7 at 500, 0.9 at 1,000, at most 0.99."""
    rise = math.log(factor / TRIGGER_POINT) / math.log(4)
    return round(min(0.99, 0.5 + 0.4 * rise), 3)


def _evidence(spell: SicknessSpell) -> dict[str, Any]:
    return {
        "source_system": SICKNESS_SYSTEM,
        "record_type": "sickness",
        "record_id": spell.spell_id,
        "occurred_at": f"{spell.start.isoformat()}T00:00:00Z",
        "summary": (
            f"Sickness absence {spell.start.isoformat()} to {spell.end.isoformat()}: "
            f"{spell.days_lost} day(s), {spell.reason.lower()}"
            + (" (self-certified)" if spell.self_certified else "")
        ),
        "payload": {
            "start_date": spell.start.isoformat(),
            "end_date": spell.end.isoformat(),
            "days_lost": spell.days_lost,
            "reason": spell.reason,
            "self_certified": spell.self_certified,
        },
    }


def _flag(staff_number: str, start: date, end: date, bradford: Bradford) -> dict[str, Any]:
    spells = len(bradford.spells)
    shown = bradford.spells[-MAX_EVIDENCE:]
    return {
        "external_id": f"{SLUG}-{staff_number}-{end.isoformat()}",
        "subject": staff_number,
        "category": CATEGORY,
        "rule": RULE,
        "detector_version": VERSION,
        "score": score_for(bradford.factor),
        "explanation": (
            f"Bradford factor {bradford.factor:,} for the 52 weeks {long_date(start)} to "
            f"{long_date(end)}: {spells} spells of sickness absence, {bradford.days} days in "
            f"all ({spells} squared times {bradford.days}), at or above the trigger point of "
            f"{TRIGGER_POINT}. "
            "Sickness absence is not misconduct: absence linked to a disability or a long-term "
            "condition must be considered, with reasonable adjustments, before any action."
        ),
        "factors": [
            {"name": "bradford_factor", "value": bradford.factor, "weight": 1.0},
            {"name": "spells", "value": spells, "weight": 0.0},
            {"name": "days_lost", "value": bradford.days, "weight": 0.0},
            {"name": "trigger_point", "value": TRIGGER_POINT, "weight": 0.0},
        ],
        "window": {"start": start.isoformat(), "end": end.isoformat()},
        "evidence": [_evidence(spell) for spell in shown],
    }


def find_flags(data_dir: Path) -> list[dict[str, Any]]:
    as_of = read_manifest(data_dir).as_of
    by_person: dict[str, list[SicknessSpell]] = defaultdict(list)
    for spell in read_sickness(data_dir):
        by_person[spell.staff_number].append(spell)
    flags = []
    for end in quarter_ends(as_of - timedelta(days=LOOK_BACK_DAYS - 1), as_of):
        start = end - timedelta(days=WINDOW_DAYS - 1)
        for staff_number in sorted(by_person):
            bradford = bradford_factor(by_person[staff_number], start, end)
            if bradford.factor >= TRIGGER_POINT:
                flags.append(_flag(staff_number, start, end, bradford))
    return flags


DETECTOR = ReferenceDetector(
    slug=SLUG,
    name="Attendance by Bradford factor",
    description=(
        "Bradford factor (spells squared times days) over the 52 weeks to each quarter end; "
        f"flags at {TRIGGER_POINT} and above."
    ),
    version=VERSION,
    find_flags=find_flags,
)

if __name__ == "__main__":
    raise SystemExit(main_for(DETECTOR))

"""The attendance detector: the Bradford factor worked by hand, its flags, and its known bias."""

import csv
from datetime import date, timedelta
from pathlib import Path

import pytest

from detectors import attendance
from detectors.extracts import SICKNESS_FILE, SicknessSpell
from detectors.synthetic_force import write_force
from tests.detectors.extract_files import WriteExtracts

WINDOW = (date(2025, 10, 2), date(2026, 9, 30))  # the 52 weeks to 30 September 2026


def spell(spell_id: str, start: str, days: int, staff_number: str = "100001") -> SicknessSpell:
    first = date.fromisoformat(start)
    return SicknessSpell(
        spell_id, staff_number, first, first + timedelta(days=days - 1), days, "Cold or flu", True
    )


def test_bradford_factor_worked_by_hand() -> None:
    spells = [
        spell("A", "2025-09-01", 10),  # began before the window: not counted
        spell("B", "2026-01-05", 3),
        spell("C", "2026-03-02", 1),
        spell("D", "2026-06-10", 5),
        spell("E", "2026-10-01", 2),  # began after the window: not counted
    ]
    bradford = attendance.bradford_factor(spells, *WINDOW)
    # S = 3 spells (B, C, D), D = 3 + 1 + 5 = 9 days: 3 squared times 9 = 81.
    assert [s.spell_id for s in bradford.spells] == ["B", "C", "D"]
    assert bradford.days == 9
    assert bradford.factor == 81


def test_a_spell_running_past_the_window_counts_only_its_days_inside() -> None:
    # 5 days from 28 September: 28, 29 and 30 September fall inside. 2 squared times (2 + 3) = 20.
    spells = [spell("B", "2026-01-05", 2), spell("F", "2026-09-28", 5)]
    assert attendance.bradford_factor(spells, *WINDOW).factor == 20


def test_frequent_short_spells_outweigh_one_long_one() -> None:
    short = [spell(f"S{n}", f"2026-0{n}-01", 2) for n in range(1, 7)]  # 6 squared times 12
    long = [spell("L", "2026-02-01", 60)]  # 1 squared times 60
    assert attendance.bradford_factor(short, *WINDOW).factor == 432
    assert attendance.bradford_factor(long, *WINDOW).factor == 60


def test_the_score_rises_with_the_factor_from_the_trigger_point() -> None:
    assert attendance.score_for(250) == 0.5
    assert attendance.score_for(500) == 0.7
    assert attendance.score_for(1000) == 0.9
    assert attendance.score_for(100_000) == 0.99


def sickness_row(spell_id: str, staff_number: str, start: str, days: int) -> tuple[str, ...]:
    first = date.fromisoformat(start)
    end = first + timedelta(days=days - 1)
    return (spell_id, staff_number, start, end.isoformat(), str(days), "Cold or flu", "yes")


def test_a_flag_for_each_quarter_end_at_or_above_the_trigger(
    write_extracts: WriteExtracts,
) -> None:
    # Five 3-day spells between November 2025 and March 2026. At 31 December 2025 three had
    # begun: 3 squared times 9 = 81, below the trigger. At 31 March, 30 June and 30 September
    # all five fall in the 52 weeks: 5 squared times 15 = 375. Someone else has two spells:
    # 2 squared times 4 = 16.
    rows = [
        sickness_row(f"ABS-{n}", "100001", start, 3)
        for n, start in enumerate(
            ["2025-11-03", "2025-12-01", "2025-12-15", "2026-02-02", "2026-03-09"]
        )
    ] + [sickness_row("ABS-9", "100002", "2026-05-05", 2), sickness_row("ABS-8", "100002",
         "2026-07-01", 2)]  # fmt: skip
    data_dir = write_extracts(date(2026, 11, 26), {SICKNESS_FILE: rows})

    flags = attendance.find_flags(data_dir)

    assert [flag["external_id"] for flag in flags] == [
        "attendance-100001-2026-03-31",
        "attendance-100001-2026-06-30",
        "attendance-100001-2026-09-30",
    ]
    assert flags[0]["window"] == {"start": "2025-04-02", "end": "2026-03-31"}
    assert all(flag["score"] == attendance.score_for(375) for flag in flags)
    assert {f["name"]: f["value"] for f in flags[0]["factors"]}["bradford_factor"] == 375
    assert len(flags[0]["evidence"]) == 5
    # The same spell sent under different flags must be the identical record.
    assert flags[0]["evidence"] == flags[2]["evidence"]


def rate(flagged: set[str], people: list[str]) -> float:
    return sum(1 for number in people if number in flagged) / len(people)


@pytest.fixture(scope="module")
def default_force(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("default-force")
    write_force(directory, subjects=3000, seed=1, as_of=date(2026, 11, 26))
    return directory


def test_disabled_and_part_time_staff_are_flagged_more_often(default_force: Path) -> None:
    """The disparity a fairness report must be able to show: Bradford factors fall harder on
    disabled staff and on part-time workers.

    A fairness report marks ratios beyond 1.25. The bar here is three times the rate, well
    above what chance or the link between disability and long-term sickness give on their own
    (about twice, with the seeded frequent-short-spells effect removed), so the test holds the
    generator to the bias it is meant to seed.
    """
    flagged = {flag["subject"] for flag in attendance.find_flags(default_force)}
    with (default_force / "workforce.csv").open(encoding="utf-8", newline="") as handle:
        people = list(csv.DictReader(handle))
    groups: dict[tuple[str, str], list[str]] = {}
    for row in people:
        for field in ("disability", "working_pattern"):
            groups.setdefault((field, row[field]), []).append(row["staff_number"])

    disabled = rate(flagged, groups[("disability", "yes")])
    not_disabled = rate(flagged, groups[("disability", "no")])
    part_time = rate(flagged, groups[("working_pattern", "part_time")])
    full_time = rate(flagged, groups[("working_pattern", "full_time")])

    assert len(groups[("disability", "yes")]) >= 100
    assert len(groups[("working_pattern", "part_time")]) >= 300
    assert disabled > 3 * not_disabled
    assert part_time > 3 * full_time
    # Still a few percent of the force, not half of it.
    assert 0.01 < len(flagged) / len(people) < 0.10

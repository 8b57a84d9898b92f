"""The overtime detector: the robust z-score worked by hand, and the flag it makes."""

from datetime import date

import pytest

from detectors import overtime
from detectors.extracts import OVERTIME_FILE, WORKFORCE_FILE
from tests.detectors.extract_files import WriteExtracts, person


def test_robust_z_worked_by_hand() -> None:
    # Sorted: 8 9 10 10 11 12 13 40, so the median is (10 + 11) / 2 = 10.5. Deviations from it,
    # sorted: 0.5 0.5 0.5 1.5 1.5 2.5 2.5 29.5, so the MAD is (1.5 + 1.5) / 2 = 1.5.
    # z(40) = 0.6745 * (40 - 10.5) / 1.5 = 13.2652 (to four places).
    rz = overtime.robust_z(40, [10, 12, 8, 11, 9, 10, 13, 40])
    assert rz is not None
    assert rz.median == 10.5
    assert rz.spread == 1.5
    assert rz.measure == "median absolute deviation"
    assert rz.z == pytest.approx(13.2652, abs=1e-4)


def test_when_most_peers_claim_nothing_the_mean_absolute_deviation_stands_in() -> None:
    # Median 0 and MAD 0; the mean absolute deviation is (8 + 20) / 8 = 3.5, and
    # z(20) = 20 / (1.2533 * 3.5) = 4.5594.
    rz = overtime.robust_z(20, [0, 0, 0, 0, 0, 0, 8, 20])
    assert rz is not None
    assert rz.measure == "mean absolute deviation"
    assert rz.z == pytest.approx(4.5594, abs=1e-4)


def test_a_spread_below_the_floor_is_raised_to_it() -> None:
    # The MAD of 1.5 is raised to 4: z(40) = 0.6745 * 29.5 / 4 = 4.9744.
    rz = overtime.robust_z(40, [10, 12, 8, 11, 9, 10, 13, 40], min_spread=4)
    assert rz is not None
    assert rz.measure == "minimum spread"
    assert rz.z == pytest.approx(4.9744, abs=1e-4)


def test_a_group_with_no_spread_has_no_z_score() -> None:
    assert overtime.robust_z(5, [5, 5, 5, 5]) is None


def test_the_score_is_half_at_the_trigger_and_rises_towards_one() -> None:
    scores = [overtime.score_for(z) for z in (3.5, 5, 8, 10, 30)]
    assert scores[0] == 0.5
    assert scores == sorted(scores)
    assert scores[-1] < 1


def claim(claim_id: str, staff_number: str, day: str, hours: float) -> tuple[str, ...]:
    return (claim_id, staff_number, day, f"{day}T17:00:00Z", f"{hours:g}", "shift_extension",
            "Late arrest", "900000")  # fmt: skip


def test_one_flag_for_the_month_far_above_peers(write_extracts: WriteExtracts) -> None:
    peers = [f"1000{n:02d}" for n in range(10)]
    claims = [claim(f"OT-{n}", number, "2026-10-05", 4 + n % 3) for n, number in enumerate(peers)]
    # 100000 claims 4 + 30 + 28 + 9 = 71 hours in October; the others 4 to 6.
    claims += [
        claim("OT-big-1", "100000", "2026-10-11", 30),
        claim("OT-big-2", "100000", "2026-10-18", 28),
        claim("OT-big-3", "100000", "2026-10-25", 9),
        claim("OT-sep", "100000", "2026-09-25", 50),  # alone in September: too few claims
    ]
    data_dir = write_extracts(
        date(2026, 11, 26),
        {WORKFORCE_FILE: [person(number) for number in peers], OVERTIME_FILE: claims},
    )

    flags = overtime.find_flags(data_dir)

    assert [flag["external_id"] for flag in flags] == ["overtime-100000-2026-10"]
    flag = flags[0]
    assert flag["window"] == {"start": "2026-10-01", "end": "2026-10-31"}
    assert flag["category"] == "overtime_fraud"
    # Hours: 71, then 5 6 4 5 6 4 5 6 4: median 5, deviations sorted 0 0 0 1 1 1 1 1 1 66,
    # MAD 1, raised to the 4-hour floor: z = 0.6745 * 66 / 4 = 11.129.
    factors = {factor["name"]: factor["value"] for factor in flag["factors"]}
    assert factors["monthly_overtime_hours"] == 71
    assert factors["peer_median_hours"] == 5
    assert factors["robust_z"] == pytest.approx(11.13, abs=0.01)
    assert flag["score"] == overtime.score_for(0.6745 * 66 / 4)
    assert [e["record_id"] for e in flag["evidence"]] == [
        "OT-big-1",
        "OT-big-2",
        "OT-big-3",
        "OT-0",
    ]
    assert "71 hours" in flag["explanation"]


def test_groups_below_the_minimum_size_are_not_examined(write_extracts: WriteExtracts) -> None:
    peers = [f"1000{n:02d}" for n in range(overtime.MIN_PEERS - 1)]
    claims = [claim(f"OT-{n}", number, "2026-10-05", 4) for n, number in enumerate(peers)]
    claims += [claim("OT-big-1", "100000", "2026-10-11", 30), claim("OT-big-2", "100000",
               "2026-10-18", 30)]  # fmt: skip
    data_dir = write_extracts(
        date(2026, 11, 26),
        {WORKFORCE_FILE: [person(number) for number in peers], OVERTIME_FILE: claims},
    )
    assert overtime.find_flags(data_dir) == []

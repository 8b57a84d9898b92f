"""The system-misuse detector: unlinked look-ups above what the force-wide share predicts."""

from datetime import date

from detectors import system_misuse
from detectors.extracts import ACCESS_FILE
from tests.detectors.extract_files import WriteExtracts


def lookup(event_id: str, staff_number: str, at: str, task: str = "") -> tuple[str, ...]:
    return (event_id, staff_number, at, "PNC", "person", f"PER-{event_id}", task)


def test_a_month_of_unlinked_lookups_is_flagged_with_them_as_evidence(
    write_extracts: WriteExtracts,
) -> None:
    # October: 100001 makes 10 look-ups, none linked; 100002 makes 90, all linked. The force's
    # unlinked share is 10 / 100 = 0.1, predicting 1 for 100001: an excess of 9.
    rows = [lookup(f"A{n}", "100001", f"2026-10-{n + 1:02d}T23:30:00Z") for n in range(10)]
    rows += [lookup(f"B{n}", "100002", "2026-10-15T10:00:00Z", task="INC-1") for n in range(90)]
    # November is still running on the extract date: its look-ups are not examined yet.
    rows += [lookup(f"C{n}", "100001", "2026-11-20T23:00:00Z") for n in range(20)]
    data_dir = write_extracts(date(2026, 11, 26), {ACCESS_FILE: rows})

    flags = system_misuse.find_flags(data_dir)

    assert [flag["external_id"] for flag in flags] == ["system-misuse-100001-2026-10"]
    flag = flags[0]
    factors = {factor["name"]: factor["value"] for factor in flag["factors"]}
    assert factors["excess_unlinked_lookups"] == 9
    assert factors["lookups_22_to_07"] == 10
    assert flag["score"] == system_misuse.score_for(9)
    assert [e["record_id"] for e in flag["evidence"]] == [f"A{n}" for n in range(10)]
    assert flag["evidence"][0]["payload"]["task_ref"] is None


def test_unlinked_lookups_in_line_with_the_force_are_not_flagged(
    write_extracts: WriteExtracts,
) -> None:
    # 100001 makes 200 look-ups, 20 unlinked, like everyone else (10%): no excess.
    rows = [
        lookup(f"{who}{n}", who, "2026-10-10T12:00:00Z", task="" if n % 10 == 0 else "INC-1")
        for who in ("100001", "100002", "100003")
        for n in range(200)
    ]
    data_dir = write_extracts(date(2026, 11, 26), {ACCESS_FILE: rows})
    assert system_misuse.find_flags(data_dir) == []


def test_the_score_is_below_the_policy_minimum_at_the_threshold_and_rises() -> None:
    assert system_misuse.score_for(5) == 0.4
    assert system_misuse.score_for(10) < system_misuse.score_for(20) < 1

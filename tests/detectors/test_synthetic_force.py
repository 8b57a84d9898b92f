"""The synthetic force: deterministic, importable, a tree, and stable from one day to the next."""

import csv
import io
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest

from detectors.extracts import (
    ACCESS_FILE,
    OVERTIME_FILE,
    SICKNESS_FILE,
    WORKFORCE_COLUMNS,
    WORKFORCE_FILE,
    read_manifest,
)
from detectors.force_structure import build_structure, level_counts
from detectors.synthetic_force import write_force
from flags.workforce import COLUMNS, parse_workforce_csv

AS_OF = date(2026, 11, 26)
SMALL = 400


def files_of(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(directory.iterdir())}


def rows_of(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def force_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("force")
    write_force(directory, subjects=SMALL, seed=7, as_of=AS_OF)
    return directory


def test_the_same_seed_writes_identical_files(tmp_path: Path) -> None:
    write_force(tmp_path / "a", subjects=SMALL, seed=3, as_of=AS_OF)
    write_force(tmp_path / "b", subjects=SMALL, seed=3, as_of=AS_OF)
    first, second = files_of(tmp_path / "a"), files_of(tmp_path / "b")
    assert set(first) == {
        "access.csv",
        "complaints.csv",
        "ground_truth.csv",
        "manifest.json",
        "overtime.csv",
        "sickness.csv",
        "workforce.csv",
    }
    assert first == second


def test_a_different_seed_writes_a_different_force(tmp_path: Path) -> None:
    write_force(tmp_path / "a", subjects=SMALL, seed=3, as_of=AS_OF)
    write_force(tmp_path / "b", subjects=SMALL, seed=4, as_of=AS_OF)
    first, second = files_of(tmp_path / "a"), files_of(tmp_path / "b")
    for name in ("workforce.csv", "sickness.csv", "overtime.csv", "access.csv"):
        assert first[name] != second[name], name


def test_the_workforce_extract_passes_the_hr_import_check(force_dir: Path) -> None:
    assert WORKFORCE_COLUMNS == COLUMNS
    text = (force_dir / WORKFORCE_FILE).read_text(encoding="utf-8")
    rows = parse_workforce_csv(io.StringIO(text, newline=""))
    assert len(rows) == SMALL


def test_line_managers_form_one_tree_under_the_chief_constable(force_dir: Path) -> None:
    rows = rows_of(force_dir / WORKFORCE_FILE)
    manager_of = {row["staff_number"]: row["line_manager"] for row in rows}
    roots = [number for number, manager in manager_of.items() if not manager]
    assert len(roots) == 1
    assert next(row["rank"] for row in rows if row["staff_number"] == roots[0]) == (
        "chief_constable"
    )
    for number in manager_of:
        seen = {number}
        while manager_of[number]:
            number = manager_of[number]
            assert number in manager_of, f"manager {number} is not in the extract"
            assert number not in seen, f"the chain of command loops at {number}"
            seen.add(number)
        assert number == roots[0]


def test_constables_outnumber_every_other_rank_and_chief_officers_are_few(
    force_dir: Path,
) -> None:
    ranks = Counter(row["rank"] for row in rows_of(force_dir / WORKFORCE_FILE))
    officer_ranks = {rank: n for rank, n in ranks.items() if rank != "staff"}
    assert max(officer_ranks, key=officer_ranks.__getitem__) == "constable"
    assert ranks["sergeant"] > ranks["inspector"] > ranks.get("chief_inspector", 0)
    assert ranks["chief_constable"] == 1
    assert ranks["deputy_chief_constable"] == 1


def test_every_category_appears_and_some_equality_data_is_not_recorded(force_dir: Path) -> None:
    rows = rows_of(force_dir / WORKFORCE_FILE)
    assert {row["employment_type"] for row in rows} == {
        "officer",
        "staff",
        "pcso",
        "special_constable",
    }
    assert {row["working_pattern"] for row in rows} == {
        "full_time",
        "part_time",
        "compressed_hours",
        "job_share",
    }
    for field in ("sex", "ethnicity", "disability", "age_band", "long_term_sickness"):
        assert any(row[field] == "" for row in rows), f"no {field} is unrecorded"
        assert any(row[field] != "" for row in rows), f"every {field} is unrecorded"


@pytest.mark.parametrize(
    ("subjects", "expected"),
    # 300: 252 constables need 36 sergeants, 8 inspectors, 2 chief inspectors and a
    # superintendent (299 people); the one left over joins the front line.
    [(2, [2]), (3, [2, 1]), (9, [8, 1]), (50, [41, 6, 2, 1]), (300, [253, 36, 8, 2, 1])],
)
def test_level_counts_follow_spans_of_control_and_sum_to_the_headcount(
    subjects: int, expected: list[int]
) -> None:
    counts = level_counts(subjects, (7, 5, 4, 3, 3))
    assert counts == expected
    assert sum(counts) == subjects


def test_every_size_from_the_minimum_builds_exactly_that_many_posts() -> None:
    for subjects in (50, 51, 137, 999, 12_345):
        assert len(build_structure(subjects)) == subjects
    with pytest.raises(ValueError, match="at least 50"):
        build_structure(49)


def test_source_record_ids_are_unique_within_each_extract(force_dir: Path) -> None:
    for name, id_column in (
        (SICKNESS_FILE, "spell_id"),
        (OVERTIME_FILE, "claim_id"),
        (ACCESS_FILE, "event_id"),
    ):
        ids = [row[id_column] for row in rows_of(force_dir / name)]
        assert ids, name
        assert len(ids) == len(set(ids)), name


def test_a_later_extract_holds_each_earlier_record_unchanged(tmp_path: Path) -> None:
    """Scrutiny refuses an evidence record it holds with other contents, so the demo must send
    a record identically whichever day its extract was taken."""
    write_force(tmp_path / "early", subjects=SMALL, seed=5, as_of=AS_OF)
    write_force(tmp_path / "late", subjects=SMALL, seed=5, as_of=AS_OF + timedelta(days=9))
    for name, id_column in (
        (SICKNESS_FILE, "spell_id"),
        (OVERTIME_FILE, "claim_id"),
        (ACCESS_FILE, "event_id"),
    ):
        early = {row[id_column]: row for row in rows_of(tmp_path / "early" / name)}
        late = {row[id_column]: row for row in rows_of(tmp_path / "late" / name)}
        shared = early.keys() & late.keys()
        assert len(shared) > 0.9 * len(early), name
        assert all(early[key] == late[key] for key in shared), name
        assert late.keys() - early.keys(), f"{name}: the later extract adds no new days"


def test_the_manifest_records_the_extract_date_and_every_file(force_dir: Path) -> None:
    manifest = read_manifest(force_dir)
    assert (manifest.seed, manifest.subjects, manifest.as_of) == (7, SMALL, AS_OF)
    assert manifest.files[WORKFORCE_FILE]["rows"] == SMALL
    assert manifest.files[SICKNESS_FILE]["from"] == "2024-11-28"
    assert manifest.files[OVERTIME_FILE]["from"] == "2025-11-27"

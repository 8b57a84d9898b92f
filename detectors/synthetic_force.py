"""A synthetic police force and the source-system extracts a real one would hand its detectors.

The force is plausible rather than real: constables are the most numerous rank and chief officers
the fewest, every person has one line manager up to the chief constable (a tree), and units,
roles, working patterns, employment types and equality profiles follow the rough proportions of
forces in England and Wales. The extracts (sickness spells, overtime claims, look-ups in IT
systems, complaints) carry a few seeded patterns for the reference detectors to find, and one
known bias: disabled and part-time staff have more frequent short sickness spells, which the
Bradford factor punishes. A fairness report must be able to show that bias.

Everything comes from ``random.Random`` streams named by the seed, so a seed gives byte-identical
files. Activity streams are seeded per calendar month, not per run: a month's records, and their
ids, are the same whichever day the extract is taken, so re-running the demo later sends the same
evidence records with the same contents (Scrutiny refuses a held record with changed contents).

    python -m detectors.synthetic_force --subjects 3000 --seed 1 --out var/demo-force
"""

import argparse
import csv
import hashlib
import json
import math
import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from detectors.extracts import (
    ACCESS_COLUMNS,
    ACCESS_FILE,
    COMPLAINTS_COLUMNS,
    COMPLAINTS_FILE,
    GROUND_TRUTH_COLUMNS,
    GROUND_TRUTH_FILE,
    MANIFEST_FILE,
    OVERTIME_COLUMNS,
    OVERTIME_FILE,
    SICKNESS_COLUMNS,
    SICKNESS_FILE,
    WORKFORCE_COLUMNS,
    WORKFORCE_FILE,
    Manifest,
)
from detectors.force_people import Force, build_force, pick
from detectors.periods import months_overlapping, next_month

GENERATOR_VERSION = "1"
# Activity extracts cover the 365 days to the extract date. Sickness goes back two years, so that
# a rolling 52-week Bradford factor at any quarter end in the last year sees a full 52 weeks.
ACTIVITY_DAYS = 365
SICKNESS_DAYS = 365 + 364
# Spells are drawn from this many months before the sickness extract begins but not written, so
# that which spells overlap (and are dropped) does not depend on where the extract starts.
SICKNESS_BUFFER_MONTHS = 6
# Chance a month that someone on long-term sickness starts a long spell.
LONG_SPELL_MONTHLY = 0.04
# In an inflated month a person makes three times their usual claims, each half as long again.
INFLATED_CLAIM_FACTOR = 3.0
INFLATED_HOURS_FACTOR = 1.5

Row = tuple[str, ...]


def _stream(seed: int, name: str, month: date) -> random.Random:
    return random.Random(f"{seed}:{name}:{month:%Y-%m}")


def _poisson(random_: Callable[[], float], rate: float) -> int:
    """Knuth's method: fine for the small rates here, and uses only ``random()``."""
    if rate <= 0:
        return 0
    limit = math.exp(-rate)
    count, product = 0, random_()
    while product > limit:
        count += 1
        product *= random_()
    return count


def _days_in(month: date) -> int:
    return (next_month(month) - month).days


SHORT_SPELLS = ((1, 0.32), (2, 0.2), (3, 0.16), (4, 0.1), (5, 0.08), (6, 0.04), (7, 0.03),
                (9, 0.04), (14, 0.03))  # fmt: skip
SHORT_REASONS = (
    ("Cold or flu", 0.3),
    ("Gastrointestinal", 0.2),
    ("Headache or migraine", 0.1),
    ("Musculoskeletal", 0.15),
    ("Stress, anxiety or depression", 0.1),
    ("Other", 0.15),
)
LONG_REASONS = ("Musculoskeletal", "Stress, anxiety or depression", "Surgery and recovery",
                "Injury on duty")  # fmt: skip


def _sickness_rows(force: Force, first: date, last: date) -> Iterator[Row]:
    """Closed sickness spells that start in [first, last]; a person's spells never overlap."""
    months = months_overlapping(first, last)
    buffer_start = months[0]
    for _ in range(SICKNESS_BUFFER_MONTHS):
        buffer_start = (buffer_start - timedelta(days=1)).replace(day=1)
    busy_until: dict[int, date] = {}
    lengths = [days for days, _ in SHORT_SPELLS]
    length_weights = [weight for _, weight in SHORT_SPELLS]
    for month in months_overlapping(buffer_start, last):
        rng = _stream(force.seed, "sickness", month)
        days = _days_in(month)
        seq = 0
        for i, traits in enumerate(force.traits):
            spells = []
            for _ in range(_poisson(rng.random, traits.sickness_rate)):
                length = rng.choices(lengths, length_weights)[0]
                spells.append((int(rng.random() * days), length, pick(rng, SHORT_REASONS)))
            if traits.long_term_sick and rng.random() < LONG_SPELL_MONTHLY:
                spells.append(
                    (
                        int(rng.random() * days),
                        28 + int(rng.random() * 93),
                        rng.choice(LONG_REASONS),
                    )
                )
            for offset, length, reason in spells:
                seq += 1  # ids follow the draw, so dropping a spell renumbers nothing
                spell_id = f"ABS-{month:%Y%m}-{seq:06d}"
                start = month + timedelta(days=offset)
                end = start + timedelta(days=length - 1)
                if start <= busy_until.get(i, date.min):
                    continue
                busy_until[i] = end
                if first <= start and end <= last:
                    yield (
                        spell_id,
                        force.people[i].staff_number,
                        start.isoformat(),
                        end.isoformat(),
                        str(length),
                        reason,
                        "yes" if length <= 7 else "no",
                    )


OVERTIME_REASONS = (
    "Late arrest",
    "Prisoner handover",
    "Court attendance",
    "Event policing",
    "Minimum staffing cover",
    "Scene preservation",
    "Case file deadline",
    "Operation support",
)
REST_DAY_HOURS = (8.0, 8.0, 9.0, 10.0)
SHIFT_ENDS = (7, 15, 17, 23)


def _calendar(month: date, first: date, last: date) -> tuple[list[str], list[bool]]:
    """Each day of the month as ISO text, and whether it falls in [first, last]."""
    days = [month + timedelta(days=offset) for offset in range(_days_in(month))]
    return [day.isoformat() for day in days], [first <= day <= last for day in days]


def _overtime_rows(force: Force, first: date, last: date) -> Iterator[Row]:
    eligible = [i for i, traits in enumerate(force.traits) if traits.overtime_rate]
    for month in months_overlapping(first, last):
        rng = _stream(force.seed, "overtime", month)
        random_ = rng.random
        labels, wanted = _calendar(month, first, last)
        days = len(labels)
        prefix = f"OT-{month:%Y%m}-"
        seq = 0
        for i in eligible:
            traits = force.traits[i]
            inflated = traits.overtime_inflation > 0 and random_() < traits.overtime_inflation
            rate = traits.overtime_rate * (INFLATED_CLAIM_FACTOR if inflated else 1.0)
            person = force.people[i]
            for _ in range(_poisson(random_, rate)):
                seq += 1
                day = int(random_() * days)
                rest_day = random_() < (0.5 if inflated else 0.12)
                if rest_day:
                    hours, hour = REST_DAY_HOURS[int(random_() * 4)], 8
                else:
                    hours, hour = (2 + int(random_() * 15)) / 4, SHIFT_ENDS[int(random_() * 4)]
                if inflated:
                    hours = round(hours * INFLATED_HOURS_FACTOR * 4) / 4
                reason = OVERTIME_REASONS[int(random_() * len(OVERTIME_REASONS))]
                if wanted[day]:
                    yield (
                        f"{prefix}{seq:06d}",
                        person.staff_number,
                        labels[day],
                        f"{labels[day]}T{hour:02d}:00:00Z",
                        f"{hours:g}",
                        "rest_day" if rest_day else "shift_extension",
                        reason,
                        person.line_manager,
                    )


LOOKUPS = (
    ("PNC", "person", "PER", 0.35),
    ("PNC", "vehicle", "VEH", 0.25),
    ("RMS", "person", "PER", 0.15),
    ("RMS", "crime_report", "CRI", 0.12),
    ("RMS", "address", "ADR", 0.05),
    ("INTEL", "intelligence_report", "INT", 0.08),
)
MISUSE_HOURS = (19, 20, 21, 22, 23, 0, 1, 2, 10, 14)


def _access_rows(force: Force, first: date, last: date) -> Iterator[Row]:
    users = [i for i, traits in enumerate(force.traits) if traits.lookup_rate > 0]
    kinds = [kind[:3] for kind in LOOKUPS]
    kind_weights = [kind[3] for kind in LOOKUPS]
    for month in months_overlapping(first, last):
        rng = _stream(force.seed, "access", month)
        random_ = rng.random
        labels, wanted = _calendar(month, first, last)
        days = len(labels)
        tasks = [f"INC-{label[2:4]}{label[5:7]}{label[8:10]}" for label in labels]
        prefix = f"ACC-{month:%Y%m}-"
        seq = 0
        for i in users:
            traits = force.traits[i]
            staff_number = force.people[i].staff_number
            count = _poisson(random_, traits.lookup_rate)
            for system, record_type, kind in rng.choices(kinds, kind_weights, k=count):
                seq += 1
                day = int(random_() * days)
                linked = random_() >= traits.unlinked_share
                task = f"{tasks[day]}-{1 + int(random_() * 2000):04d}" if linked else ""
                hour, minute, second = 7 + int(random_() * 15), random_(), random_()
                ref = int(random_() * 10_000_000)
                if wanted[day]:
                    yield (
                        f"{prefix}{seq:07d}",
                        staff_number,
                        f"{labels[day]}T{hour:02d}:{int(minute * 60):02d}:{int(second * 60):02d}Z",
                        system,
                        record_type,
                        f"{kind}-{ref:07d}",
                        task,
                    )
            if traits.misuse_activity and random_() < traits.misuse_activity:
                # A misuser keeps coming back to the same few people, mostly off shift.
                for _ in range(_poisson(random_, traits.misuse_rate)):
                    seq += 1
                    day = int(random_() * days)
                    target = (int(staff_number) * 7919 + int(random_() * 3)) % 10_000_000
                    hour = MISUSE_HOURS[int(random_() * len(MISUSE_HOURS))]
                    minute, second = random_(), random_()
                    system = "PNC" if random_() < 0.6 else "RMS"
                    if wanted[day]:
                        yield (
                            f"{prefix}{seq:07d}",
                            staff_number,
                            f"{labels[day]}T{hour:02d}:{int(minute * 60):02d}:"
                            f"{int(second * 60):02d}Z",
                            system,
                            "person",
                            f"PER-{target:07d}",
                            "",
                        )


ALLEGATIONS = (
    ("Discourtesy", 0.3),
    ("Neglect of duty", 0.25),
    ("Use of force", 0.15),
    ("Discriminatory behaviour", 0.08),
    ("Improper disclosure of information", 0.05),
    ("Other", 0.17),
)
COMPLAINT_OUTCOMES = (
    ("No further action", 0.45),
    ("Service level", 0.25),
    ("Reflective practice", 0.15),
    ("Under investigation", 0.15),
)


def _complaint_rows(force: Force, first: date, last: date) -> Iterator[Row]:
    subjects = [i for i, traits in enumerate(force.traits) if traits.complaint_rate]
    for month in months_overlapping(first, last):
        rng = _stream(force.seed, "complaints", month)
        days = _days_in(month)
        seq = 0
        for i in subjects:
            for _ in range(_poisson(rng.random, force.traits[i].complaint_rate)):
                seq += 1
                received = month + timedelta(days=int(rng.random() * days))
                row = (
                    f"CMP-{month:%Y%m}-{seq:05d}",
                    force.people[i].staff_number,
                    received.isoformat(),
                    pick(rng, ALLEGATIONS),
                    "public" if rng.random() < 0.85 else "internal",
                    pick(rng, COMPLAINT_OUTCOMES),
                )
                if first <= received <= last:
                    yield row


def _write_csv(path: Path, columns: Sequence[str], rows: Iterable[Row]) -> int:
    count = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow(row)
            count += 1
    return count


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_force(data_dir: Path, *, subjects: int, seed: int, as_of: date) -> Manifest:
    """Build the force and write its extracts, as they stood on ``as_of``, into ``data_dir``.

    The same arguments always give byte-identical files. Other files in the directory (such as
    the demo's detector tokens) are left alone.
    """
    force = build_force(subjects, seed)
    data_dir.mkdir(parents=True, exist_ok=True)
    activity_from = as_of - timedelta(days=ACTIVITY_DAYS - 1)
    sickness_from = as_of - timedelta(days=SICKNESS_DAYS - 1)
    people = sorted(force.people, key=lambda person: person.staff_number)
    truth = sorted(
        (person.staff_number, traits.seeded_pattern)
        for person, traits in zip(force.people, force.traits, strict=True)
        if traits.seeded_pattern
    )
    extracts: list[tuple[str, Sequence[str], Iterable[Row], date]] = [
        (WORKFORCE_FILE, WORKFORCE_COLUMNS, (person.row() for person in people), as_of),
        (SICKNESS_FILE, SICKNESS_COLUMNS, _sickness_rows(force, sickness_from, as_of),
         sickness_from),
        (OVERTIME_FILE, OVERTIME_COLUMNS, _overtime_rows(force, activity_from, as_of),
         activity_from),
        (ACCESS_FILE, ACCESS_COLUMNS, _access_rows(force, activity_from, as_of), activity_from),
        (COMPLAINTS_FILE, COMPLAINTS_COLUMNS, _complaint_rows(force, activity_from, as_of),
         activity_from),
        (GROUND_TRUTH_FILE, GROUND_TRUTH_COLUMNS, truth, as_of),
    ]  # fmt: skip
    files: dict[str, dict[str, Any]] = {}
    for name, columns, rows, covers_from in extracts:
        path = data_dir / name
        count = _write_csv(path, columns, rows)
        files[name] = {
            "rows": count,
            "sha256": _sha256(path),
            "from": covers_from.isoformat(),
            "to": as_of.isoformat(),
        }
    manifest = Manifest(seed=seed, subjects=subjects, as_of=as_of, files=files)
    body = {
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "subjects": subjects,
        "as_of": as_of.isoformat(),
        "files": files,
    }
    (data_dir / MANIFEST_FILE).write_text(
        json.dumps(body, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    return manifest


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write a synthetic force's source extracts.")
    parser.add_argument("--subjects", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("var/demo-force"))
    parser.add_argument(
        "--as-of",
        type=date.fromisoformat,
        default=None,
        help="the extract date, YYYY-MM-DD (default: today)",
    )
    args = parser.parse_args(argv)
    as_of = args.as_of or date.today()  # noqa: DTZ011 - a calendar date is what is meant
    manifest = write_force(args.out, subjects=args.subjects, seed=args.seed, as_of=as_of)
    for name, facts in sorted(manifest.files.items()):
        print(f"{name:<18} {facts['rows']:>10,} rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

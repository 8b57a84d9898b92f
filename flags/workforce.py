"""Loading the workforce register from an HR extract (CSV).

The whole file is checked before anything is written: a bad row is reported with its line number
and reason, and nothing of a failing file is applied. A file may hold part of the workforce:
subjects it does not mention are left as they are.
"""

import csv
import hashlib
import io
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from audit import log
from audit.actors import Actor
from flags import audit_actions
from flags.models import (
    AgeBand,
    EmploymentType,
    EqualityProfile,
    Ethnicity,
    Rank,
    Sex,
    Subject,
    WorkingPattern,
    YesNo,
)

SUBJECT_FIELDS = ("name", "rank", "role", "unit", "working_pattern", "employment_type")
EQUALITY_FIELDS = ("sex", "ethnicity", "disability", "age_band", "long_term_sickness")
COLUMNS = (
    "staff_number",
    *SUBJECT_FIELDS[:4],
    "line_manager",
    *SUBJECT_FIELDS[4:],
    *EQUALITY_FIELDS,
)

# Allowed values per coded column. Equality columns may also be empty, meaning not recorded.
CHOICES: dict[str, list[str]] = {
    "rank": list(Rank.values),
    "working_pattern": list(WorkingPattern.values),
    "employment_type": list(EmploymentType.values),
    "sex": list(Sex.values),
    "ethnicity": list(Ethnicity.values),
    "disability": list(YesNo.values),
    "age_band": list(AgeBand.values),
    "long_term_sickness": list(YesNo.values),
}
MAX_LENGTH = {"staff_number": 20, "name": 200, "role": 100, "unit": 100}


@dataclass(frozen=True)
class WorkforceRow:
    line: int
    staff_number: str
    name: str
    rank: str
    role: str
    unit: str
    line_manager: str
    working_pattern: str
    employment_type: str
    sex: str
    ethnicity: str
    disability: str
    age_band: str
    long_term_sickness: str


class WorkforceImportError(ValueError):
    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        shown = "\n".join(errors[:50])
        more = f"\n... and {len(errors) - 50} more" if len(errors) > 50 else ""
        super().__init__(f"The file was not applied: {len(errors)} problem(s).\n{shown}{more}")


class WorkforceFileError(ValueError):
    """The file itself cannot be read as text."""


@dataclass(frozen=True)
class ImportSummary:
    rows: int
    created: int
    updated: int
    unchanged: int
    equality_recorded: int


def _check_value(column: str, value: str) -> str | None:
    if column in EQUALITY_FIELDS and value == "":
        return None
    if column in CHOICES and value not in CHOICES[column]:
        return f"{column} {value!r} is not one of: {', '.join(CHOICES[column])}"
    if column in MAX_LENGTH and len(value) > MAX_LENGTH[column]:
        return f"{column} is longer than {MAX_LENGTH[column]} characters"
    if column in ("staff_number", *SUBJECT_FIELDS) and value == "":
        return f"{column} is empty"
    return None


def parse_workforce_csv(stream: IO[str]) -> list[WorkforceRow]:
    """Read and check an extract; raise WorkforceImportError listing every problem found."""
    # restval None marks a column a short row has no value for: it cannot pass for "".
    reader = csv.DictReader(stream, restval=None)
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [column for column in COLUMNS if column not in header]
    if missing:
        raise WorkforceImportError([f"line 1: the header lacks column(s): {', '.join(missing)}"])
    reader.fieldnames = header
    rows: list[WorkforceRow] = []
    errors: list[str] = []
    first_line: dict[str, int] = {}
    try:
        for record in reader:
            line = reader.line_num
            if None in record:
                errors.append(f"line {line}: more values than header columns")
                continue
            if any(value is None for value in record.values()):
                errors.append(f"line {line}: fewer values than header columns")
                continue
            values = {column: (record.get(column) or "").strip() for column in COLUMNS}
            problems = [p for c, v in values.items() if (p := _check_value(c, v))]
            number = values["staff_number"]
            if number and number in first_line:
                problems.append(f"staff number {number} also appears on line {first_line[number]}")
            first_line.setdefault(number, line)
            if number and values["line_manager"] == number:
                problems.append("line_manager is the subject themselves")
            errors += [f"line {line}: {problem}" for problem in problems]
            rows.append(WorkforceRow(line=line, **values))
    except (csv.Error, UnicodeDecodeError) as exc:
        errors.append(f"line {reader.line_num}: the file is not readable CSV ({exc})")
    if not rows and not errors:
        errors.append("the file holds a header but no rows")
    if errors:
        raise WorkforceImportError(errors)
    return rows


def _check_managers(rows: list[WorkforceRow], held: dict[str, Subject]) -> None:
    in_file = {row.staff_number: row for row in rows}
    errors = [
        f"line {row.line}: line_manager {row.line_manager} is neither in this file nor in the "
        "workforce register"
        for row in rows
        if row.line_manager and row.line_manager not in in_file and row.line_manager not in held
    ]
    if errors:
        raise WorkforceImportError(errors)
    manager_of = {
        number: s.line_manager.staff_number for number, s in held.items() if s.line_manager
    }
    manager_of.update({row.staff_number: row.line_manager for row in rows if row.line_manager})
    for row in rows:
        seen = {row.staff_number}
        number = manager_of.get(row.staff_number)
        while number:
            if number in seen:
                raise WorkforceImportError(
                    [f"line {row.line}: the chain of command above {row.staff_number} loops back"]
                )
            seen.add(number)
            number = manager_of.get(number)


def _layers(rows: list[WorkforceRow], held: set[str]) -> list[list[WorkforceRow]]:
    """New subjects in order, managers before the people they manage (no forward references)."""
    placed = set(held)
    remaining = [row for row in rows if row.staff_number not in held]
    layers = []
    while remaining:
        layer = [row for row in remaining if not row.line_manager or row.line_manager in placed]
        placed |= {row.staff_number for row in layer}
        remaining = [row for row in remaining if row.staff_number not in placed]
        layers.append(layer)
    return layers


def file_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_workforce_file(path: Path) -> tuple[list[WorkforceRow], str]:
    """Read and check an extract file: its rows, and the file's SHA-256 for the audit log.

    UTF-8, with or without the byte-order mark spreadsheet programs write.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise WorkforceFileError(f"Cannot read {path}: {exc.strerror}") from exc
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise WorkforceFileError(f"{path} is not UTF-8 text: {exc}") from exc
    return parse_workforce_csv(io.StringIO(text, newline="")), file_sha256(data)


def import_workforce(
    rows: list[WorkforceRow], *, actor: Actor, source: str, source_sha256: str
) -> ImportSummary:
    """Create or update subjects and their equality profiles from checked rows.

    Called by an administrator (``import_workforce``) or by ``seed_demo``. All or nothing: one
    transaction, with history rows naming the actor and an audit event per subject changed.
    """
    with transaction.atomic():
        # Locked in id order, as ingest locks them, so an import and an ingest cannot deadlock
        # or lose each other's updates.
        held = {
            s.staff_number: s
            for s in Subject.objects.select_related("line_manager")
            .select_for_update(of=("self",))
            .order_by("pk")
        }
        _check_managers(rows, held)
        now = timezone.now()
        reason = f"workforce import from {source}"
        entries: list[log.Entry] = []
        created = _create_subjects(rows, held, actor=actor, now=now, reason=reason)
        entries += [
            log.Entry(audit_actions.SUBJECT_CREATED, s, {"staff_number": s.staff_number}, reason)
            for s in created
        ]
        updated = _update_subjects(rows, held, created, actor=actor, now=now, reason=reason)
        entries += [
            log.Entry(audit_actions.SUBJECT_UPDATED, s, data, reason) for s, data in updated
        ]
        profiles = _record_equality(rows, held, actor=actor, now=now, reason=reason)
        entries += [
            log.Entry(
                audit_actions.EQUALITY_PROFILE_RECORDED,
                p,
                {"subject": p.subject_id, "fields": f},
                reason,
            )
            for p, f in profiles
        ]
        # A subject whose only change is their equality profile was updated too.
        staff_of = {subject.pk: number for number, subject in held.items()}
        new = {subject.staff_number for subject in created}
        touched = {subject.staff_number for subject, _ in updated}
        touched |= {staff_of[profile.subject_id] for profile, _ in profiles}
        summary = ImportSummary(
            rows=len(rows),
            created=len(new),
            updated=len(touched - new),
            unchanged=len(rows) - len(new | touched),
            equality_recorded=len(profiles),
        )
        entries.append(
            log.Entry(
                audit_actions.WORKFORCE_IMPORTED,
                ("workforce.extract", source_sha256[:16]),
                {"source_sha256": source_sha256, **summary.__dict__},
                reason,
            )
        )
        log.record_many(entries, actor=actor)
    return summary


def _create_subjects(
    rows: list[WorkforceRow], held: dict[str, Subject], *, actor: Actor, now: object, reason: str
) -> list[Subject]:
    created: list[Subject] = []
    for layer in _layers(rows, set(held)):
        subjects = bulk_create_with_history(
            [
                Subject(
                    staff_number=row.staff_number,
                    line_manager_id=held[row.line_manager].pk if row.line_manager else None,
                    **{name: getattr(row, name) for name in SUBJECT_FIELDS},
                )
                for row in layer
            ],
            Subject,
            batch_size=2000,
            default_user=actor.user,
            default_change_reason=reason,
            default_date=now,
        )
        for subject in subjects:
            held[subject.staff_number] = subject
        created += subjects
    return created


def _update_subjects(
    rows: Iterable[WorkforceRow],
    held: dict[str, Subject],
    created: list[Subject],
    *,
    actor: Actor,
    now: object,
    reason: str,
) -> list[tuple[Subject, dict[str, object]]]:
    fresh = {s.staff_number for s in created}
    changed: list[tuple[Subject, dict[str, object]]] = []
    for row in rows:
        if row.staff_number in fresh:
            continue
        subject = held[row.staff_number]
        manager_id = held[row.line_manager].pk if row.line_manager else None
        diff: dict[str, object] = {}
        for name in SUBJECT_FIELDS:
            old, new = getattr(subject, name), getattr(row, name)
            if old != new:
                # Names are personal data: the audit log says that one changed, not to what.
                diff[name] = "changed" if name == "name" else [old, new]
                setattr(subject, name, new)
        if subject.line_manager_id != manager_id:
            diff["line_manager"] = [subject.line_manager_id, manager_id]
            subject.line_manager_id = manager_id
        if not subject.active:
            diff["active"] = [False, True]
            subject.active = True
        if diff:
            changed.append((subject, {"staff_number": subject.staff_number, "changed": diff}))
    if changed:
        changed.sort(key=lambda pair: pair[0].pk)
        bulk_update_with_history(
            [subject for subject, _ in changed],
            Subject,
            [*SUBJECT_FIELDS, "line_manager", "active"],
            batch_size=2000,
            default_user=actor.user,
            default_change_reason=reason,
            default_date=now,
        )
    return changed


def _record_equality(
    rows: Iterable[WorkforceRow],
    held: dict[str, Subject],
    *,
    actor: Actor,
    now: object,
    reason: str,
) -> list[tuple[EqualityProfile, list[str]]]:
    profiles = {p.subject_id: p for p in EqualityProfile.objects.all()}
    new: list[EqualityProfile] = []
    changed: list[tuple[EqualityProfile, list[str]]] = []
    for row in rows:
        wanted = {name: getattr(row, name) or "not_recorded" for name in EQUALITY_FIELDS}
        subject = held[row.staff_number]
        profile = profiles.get(subject.pk)
        if profile is None:
            new.append(EqualityProfile(subject=subject, **wanted))
            continue
        # Only the names of changed fields reach the audit log: the values are protected data.
        diff = [name for name, value in wanted.items() if getattr(profile, name) != value]
        for name in diff:
            setattr(profile, name, wanted[name])
        if diff:
            changed.append((profile, diff))
    created = bulk_create_with_history(
        new,
        EqualityProfile,
        batch_size=2000,
        default_user=actor.user,
        default_change_reason=reason,
        default_date=now,
    )
    if changed:
        bulk_update_with_history(
            [profile for profile, _ in changed],
            EqualityProfile,
            list(EQUALITY_FIELDS),
            batch_size=2000,
            default_user=actor.user,
            default_change_reason=reason,
            default_date=now,
        )
    return [(p, list(EQUALITY_FIELDS)) for p in created] + changed

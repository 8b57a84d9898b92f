"""flags.workforce and the import_workforce command: the HR extract is all or nothing."""

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from audit.actors import SYSTEM_USERNAME, Actor, Role, command_actor
from flags.models import EqualityProfile, Subject
from flags.workforce import (
    COLUMNS,
    WorkforceImportError,
    file_sha256,
    import_workforce,
    parse_workforce_csv,
)
from tests.db_writes import AuditTail, row_counts
from tests.factories import EqualityProfileFactory, InactiveSubjectFactory, SubjectFactory

pytestmark = pytest.mark.django_db

HEADER = ",".join(COLUMNS)


def row(staff_number: str, line_manager: str = "", **fields: str) -> str:
    values = {
        "staff_number": staff_number,
        "name": f"Person {staff_number}",
        "rank": "constable",
        "role": "Response officer",
        "unit": "North Response",
        "line_manager": line_manager,
        "working_pattern": "full_time",
        "employment_type": "officer",
        "sex": "female",
        "ethnicity": "white",
        "disability": "no",
        "age_band": "25_34",
        "long_term_sickness": "no",
        **fields,
    }
    return ",".join(values[column] for column in COLUMNS)


def csv_text(*rows: str, header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


@pytest.fixture
def write_csv(tmp_path: Path) -> Any:
    def write(text: str | bytes, name: str = "hr.csv") -> Path:
        path = tmp_path / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path

    return write


def run_import(path: Path, actor: str | None = "admin.one") -> str:
    out = io.StringIO()
    args = [str(path)] + (["--actor", actor] if actor else [])
    call_command("import_workforce", *args, stdout=out)
    return out.getvalue()


# --- a valid file --------------------------------------------------------------------------------


def test_a_valid_file_creates_subjects_managers_and_equality_profiles(
    admin_actor: Actor, write_csv: Any
) -> None:
    path = write_csv(
        csv_text(
            row("1003", line_manager="1002", sex="", ethnicity="", disability=""),
            row("1002", line_manager="1001", rank="sergeant"),
            row("1001", rank="inspector", age_band="", long_term_sickness=""),
        )
    )
    tail = AuditTail()

    out = run_import(path)

    assert out == "Applied hr.csv: 3 rows; 3 created, 0 updated, 0 unchanged.\n"
    subjects = {s.staff_number: s for s in Subject.objects.select_related("line_manager")}
    assert set(subjects) == {"1001", "1002", "1003"}
    assert subjects["1001"].line_manager is None
    assert subjects["1002"].line_manager == subjects["1001"]
    assert subjects["1003"].line_manager == subjects["1002"]
    first = subjects["1003"]
    assert (first.name, first.rank, first.role, first.unit) == (
        "Person 1003",
        "constable",
        "Response officer",
        "North Response",
    )
    assert (first.working_pattern, first.employment_type, first.active) == (
        "full_time",
        "officer",
        True,
    )
    assert subjects["1001"].rank == "inspector"

    profile = EqualityProfile.objects.get(subject=first)
    assert (profile.sex, profile.ethnicity, profile.disability) == ("not_recorded",) * 3
    assert (profile.age_band, profile.long_term_sickness) == ("25_34", "no")
    manager_profile = EqualityProfile.objects.get(subject=subjects["1001"])
    assert (manager_profile.age_band, manager_profile.long_term_sickness) == (
        "not_recorded",
        "not_recorded",
    )

    actions = tail.actions()
    assert sorted(a for a in actions if a[0] == "subject.created") == sorted(
        ("subject.created", "flags.subject", str(s.pk)) for s in subjects.values()
    )
    assert sorted(a for a in actions if a[0] == "equality_profile.recorded") == sorted(
        ("equality_profile.recorded", "flags.equalityprofile", str(p.pk))
        for p in EqualityProfile.objects.all()
    )
    sha = file_sha256(path.read_bytes())
    assert actions[-1] == ("workforce.imported", "workforce.extract", sha[:16])
    assert len(actions) == 7
    imported = tail.events()[-1]
    assert imported.data == {
        "source_sha256": sha,
        "rows": 3,
        "created": 3,
        "updated": 0,
        "unchanged": 0,
        "equality_recorded": 3,
    }
    assert {(e.actor_username, e.actor_role) for e in tail.events()} == {
        ("admin.one", Role.ADMINISTRATOR)
    }


def test_the_audit_log_names_changed_equality_fields_never_their_values(
    admin_actor: Actor, write_csv: Any
) -> None:
    run_import(write_csv(csv_text(row("1001"))))
    tail = AuditTail()

    run_import(write_csv(csv_text(row("1001", ethnicity="asian", disability="yes"))))

    profile = EqualityProfile.objects.get()
    assert (profile.ethnicity, profile.disability) == ("asian", "yes")
    recorded = [e for e in tail.events() if e.action == "equality_profile.recorded"]
    assert [e.data for e in recorded] == [
        {"subject": profile.subject_id, "fields": ["ethnicity", "disability"]}
    ]
    assert "asian" not in str([e.data for e in tail.events()])


def test_re_importing_an_unchanged_file_writes_no_history(
    admin_actor: Actor, write_csv: Any
) -> None:
    path = write_csv(csv_text(row("1001"), row("1002", line_manager="1001")))
    run_import(path)
    before = row_counts()
    tail = AuditTail()

    out = run_import(path)

    assert out == "Applied hr.csv: 2 rows; 0 created, 0 updated, 2 unchanged.\n"
    after = row_counts()
    assert after == {**before, "audit.AuditEvent": before["audit.AuditEvent"] + 1}
    assert tail.actions() == [
        ("workforce.imported", "workforce.extract", file_sha256(path.read_bytes())[:16])
    ]


def test_a_changed_rank_writes_one_history_row_and_one_audit_event(
    admin_actor: Actor, write_csv: Any
) -> None:
    run_import(write_csv(csv_text(row("1001"), row("1002"))))
    subject = Subject.objects.get(staff_number="1002")
    history_before = subject.history.count()
    tail = AuditTail()

    out = run_import(write_csv(csv_text(row("1001"), row("1002", rank="sergeant"))))

    assert out == "Applied hr.csv: 2 rows; 0 created, 1 updated, 1 unchanged.\n"
    subject.refresh_from_db()
    assert subject.rank == "sergeant"
    assert subject.history.count() == history_before + 1
    latest = subject.history.latest("history_id")
    assert (latest.history_type, latest.history_user, latest.rank) == (
        "~",
        admin_actor.user,
        "sergeant",
    )
    assert latest.history_change_reason == "workforce import from hr.csv"
    assert tail.actions()[:1] == [("subject.updated", "flags.subject", str(subject.pk))]
    assert tail.events()[0].data == {
        "staff_number": "1002",
        "changed": {"rank": ["constable", "sergeant"]},
    }
    assert [a[0] for a in tail.actions()] == ["subject.updated", "workforce.imported"]


def test_a_changed_name_is_audited_without_the_name(admin_actor: Actor, write_csv: Any) -> None:
    run_import(write_csv(csv_text(row("1001"))))
    tail = AuditTail()

    run_import(write_csv(csv_text(row("1001", name="Alex Newname"))))

    assert tail.events()[0].data == {"staff_number": "1001", "changed": {"name": "changed"}}
    assert "Newname" not in str([e.data for e in tail.events()])


def test_a_changed_line_manager_and_a_returning_subject_are_audited(
    admin_actor: Actor, write_csv: Any
) -> None:
    manager = SubjectFactory.create(staff_number="1001", name="Person 1001")
    leaver = InactiveSubjectFactory.create(staff_number="1002", name="Person 1002")
    tail = AuditTail()

    run_import(write_csv(csv_text(row("1001"), row("1002", line_manager="1001"))))

    leaver.refresh_from_db()
    assert (leaver.active, leaver.line_manager) == (True, manager)
    updated = [e.data for e in tail.events() if e.action == "subject.updated"]
    assert updated == [
        {
            "staff_number": "1002",
            "changed": {"line_manager": [None, manager.pk], "active": [False, True]},
        }
    ]


def test_subjects_missing_from_the_file_are_left_as_they_are(
    admin_actor: Actor, write_csv: Any
) -> None:
    untouched = SubjectFactory.create(staff_number="9999", rank="inspector")

    run_import(write_csv(csv_text(row("1001", line_manager="9999"))))

    untouched.refresh_from_db()
    assert (untouched.rank, untouched.active) == ("inspector", True)
    assert Subject.objects.get(staff_number="1001").line_manager == untouched


def test_an_existing_subject_without_a_profile_gets_one(admin_actor: Actor, write_csv: Any) -> None:
    subject = SubjectFactory.create(staff_number="1001", name="Person 1001")
    EqualityProfileFactory.create(subject=SubjectFactory.create(staff_number="1002"))

    run_import(write_csv(csv_text(row("1001", sex="male"))))

    assert EqualityProfile.objects.get(subject=subject).sex == "male"


def test_without_an_actor_the_import_is_the_systems(db: Any, write_csv: Any) -> None:
    run_import(write_csv(csv_text(row("1001"))), actor=None)

    assert Subject.history.get().history_user.username == SYSTEM_USERNAME


def test_a_utf8_file_with_a_byte_order_mark_is_read(admin_actor: Actor, write_csv: Any) -> None:
    path = write_csv(("\ufeff" + csv_text(row("1001", name="Siân Ó Briain"))).encode("utf-8"))

    run_import(path)

    assert Subject.objects.get(staff_number="1001").name == "Siân Ó Briain"


# --- a failing file applies nothing --------------------------------------------------------------

BAD_FILES = {
    "bad rank": (
        csv_text(row("1001"), row("1002", rank="general")),
        [
            "line 3: rank 'general' is not one of: constable, sergeant, inspector, "
            "chief_inspector, superintendent, chief_superintendent, assistant_chief_constable, "
            "deputy_chief_constable, chief_constable, staff"
        ],
    ),
    "bad equality value": (
        csv_text(row("1001", disability="maybe")),
        ["line 2: disability 'maybe' is not one of: yes, no, prefer_not_to_say, not_recorded"],
    ),
    "missing column": (
        csv_text(row("1001"), header=HEADER.replace(",unit", "")),
        ["line 1: the header lacks column(s): unit"],
    ),
    "duplicate staff number": (
        csv_text(row("1001"), row("1002"), row("1001")),
        ["line 4: staff number 1001 also appears on line 2"],
    ),
    "unknown line manager": (
        csv_text(row("1001", line_manager="7777")),
        [
            "line 2: line_manager 7777 is neither in this file nor in the workforce register",
        ],
    ),
    "self-managed": (
        csv_text(row("1001", line_manager="1001")),
        ["line 2: line_manager is the subject themselves"],
    ),
    "manager cycle": (
        csv_text(
            row("1001", line_manager="1003"),
            row("1002", line_manager="1001"),
            row("1003", line_manager="1002"),
        ),
        ["line 2: the chain of command above 1001 loops back"],
    ),
    "too many values": (
        csv_text(row("1001"), row("1002") + ",extra"),
        ["line 3: more values than header columns"],
    ),
    "empty name": (csv_text(row("1001", name="")), ["line 2: name is empty"]),
    "staff number too long": (
        csv_text(row("1" * 21)),
        ["line 2: staff_number is longer than 20 characters"],
    ),
    "header only": (csv_text(), ["the file holds a header but no rows"]),
    "several problems": (
        csv_text(row("1001", rank="general"), row("1002", working_pattern="nights")),
        [
            "line 2: rank 'general' is not one of: constable, sergeant, inspector, "
            "chief_inspector, superintendent, chief_superintendent, assistant_chief_constable, "
            "deputy_chief_constable, chief_constable, staff",
            "line 3: working_pattern 'nights' is not one of: full_time, part_time, "
            "compressed_hours, job_share",
        ],
    ),
}


@pytest.mark.parametrize(("text", "problems"), list(BAD_FILES.values()), ids=list(BAD_FILES))
def test_a_bad_file_reports_every_problem_by_line_and_applies_nothing(
    admin_actor: Actor, write_csv: Any, text: str, problems: list[str]
) -> None:
    SubjectFactory.create(staff_number="1002", rank="inspector")  # would change if applied
    before = row_counts()

    with pytest.raises(CommandError) as refused:
        run_import(write_csv(text))

    assert str(refused.value) == (
        f"The file was not applied: {len(problems)} problem(s).\n" + "\n".join(problems)
    )
    assert row_counts() == before
    assert Subject.objects.get(staff_number="1002").rank == "inspector"


def test_a_row_with_too_few_values_is_refused(admin_actor: Actor, write_csv: Any) -> None:
    run_import(write_csv(csv_text(row("1001", sex="female"))))
    truncated = ",".join(row("1001", sex="female").split(",")[: COLUMNS.index("sex")])
    before = row_counts()

    with pytest.raises(CommandError) as refused:
        run_import(write_csv(csv_text(truncated)))

    assert "line 2: fewer values than header columns" in str(refused.value)
    assert row_counts() == before
    assert EqualityProfile.objects.get().sex == "female"


def test_a_cycle_through_the_register_is_refused(admin_actor: Actor, write_csv: Any) -> None:
    boss = SubjectFactory.create(staff_number="1001")
    SubjectFactory.create(staff_number="1002", line_manager=boss)
    before = row_counts()

    with pytest.raises(CommandError) as refused:
        run_import(write_csv(csv_text(row("1001", line_manager="1002"))))

    assert "line 2: the chain of command above 1001 loops back" in str(refused.value)
    assert row_counts() == before


def test_a_file_that_is_not_utf8_is_refused_clearly(admin_actor: Actor, write_csv: Any) -> None:
    path = write_csv(csv_text(row("1001", name="Si\xe2n")).encode("latin-1"))
    before = row_counts()

    with pytest.raises(CommandError) as refused:
        run_import(path)

    assert str(refused.value).startswith(f"{path} is not UTF-8 text: ")
    assert row_counts() == before


def test_a_missing_file_is_refused_clearly(admin_actor: Actor, tmp_path: Path) -> None:
    with pytest.raises(CommandError) as refused:
        run_import(tmp_path / "absent.csv")

    assert str(refused.value) == f"Cannot read {tmp_path / 'absent.csv'}: No such file or directory"


def test_an_unknown_actor_is_refused(db: Any, write_csv: Any) -> None:
    with pytest.raises(CommandError) as refused:
        run_import(write_csv(csv_text(row("1001"))), actor="ghost")

    assert str(refused.value) == "No active user named 'ghost'."
    assert not Subject.objects.exists()


def test_more_than_fifty_problems_are_summarised(admin_actor: Actor) -> None:
    text = csv_text(*(row(str(2000 + n), rank="general") for n in range(60)))

    with pytest.raises(WorkforceImportError) as refused:
        parse_workforce_csv(io.StringIO(text))

    assert len(refused.value.errors) == 60
    assert str(refused.value).endswith("\n... and 10 more")


def test_import_workforce_refuses_rows_whose_manager_is_nowhere(admin_actor: Actor) -> None:
    rows = parse_workforce_csv(io.StringIO(csv_text(row("1001", line_manager="7777"))))
    before = row_counts()

    with pytest.raises(WorkforceImportError) as refused:
        import_workforce(rows, actor=admin_actor, source="api", source_sha256="0" * 64)

    assert refused.value.errors == [
        "line 2: line_manager 7777 is neither in this file nor in the workforce register"
    ]
    assert row_counts() == before


def test_a_change_to_the_equality_profile_alone_counts_as_an_update() -> None:
    header = (
        "staff_number,name,rank,role,unit,line_manager,working_pattern,employment_type,"
        "sex,ethnicity,disability,age_band,long_term_sickness\n"
    )
    row = "9001,A Person,constable,Response officer,North,,full_time,officer,female,,{},35_44,no\n"
    actor = command_actor(None)

    def apply(disability: str) -> Any:
        rows = parse_workforce_csv(io.StringIO(header + row.format(disability), newline=""))
        return import_workforce(rows, actor=actor, source="hr.csv", source_sha256="0" * 64)

    apply("no")
    summary = apply("yes")

    assert (summary.created, summary.updated, summary.unchanged) == (0, 1, 0)
    assert summary.equality_recorded == 1

"""``manage.py seed_demo_users``: a sign-in and an API token per role, kept from run to run."""

import hashlib
from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client, TestCase
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.roles import role_of
from accounts.services import set_password
from appeals import services
from appeals.models import ChallengeStatus, Remedy
from audit.actors import Actor, Role
from audit.models import AuditEvent
from casework.conflicts import check_conflict
from casework.models import Case, CaseStatus, Decision, Notification, NotificationKind
from casework.outcomes import LEADS, OutcomeClass, outcome_counts
from demo.conclusions import MIN_OPEN
from demo.management.commands.seed_demo_users import (
    DEMO_DETECTOR_SLUG,
    DEMO_USERS,
    SignIn,
    read_sign_ins,
)
from flags.models import Category, EvidenceRecord, EvidenceStatus, Flag, FlagStatus, Subject
from reports.models import Report, ReportKind, ReportStatus
from tests.factories import CaseFactory, FlagFactory, InactiveSubjectFactory, SubjectFactory
from tokens.models import ApiToken, TokenKind
from tokens.services import live_token_with_prefix, revoke_token

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def demo_mode(settings: Any, frozen_today: Any) -> None:
    """As ``make demo`` runs it: DEBUG on, and a new case's notice due at once."""
    settings.DEBUG = True
    settings.SUBJECT_NOTICE_DELAY_HOURS = 0


@pytest.fixture(autouse=True)
def private_root(settings: Any, tmp_path: Path) -> Path:
    """The reports the command leaves are stored here, not in the project's own var/."""
    settings.PRIVATE_FILES_ROOT = tmp_path / "private"
    return settings.PRIVATE_FILES_ROOT


@pytest.fixture
def register() -> Subject:
    """Professional Standards staff for the reviewers, someone in Human Resources for the data
    steward, and a person elsewhere with no case and no flag: the demo subject to be."""
    for n in range(4):
        SubjectFactory.create(unit="Professional Standards", staff_number=f"PS{n}")
    SubjectFactory.create(unit="Human Resources", staff_number="HR1")
    return SubjectFactory.create(unit="East Response", staff_number="ER1")


def the_subjects_case() -> Case:
    return Case.objects.get(subject__user__username="subject1")


def signed_in(username: str, password: str) -> Client:
    """A client signed in through the sign-in page, as a person would (django-axes watching)."""
    client = Client()
    response = client.post("/sign-in/", {"username": username, "password": password})
    assert response.status_code == 302, f"{username} cannot sign in"
    return client


def seed(users_file: Path) -> dict[str, SignIn]:
    call_command("seed_demo_users", "--users-file", str(users_file), stdout=StringIO())
    return read_sign_ins(users_file)


def test_every_role_gets_a_sign_in_and_a_working_api_token(
    tmp_path: Path, register: Subject
) -> None:
    users_file = tmp_path / "users"

    sign_ins = seed(users_file)

    assert users_file.stat().st_mode & 0o777 == 0o600
    assert [(s.role, s.username) for s in sign_ins.values()] == [
        (d.role.value, d.username) for d in DEMO_USERS
    ]
    assert {Role(s.role) for s in sign_ins.values()} >= {
        Role.SUBJECT,
        Role.REPRESENTATIVE,
        Role.ADMINISTRATOR,
    }
    for sign_in in sign_ins.values():
        user = get_user_model().objects.get(username=sign_in.username)
        assert role_of(user) == Role(sign_in.role)
        signed_in(sign_in.username, sign_in.password)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {sign_ins['reviewer1'].token}")
    assert api.get("/api/v1/cases/").status_code == 200
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {sign_ins['oversight1'].token}")
    assert api.get("/api/v1/cases/").status_code == 403
    reviewers = get_user_model().objects.filter(username__in=["reviewer1", "senior2"])
    assert all(user.subject.unit == "Professional Standards" for user in reviewers)


def test_the_subject_is_a_person_with_a_case_and_has_been_told_of_it(
    tmp_path: Path, register: Subject
) -> None:
    sign_ins = seed(tmp_path / "users")

    subject_user = get_user_model().objects.get(username="subject1")
    assert subject_user.subject == register
    case = the_subjects_case()
    assert case.status == CaseStatus.OPEN
    notice = Notification.objects.get(case=case, kind=NotificationKind.CASE_OPENED)
    assert notice.sent_at is not None
    assert AuditEvent.objects.filter(action="notification.sent", actor_role="system").exists()
    client = signed_in("subject1", sign_ins["subject1"].password)
    assert f"Case {case.pk}," in client.get("/notices/").content.decode()


def test_the_subjects_case_rests_on_two_demo_flags_each_on_a_record_of_its_own(
    tmp_path: Path, register: Subject
) -> None:
    seed(tmp_path / "users")

    case = the_subjects_case()
    flags = list(case.flags.order_by("external_id"))
    assert [flag.external_id for flag in flags] == [
        f"{DEMO_DETECTOR_SLUG}-ER1-1",
        f"{DEMO_DETECTOR_SLUG}-ER1-2",
    ]
    for flag in flags:
        assert flag.detector.slug == DEMO_DETECTOR_SLUG
        assert "demo set-up data" in flag.detector.name
        assert flag.detector.owner == "Scrutiny demo set-up"
        assert flag.category == Category.OVERTIME_FRAUD
        assert flag.score == 0.7
        assert flag.window_end < timezone.localdate()
        [record] = flag.evidence.all()
        assert record.record_id == f"DEMO-OT-ER1-{flag.external_id[-1]}"
        assert record.status == EvidenceStatus.AS_RECEIVED
    assert flags[0].evidence.get() != flags[1].evidence.get()
    # It posts in-process: the token its registration issued is revoked, and nobody holds one.
    tokens = ApiToken.objects.filter(user=flags[0].detector.user)
    assert tokens.count() == 1
    assert tokens.get().revoked_at is not None
    assert (
        AuditEvent.objects.filter(
            action="flag.received",
            actor_username=f"detector.{DEMO_DETECTOR_SLUG}",
            actor_role="detector",
        ).count()
        == 2
    )


@pytest.mark.parametrize(
    ("remedy", "record_status"),
    [(Remedy.WITHDRAWN, EvidenceStatus.WITHDRAWN), (Remedy.CORRECTED, EvidenceStatus.CORRECTED)],
    ids=["record withdrawn", "record corrected"],
)
def test_one_upheld_challenge_by_the_steward_withdraws_the_subjects_case(
    tmp_path: Path, register: Subject, remedy: str, record_status: str
) -> None:
    seed(tmp_path / "users")
    users = {user.username: user for user in get_user_model().objects.all()}
    case = the_subjects_case()
    challenged, kept = (flag.evidence.get() for flag in case.flags.order_by("external_id"))
    assert check_conflict(users["steward1"], register).passes
    correction = services.CorrectedContent(
        summary="Overtime claim: 10 hours (rest day), the annual leave that day cancelled",
        payload={**challenged.payload, "leave_cancelled": True},
        occurred_at=challenged.occurred_at,
    )

    challenge = services.file_challenge(
        services.ChallengeRequest(
            kind="inaccurate",
            evidence=challenged.pk,
            grounds="My leave that day was cancelled for the match; the roster was not updated.",
            proposed_correction="Overtime worked on a rest day, the leave cancelled.",
        ),
        actor=Actor(users["subject1"], Role.SUBJECT),
    )
    steward = Actor(users["steward1"], Role.DATA_STEWARD)
    services.acknowledge_challenge(challenge.pk, actor=steward, no_conflict_declared=True)
    services.decide_challenge(
        challenge.pk,
        services.Adjudication(
            finding="upheld",
            reasons="The leave was cancelled before the match; the claim was for work done.",
            remedy=remedy,
            correction=correction if remedy == Remedy.CORRECTED else None,
            no_conflict_declared=True,
        ),
        actor=steward,
    )

    case.refresh_from_db()
    assert case.status == CaseStatus.WITHDRAWN
    challenged.refresh_from_db()
    kept.refresh_from_db()
    assert (challenged.status, kept.status) == (record_status, EvidenceStatus.AS_RECEIVED)
    assert sorted(case.flags.values_list("status", flat=True)) == [
        FlagStatus.ACTIVE,
        FlagStatus.WITHDRAWN,
    ]


def test_the_subject_is_chosen_with_no_case_or_flag_outside_professional_standards(
    tmp_path: Path, register: Subject
) -> None:
    # Earlier in the register: someone in Professional Standards, whom the reviewers could not
    # review (a reviewer's record instead); someone with a case; someone with a flag that opened
    # none, which would count beside the demo's; someone who has left.
    standards = SubjectFactory.create(unit="Professional Standards", staff_number="0001")
    with_a_case = CaseFactory.create(subject=SubjectFactory.create(staff_number="0002")).subject
    flagged = FlagFactory.create(subject=SubjectFactory.create(staff_number="0003")).subject
    left = InactiveSubjectFactory.create(staff_number="0004")

    seed(tmp_path / "users")

    subject_user = get_user_model().objects.get(username="subject1")
    assert subject_user.subject == register
    assert get_user_model().objects.get(username="reviewer1").subject == standards
    for passed_over in (with_a_case, flagged, left):
        passed_over.refresh_from_db()
        assert passed_over.user is None
    assert not Flag.objects.filter(detector__slug=DEMO_DETECTOR_SLUG).exclude(subject=register)


def test_a_register_with_nobody_suitable_is_said_so_and_nothing_is_posted(
    tmp_path: Path,
) -> None:
    # Professional Standards staff, and one person elsewhere, who has a flag already.
    for n in range(4):
        SubjectFactory.create(unit="Professional Standards", staff_number=f"PS{n}")
    FlagFactory.create(subject=SubjectFactory.create(unit="East Response"))
    stderr = StringIO()

    call_command(
        "seed_demo_users", "--users-file", str(tmp_path / "users"), stdout=StringIO(), stderr=stderr
    )

    assert "subject1: the register holds nobody who is a person outside Professional" in (
        stderr.getvalue()
    )
    assert not Subject.objects.filter(user__username="subject1").exists()
    assert not Flag.objects.filter(detector__slug=DEMO_DETECTOR_SLUG).exists()


@pytest.fixture
def apart(register: Subject) -> Subject:
    """Earlier in the register than the steward's right person (but after the demo subject),
    people a data steward deciding the demo subject's challenges must not be: their line
    manager, someone they manage, and a colleague in their unit."""
    manager = SubjectFactory.create(unit="Human Resources", staff_number="HR0")
    register.line_manager = manager
    register.save(update_fields=["line_manager"])
    SubjectFactory.create(unit="Human Resources", staff_number="HR00", line_manager=register)
    SubjectFactory.create(unit=register.unit, staff_number="ER2")
    return register


def test_the_data_steward_stands_apart_from_the_subject_and_the_seniors_took_no_part(
    tmp_path: Path, apart: Subject
) -> None:
    seed(tmp_path / "users")

    users = {user.username: user for user in get_user_model().objects.all()}
    person = users["subject1"].subject
    steward = users["steward1"].subject
    assert steward.staff_number == "HR1"
    assert steward.unit != person.unit
    assert person == apart
    for username in ("steward1", "senior1", "senior2"):
        assert check_conflict(users[username], person).passes, username
    assert not the_subjects_case().decisions.exists()


def test_the_demo_people_can_walk_the_whole_appeal_route(tmp_path: Path, register: Subject) -> None:
    """No grant or challenge is made for them: each step is theirs to take."""
    seed(tmp_path / "users")
    users = {user.username: user for user in get_user_model().objects.all()}
    subject = Actor(users["subject1"], Role.SUBJECT)
    representative = Actor(users["representative1"], Role.REPRESENTATIVE)
    case = the_subjects_case()
    record = case.flags.get(external_id=f"{DEMO_DETECTOR_SLUG}-ER1-2").evidence.get()
    assert not users["representative1"].representations.exists()

    grant = services.grant_representation(
        actor=subject,
        representative="representative1",
        case_id=None,
        expires_on=timezone.localdate() + timedelta(days=90),
    )
    services.accept_representation(grant.pk, actor=representative)
    challenge = services.file_challenge(
        services.ChallengeRequest(
            kind="inaccurate",
            evidence=record.pk,
            grounds="The claim on that date was made by another officer.",
            proposed_correction="No overtime claimed on that date.",
            subject=register.pk,
        ),
        actor=representative,
    )
    steward = Actor(users["steward1"], Role.DATA_STEWARD)
    services.acknowledge_challenge(challenge.pk, actor=steward, no_conflict_declared=True)
    services.decide_challenge(
        challenge.pk,
        services.Adjudication(
            finding="rejected",
            reasons="The payroll extract matches the officer's own claim form for that date.",
            no_conflict_declared=True,
        ),
        actor=steward,
    )
    services.escalate_challenge(
        challenge.pk, actor=subject, grounds="The claim form was filled in by my supervisor."
    )
    final = services.decide_escalation(
        challenge.pk,
        services.Adjudication(
            finding="upheld",
            reasons="The claim form is in the supervisor's hand and the roster shows leave.",
            remedy=Remedy.WITHDRAWN,
            no_conflict_declared=True,
        ),
        actor=Actor(users["senior1"], Role.SENIOR_REVIEWER),
    )

    assert final.status == ChallengeStatus.UPHELD
    case.refresh_from_db()
    assert case.status == CaseStatus.WITHDRAWN


@pytest.mark.parametrize("days_later", [0, 40], ids=["the same day", "weeks later"])
def test_a_second_run_keeps_every_password_and_token_and_posts_nothing(
    tmp_path: Path, register: Subject, time_machine: Any, days_later: int
) -> None:
    users_file = tmp_path / "users"
    seed(users_file)
    first = users_file.read_text(encoding="utf-8")
    before = counts()
    assert before["flags"] == 2
    time_machine.shift(timedelta(days=days_later))

    stderr = StringIO()
    call_command(
        "seed_demo_users", "--users-file", str(users_file), stdout=StringIO(), stderr=stderr
    )

    assert users_file.read_text(encoding="utf-8") == first
    assert counts() == before
    assert stderr.getvalue() == ""
    assert get_user_model().objects.get(username="subject1").subject == register


def seed_committing(users_file: Path) -> dict[str, SignIn]:
    """Seed as ``make demo`` does, outside a transaction: what waits for the commit (the
    reports' rendering, with no broker) runs, as a test's own transaction never commits."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return seed(users_file)


def test_the_demo_leaves_a_finished_oversight_report_and_disclosure_pack_to_download(
    tmp_path: Path, register: Subject, frozen_today: Any
) -> None:
    sign_ins = seed_committing(tmp_path / "users")

    oversight = Report.objects.get(requested_by__username="oversight1")
    assert oversight.kind == ReportKind.OVERSIGHT
    assert (oversight.period_start, oversight.period_end) == (
        frozen_today - timedelta(days=364),
        frozen_today,
    )
    pack = Report.objects.get(requested_by__username="subject1")
    assert pack.kind == ReportKind.DISCLOSURE
    assert pack.subject == register
    assert Report.objects.count() == 2
    for report in (oversight, pack):
        assert report.status == ReportStatus.DONE, report.error
        username = report.requested_by.username
        client = signed_in(username, sign_ins[username].password)
        assert f"Report {report.pk}" in client.get("/reports/").content.decode()
        response = client.get(f"/reports/{report.pk}/file")
        assert response.status_code == 200, username
        content = b"".join(response.streaming_content)  # type: ignore[attr-defined]
        assert content.startswith(b"%PDF")
        assert hashlib.sha256(content).hexdigest() == report.sha256
    completed = AuditEvent.objects.filter(action="report.completed")
    assert sorted(int(event.target_id) for event in completed) == sorted([oversight.pk, pack.pk])


def test_a_second_run_asks_for_no_report_a_user_already_has(
    tmp_path: Path, register: Subject, time_machine: Any
) -> None:
    users_file = tmp_path / "users"
    seed_committing(users_file)
    before = {report.pk: report.status for report in Report.objects.all()}
    events = AuditEvent.objects.count()
    time_machine.shift(timedelta(days=40))

    seed_committing(users_file)

    assert {report.pk: report.status for report in Report.objects.all()} == before
    assert set(before.values()) == {ReportStatus.DONE}
    assert AuditEvent.objects.count() == events


def counts() -> dict[str, int]:
    return {
        "reports": Report.objects.count(),
        "audit events": AuditEvent.objects.count(),
        "tokens": people_tokens(),
        "flags": Flag.objects.count(),
        "records": EvidenceRecord.objects.count(),
        "cases": Case.objects.count(),
    }


def test_a_second_run_replaces_only_what_no_longer_works(
    tmp_path: Path, register: Subject, admin_actor: Actor
) -> None:
    users_file = tmp_path / "users"
    first = seed(users_file)
    revoke_token(live_token_with_prefix(first["reviewer1"].token[:12]), actor=admin_actor)
    reviewer2 = get_user_model().objects.get(username="reviewer2")
    set_password(reviewer2, "changed by someone else entirely", actor=admin_actor, reason="test")

    second = seed(users_file)

    assert second["reviewer1"].password == first["reviewer1"].password
    assert second["reviewer1"].token != first["reviewer1"].token
    assert second["reviewer2"].password != first["reviewer2"].password
    assert second["reviewer2"].token == first["reviewer2"].token
    reviewer2.refresh_from_db()
    assert reviewer2.check_password(second["reviewer2"].password)
    unchanged = set(first) - {"reviewer1", "reviewer2"}
    assert {name: second[name] for name in unchanged} == {name: first[name] for name in unchanged}


def test_a_fresh_database_takes_the_passwords_from_the_file(
    tmp_path: Path, register: Subject
) -> None:
    users_file = tmp_path / "users"
    users_file.write_text(
        "# an earlier demo\nreviewer reviewer1 an-earlier-password-kept spt_revoked-long-ago\n",
        encoding="utf-8",
    )

    sign_ins = seed(users_file)

    assert sign_ins["reviewer1"].password == "an-earlier-password-kept"
    assert sign_ins["reviewer1"].token != "spt_revoked-long-ago"
    signed_in("reviewer1", "an-earlier-password-kept")


def test_demo_users_are_refused_without_debug(tmp_path: Path, settings: Any) -> None:
    settings.DEBUG = False

    with pytest.raises(CommandError, match="only with DEBUG=true"):
        call_command("seed_demo_users", "--users-file", str(tmp_path / "users"))
    assert not get_user_model().objects.filter(username="reviewer1").exists()


def people_tokens() -> int:
    return ApiToken.objects.filter(kind=TokenKind.PERSON).count()


def test_the_demo_concludes_a_case_of_every_outcome_class_once(
    tmp_path: Path, register: Subject
) -> None:
    # Open cases about people outside Professional Standards: more than the demo concludes.
    cases = [
        CaseFactory.create(subject=SubjectFactory.create(unit="Response North"))
        for _ in range(MIN_OPEN)
    ]
    users_file = tmp_path / "users"

    seed(users_file)

    concluded = Case.objects.filter(pk__in=[case.pk for case in cases])
    counts = concluded.aggregate(**outcome_counts())
    assert {key: n for key, n in counts.items() if n} == {
        LEADS: MIN_OPEN,
        OutcomeClass.CONFIRMED: 1,
        OutcomeClass.WRONG: 3,
        OutcomeClass.ADVICE: 1,
        OutcomeClass.WELFARE: 1,
        # The referral the body has not concluded, and the cases left open.
        OutcomeClass.PENDING: 1 + MIN_OPEN - 7,
    }
    assert concluded.filter(status=CaseStatus.OPEN).count() == MIN_OPEN - 7
    made = Decision.objects.count()
    assert set(Decision.objects.values_list("made_by__username", flat=True)) == {
        "reviewer1",
        "reviewer2",
        "senior1",
        "senior2",
    }
    assert all(
        "Demonstration data" in text
        for text in Decision.objects.values_list("rationale", flat=True)
    )
    results = AuditEvent.objects.filter(action="case.referral_result_recorded").count()

    seed(users_file)

    assert Decision.objects.count() == made
    assert AuditEvent.objects.filter(action="case.referral_result_recorded").count() == results == 2


def test_a_small_force_has_its_few_cases_left_open(tmp_path: Path, register: Subject) -> None:
    for _ in range(MIN_OPEN - 2):
        CaseFactory.create(subject=SubjectFactory.create(unit="Response North"))
    out = StringIO()

    call_command("seed_demo_users", "--users-file", str(tmp_path / "users"), stdout=out)

    assert not Decision.objects.exists()
    # The demo subject's case makes one more.
    assert f"{MIN_OPEN - 1} case(s) are open, fewer than {MIN_OPEN}" in out.getvalue()

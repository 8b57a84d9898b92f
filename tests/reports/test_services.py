"""Asking for a report, rendering it (in-process, as the embedded default runs Celery), and
handing it over: who may have which, what is audited, and what a second delivery of the task
does."""

import hashlib
import io
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.db import connection
from pypdf import PdfReader

from appeals import services as appeals_services
from audit.models import AccessEvent, AuditEvent
from casework.services import ReferralResultRequest, record_referral_result
from flags.models import Flag
from reports import services
from reports.documents import build_document, document_to_pdf
from reports.errors import ReportError, ReportForbidden, ReportInvalid, ReportNotFound
from reports.figures import oversight_figures
from reports.models import Report, ReportKind, ReportStatus
from reports.redaction import Kind, marker
from reports.storage import report_storage
from tests.appeals.conftest import World, overtime_flags, verify_audit
from tests.appeals.test_referral_result import record, refer, set_aside_and_refer_again
from tests.factories import TODAY, EvidenceItemFactory, FlagItemFactory, SubjectFactory
from tests.ingest_client import post_flags
from tests.reports.conftest import committing

pytestmark = pytest.mark.django_db


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def stored(report: Report) -> bytes:
    with report_storage().open(report.stored_name, "rb") as file:
        return bytes(file.read())


def files_of(report: Report, root: Path) -> list[str]:
    folder = root / "reports" / str(report.pk)
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


def grant(world: World, *, to: str = "rhea.rep", days: int = 30) -> Any:
    made = appeals_services.grant_representation(
        actor=world.as_fay,
        representative=to,
        case_id=None,
        expires_on=TODAY + timedelta(days=days),
    )
    return appeals_services.accept_representation(made.pk, actor=world.actor(to))


def ask(world: World, username: str, kind: str, params: dict[str, Any]) -> Report:
    user = world.fay if username == "fay.flagged" else world.people[username]
    with committing():
        report = services.request_report(kind, params, user=user)
    report.refresh_from_db()
    return report


# --- the disclosure pack ------------------------------------------------------------------------


def test_a_person_asks_for_their_disclosure_pack_and_it_is_rendered_audited_and_stored(
    world: World, private_root: Path
) -> None:
    report = ask(world, "fay.flagged", "disclosure", {"subject": world.subject.pk})

    assert report.status == ReportStatus.DONE
    assert (report.kind, report.subject_id, report.requested_as) == (
        ReportKind.DISCLOSURE,
        world.subject.pk,
        "subject",
    )
    content = stored(report)
    assert hashlib.sha256(content).hexdigest() == report.sha256
    assert len(content) == report.size
    assert files_of(report, private_root) == [f"{report.sha256}.html", f"{report.sha256}.pdf"]
    text = pdf_text(content)
    assert world.subject.name in text
    assert all(record.record_id in text for record in world.records)
    assert f"audit event {report.snapshot_seq}" in text
    requested = AuditEvent.objects.get(action="report.requested", target_id=str(report.pk))
    completed = AuditEvent.objects.get(action="report.completed", target_id=str(report.pk))
    assert requested.actor_username == "fay.flagged"
    assert completed.data["sha256"] == report.sha256
    # The snapshot is the head the data was read at: the request's own event, no later one.
    assert report.snapshot_seq == requested.seq
    assert report.snapshot_hash == requested.hash
    assert "Audit chain intact" in verify_audit()


def test_someone_elses_record_is_answered_as_a_missing_one(world: World, gus: Any) -> None:
    with pytest.raises(ReportNotFound) as other:
        ask(world, "fay.flagged", "disclosure", {"subject": gus.subject.pk})
    with pytest.raises(ReportNotFound) as missing:
        ask(world, "fay.flagged", "disclosure", {"subject": 999_999})

    assert str(other.value).replace(str(gus.subject.pk), "N") == str(missing.value).replace(
        "999999", "N"
    )
    assert not Report.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="report.").exists()


def test_a_representative_asks_on_the_persons_behalf_and_the_download_is_logged(
    world: World,
) -> None:
    grant(world)
    report = ask(world, "rhea.rep", "disclosure", {"subject": world.subject.pk})
    rhea = world.people["rhea.rep"]

    _report, edition = services.open_report(report.pk, rhea, channel="page")
    edition.file.close()

    assert report.on_behalf_of_id == world.fay.pk
    assert report.requested_as == "representative"
    # Fay sees the pack made on her behalf among her reports.
    assert list(services.reports_visible_to(world.fay)) == [report]
    event = AccessEvent.objects.get(view="disclosure_download")
    assert (event.username, event.on_behalf_of_user_id, event.subject_id, event.purpose) == (
        "rhea.rep",
        world.fay.pk,
        world.subject.pk,
        "representation",
    )
    downloaded = AuditEvent.objects.get(action="report.downloaded")
    assert downloaded.data == {"sha256": report.sha256, "channel": "page"}
    assert downloaded.on_behalf_of_user_id == world.fay.pk


def test_a_grant_that_has_expired_stops_the_download(world: World) -> None:
    grant(world, days=1)
    report = ask(world, "rhea.rep", "disclosure", {"subject": world.subject.pk})

    with (
        time_machine.travel(TODAY + timedelta(days=3), tick=False),
        pytest.raises(ReportNotFound),
    ):
        services.open_report(report.pk, world.people["rhea.rep"], channel="api")

    assert not AuditEvent.objects.filter(action="report.downloaded").exists()


def test_a_reviewer_has_the_pack_as_the_person_sees_it_and_the_case_file(world: World) -> None:
    pack = ask(world, "rita.reviewer", "disclosure", {"subject": world.subject.pk})
    case_file = ask(world, "rita.reviewer", "case_file", {"case": world.case.pk})

    assert pack.status == case_file.status == ReportStatus.DONE
    text = pdf_text(stored(case_file))
    assert f"Case file: case {world.case.pk}" in text
    assert all(record.record_id in text for record in world.records)


@pytest.mark.parametrize("username", ["dan.steward", "olive.oversight", "fay.flagged"])
def test_only_a_reviewer_who_may_see_the_case_has_its_file(world: World, username: str) -> None:
    with pytest.raises(ReportNotFound):
        ask(world, username, "case_file", {"case": world.case.pk})


@pytest.mark.parametrize("username", ["rita.reviewer", "fay.flagged", "rhea.rep"])
def test_only_oversight_has_an_oversight_report(world: World, username: str) -> None:
    with pytest.raises(ReportForbidden):
        ask(world, username, "oversight", {"from": "2026-01-01", "to": "2026-06-30"})


def test_an_oversight_report_names_nobody(world: World) -> None:
    first = (TODAY - timedelta(days=90)).isoformat()
    report = ask(world, "olive.oversight", "oversight", {"from": first, "to": TODAY.isoformat()})

    text = pdf_text(stored(report))
    assert report.status == ReportStatus.DONE
    assert "Detectors" in text
    assert "Fairness" in text
    assert "Verified: every one of the" in " ".join(text.split())
    # A small force: its fairness counts are small, and printed as suppressed.
    assert "suppressed" in text
    assert "A count from 1 to 9, not shown" in " ".join(text.split())
    assert world.subject.name not in text
    assert world.subject.staff_number not in text


@pytest.mark.parametrize(
    ("kind", "params", "field"),
    [
        ("audit", {}, "kind"),
        (None, {}, "kind"),
        ("disclosure", [], "params"),
        ("disclosure", {}, "params.subject"),
        ("disclosure", {"subject": "12"}, "params.subject"),
        ("disclosure", {"subject": True}, "params.subject"),
        ("disclosure", {"subject": 0}, "params.subject"),
        ("disclosure", {"subject": 2**64}, "params.subject"),
        ("disclosure", {"subject": 1, "case": 2}, "params.case"),
        ("oversight", {"from": "2026-13-01", "to": "2026-01-01"}, "params.from"),
        ("oversight", {"from": "2026-02-01", "to": "2026-01-01"}, "params.to"),
        ("oversight", {"from": "2026-01-01", "to": "2099-01-01"}, "params.to"),
        ("oversight", {"from": "2016-01-01", "to": "2026-01-01"}, "params.to"),
        ("oversight", {"from": 20260101, "to": "2026-02-01"}, "params.from"),
    ],
)
def test_bad_parameters_are_named_and_nothing_is_written(
    world: World, kind: Any, params: Any, field: str
) -> None:
    before = AuditEvent.objects.count()

    with pytest.raises(ReportInvalid) as refused:
        ask(world, "olive.oversight", kind, params)

    assert field in refused.value.problems
    assert not Report.objects.exists()
    assert AuditEvent.objects.count() == before


def test_a_person_may_have_only_so_many_reports_waiting(world: World, settings: Any) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.REPORT_MAX_UNFINISHED_PER_PERSON = 2
    for _ in range(2):
        ask(world, "fay.flagged", "disclosure", {"subject": world.subject.pk})

    with pytest.raises(ReportError, match="2 reports waiting"):
        ask(world, "fay.flagged", "disclosure", {"subject": world.subject.pk})

    assert Report.objects.filter(status=ReportStatus.QUEUED).count() == 2


# --- rendering again ----------------------------------------------------------------------------


def test_a_second_delivery_of_a_finished_report_changes_nothing(
    world: World, private_root: Path
) -> None:
    report = ask(world, "fay.flagged", "disclosure", {"subject": world.subject.pk})
    events = AuditEvent.objects.count()

    outcome = services.render(report.pk, build_document, document_to_pdf)

    assert outcome == "finished already"
    assert AuditEvent.objects.count() == events
    assert files_of(report, private_root) == [f"{report.sha256}.html", f"{report.sha256}.pdf"]


def test_a_report_a_dead_worker_left_rendering_is_finished_once_with_one_file(
    world: World, settings: Any, private_root: Path
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False
    report = ask(world, "fay.flagged", "disclosure", {"subject": world.subject.pk})
    # What a worker killed mid-render leaves: the report rendering, a file half written.
    Report.objects.filter(pk=report.pk).update(status=ReportStatus.RENDERING, attempts=1)
    report_storage().save(f"{report.pk}/{'0' * 64}.pdf", io.BytesIO(b"%PDF-1.7 cut short"))

    outcome = services.render(report.pk, build_document, document_to_pdf)

    report.refresh_from_db()
    assert outcome == "done"
    assert (report.status, report.attempts) == (ReportStatus.DONE, 2)
    assert files_of(report, private_root) == [f"{report.sha256}.html", f"{report.sha256}.pdf"]
    assert AuditEvent.objects.filter(action="report.completed").count() == 1


def test_a_report_that_keeps_failing_is_given_up_after_its_attempts(
    world: World, settings: Any
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.REPORT_MAX_ATTEMPTS = 2
    report = ask(world, "fay.flagged", "disclosure", {"subject": world.subject.pk})

    def broken(*args: Any) -> Any:
        raise RuntimeError("the template is broken")

    with pytest.raises(services.RenderFailed):
        services.render(report.pk, broken, document_to_pdf)
    report.refresh_from_db()
    assert (report.status, report.attempts) == (ReportStatus.QUEUED, 1)
    outcome = services.render(report.pk, broken, document_to_pdf)

    report.refresh_from_db()
    assert outcome == "failed"
    assert (report.status, report.attempts) == (ReportStatus.FAILED, 2)
    assert "the template is broken" in report.error
    failed = AuditEvent.objects.get(action="report.failed")
    assert failed.data["attempts"] == 2
    with pytest.raises(ReportError, match="not ready"):
        services.open_report(report.pk, world.fay, channel="api")


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_render_reads_in_a_read_only_repeatable_read_transaction_with_room_to_hash(
    world: World, settings: Any
) -> None:
    settings.REPORT_WORK_MEM_MB = 96
    report = ask(world, "fay.flagged", "disclosure", {"subject": world.subject.pk})
    grant_now = services.allowed(report.kind, services.params_of(report), world.fay)
    seen: dict[str, str] = {}

    def build(*args: Any) -> Any:
        seen.update(database_settings("transaction_isolation", "transaction_read_only", "work_mem"))
        return build_document(*args)

    services._read(report, grant_now, build)

    assert seen == {
        "transaction_isolation": "repeatable read",
        "transaction_read_only": "on",
        "work_mem": "96MB",
    }
    # For that transaction only.
    assert database_settings("work_mem")["work_mem"] != "96MB"


def database_settings(*names: str) -> dict[str, str]:
    found = {}
    with connection.cursor() as cursor:
        for name in names:
            cursor.execute(f"SHOW {name}")
            found[name] = cursor.fetchone()[0]
    return found


def test_the_same_snapshot_gives_the_same_bytes(world: World) -> None:
    report = ask(world, "fay.flagged", "disclosure", {"subject": world.subject.pk})
    grant_now = services.allowed(report.kind, services.params_of(report), world.fay)
    snapshot = services.snapshot_of(report)

    identifier = services.identifier_of(report)
    again = document_to_pdf(build_document(report, grant_now, snapshot), snapshot, identifier)

    assert hashlib.sha256(again).hexdigest() == report.sha256


def test_an_oversight_report_rendered_again_on_a_later_day_is_the_same_bytes(
    world: World, time_machine: Any
) -> None:
    """Deadlines are judged missed on the snapshot's day, not the day it is rendered: 40 days on,
    Fay's live case is past its review's due day, and the figures of today say so; the report's
    do not change."""
    period = {"from": (TODAY - timedelta(days=30)).isoformat(), "to": TODAY.isoformat()}
    report = ask(world, "olive.oversight", "oversight", period)
    olive = world.people["olive.oversight"]
    grant_now = services.allowed(report.kind, services.params_of(report), olive)
    snapshot = services.snapshot_of(report)
    first, last = TODAY - timedelta(days=30), TODAY
    overdue_then = oversight_figures(first, last).cases.review_overdue

    world.case.refresh_from_db()
    time_machine.move_to(world.case.due_on + timedelta(days=40), tick=False)
    again = document_to_pdf(
        build_document(report, grant_now, snapshot), snapshot, services.identifier_of(report)
    )

    assert oversight_figures(first, last).cases.review_overdue == overdue_then + 1
    assert hashlib.sha256(again).hexdigest() == report.sha256


def test_the_pack_withholds_other_peoples_data_and_says_where_and_why(
    world: World, detector_client: Any
) -> None:
    other = SubjectFactory.create(name="Olga Ottoline", unit="Response North")
    item = EvidenceItemFactory.create(
        summary=f"Overtime claim authorised by {other.name}",
        payload={"hours": 9.5, "authorised_by": other.staff_number},
    )
    overtime_flags(detector_client, world.subject, [[item]])

    report = ask(world, "fay.flagged", "disclosure", {"subject": world.subject.pk})

    text = pdf_text(stored(report))
    assert other.staff_number not in text
    assert other.name not in text
    assert marker(Kind.STAFF_NUMBER) in " ".join(text.split())
    assert "What this pack withholds, and why" in text
    assert f"evidence record {item['source_system']} {item['record_id']}" in " ".join(text.split())
    # Fay's own identifiers are hers to see.
    assert world.subject.staff_number in text


def test_the_pack_withholds_other_people_in_payload_keys_nested_fields_and_factors(
    world: World, detector_client: Any
) -> None:
    other = SubjectFactory.create(name="Olga Ottoline", unit="Response North")
    third = SubjectFactory.create(name="Peter Pemberton", unit="Response North")
    item = EvidenceItemFactory.create(
        summary=f"Shift swap {other.staff_number}/{third.staff_number}",
        payload={
            "hours": 9.5,
            "approvals": {other.staff_number: "approved", third.name: "approved"},
            "witnesses": [{"name": "Mary Publicperson", "address": "12 Acacia Avenue"}],
            "officers": [int(other.staff_number)],
            "authorised_by": {"id": int(third.staff_number)},
            "note": f"Agreed with PEMBERTON, Peter (staff_{other.staff_number})",
        },
    )
    flag = FlagItemFactory.create(
        subject=world.subject.staff_number,
        evidence=[item],
        factors=[
            {"name": "authorised_by", "value": f"{third.staff_number} {other.name}", "weight": 0},
            {"name": "approver", "value": int(other.staff_number), "weight": 0.5},
            {"name": "peer_z", "value": 4.2, "weight": 0.8},
        ],
    )
    assert post_flags(detector_client, [flag]).status_code == 200

    report = ask(world, "fay.flagged", "disclosure", {"subject": world.subject.pk})

    text = " ".join(pdf_text(stored(report)).split())
    for withheld in (
        other.staff_number,
        other.name,
        third.staff_number,
        third.name,
        "PEMBERTON",
        "Mary Publicperson",
        "12 Acacia Avenue",
    ):
        assert withheld not in text
    # The flag's own factor is shown, and the log lists each place by kind.
    assert "peer_z: 4.2 (weight 0.8)" in text
    pk = Flag.objects.get(external_id=flag["external_id"]).pk
    place = f"Flag {pk}, evidence record {item['source_system']} {item['record_id']}"
    for where, kind in (
        (f"{place}, summary", Kind.STAFF_NUMBER),
        (f"{place}, field approvals.{marker(Kind.STAFF_NUMBER)}", Kind.STAFF_NUMBER),
        (f"{place}, field approvals.{marker(Kind.NAME)}", Kind.NAME),
        (f"{place}, field witnesses[1].name", Kind.THIRD_PARTY),
        (f"{place}, field officers[1]", Kind.STAFF_NUMBER),
        (f"{place}, field authorised_by.id", Kind.STAFF_NUMBER),
        (f"{place}, field note", Kind.NAME),
        (f"Flag {pk}, factor 1, field authorised_by", Kind.NAME),
        (f"Flag {pk}, factor 2, field approver", Kind.STAFF_NUMBER),
    ):
        assert f"{where} {str(kind).capitalize()}" in text


def test_a_report_whose_every_attempt_killed_its_worker_is_given_up(
    world: World, settings: Any, private_root: Path
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.REPORT_MAX_ATTEMPTS = 3
    report = ask(world, "fay.flagged", "disclosure", {"subject": world.subject.pk})
    # Three deliveries, each ending with its worker before it could count as failed.
    Report.objects.filter(pk=report.pk).update(status=ReportStatus.RENDERING, attempts=3)

    services.render(report.pk, build_document, document_to_pdf)

    report.refresh_from_db()
    assert (report.status, report.attempts) == (ReportStatus.FAILED, 3)
    assert "stopped its worker 3 times" in report.error
    assert AuditEvent.objects.get(action="report.failed").data["attempts"] == 3
    assert files_of(report, private_root) == []


def test_the_case_file_and_the_pack_show_a_set_aside_referrals_result_as_history(
    world: World,
) -> None:
    refer(world)
    old = record(world)
    set_aside_and_refer_again(world)
    new = record_referral_result(
        world.case.pk,
        ReferralResultRequest(
            result="no_case_to_answer",
            concluded_on=TODAY,
            reasons="The panel found the duty was rostered after all, in another system.",
            no_conflict_declared=True,
        ),
        actor=world.actor("sue.senior"),
    )

    case_file = ask(world, "rita.reviewer", "case_file", {"case": world.case.pk})
    pack = ask(world, "rita.reviewer", "disclosure", {"subject": world.subject.pk})

    for report in (case_file, pack):
        text = " ".join(pdf_text(stored(report)).split())
        assert f"for the referral signed in decision {old.referral_id}, which no longer stands" in (
            text
        ), report.kind
        assert f"decision {new.referral_id}, which no longer stands" not in text
        assert "No case to answer" in text and "Misconduct found" in text

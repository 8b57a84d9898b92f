"""A correction that changes data a finished report was rendered from marks the report
superseded, in the challenge's transaction: audited, told to the person, still downloadable. A
report rendering from the data as it was when the correction is made finishes superseded."""

import hashlib
import io
from datetime import timedelta
from typing import Any

import pytest
from pypdf import PdfReader

from appeals import services as appeals_services
from appeals.models import AppealNotice, AppealNoticeKind
from audit.models import AuditEvent
from reports import services
from reports.documents import build_document, document_to_pdf
from reports.models import Report, ReportStatus
from reports.rendering import Snapshot
from reports.services import Document
from reports.storage import report_storage
from tests.appeals.conftest import World, file_inaccurate, verify_audit
from tests.factories import TODAY
from tests.reports.conftest import committing

pytestmark = pytest.mark.django_db

REASONS = "The payroll export shows no such claim: the record was keyed against the wrong person."


def ask(user: Any, kind: str, params: dict[str, Any]) -> Report:
    with committing():
        report = services.request_report(kind, params, user=user)
    report.refresh_from_db()
    assert report.status == ReportStatus.DONE
    return report


def decide(world: World, remedy: str) -> None:
    """Fay's challenge to her first record, upheld with ``remedy``."""
    challenge = file_inaccurate(world, world.records[0])
    steward = world.actor("dan.steward")
    appeals_services.acknowledge_challenge(challenge.pk, actor=steward, no_conflict_declared=True)
    correction = appeals_services.CorrectedContent(
        summary="Overtime claim, 0 hours",
        payload={"hours": 0},
        occurred_at=world.records[0].occurred_at,
    )
    appeals_services.decide_challenge(
        challenge.pk,
        appeals_services.Adjudication(
            finding="upheld",
            reasons=REASONS,
            remedy=remedy,
            no_conflict_declared=True,
            correction=correction if remedy == "corrected" else None,
        ),
        actor=steward,
    )


def period(first: int, last: int) -> dict[str, str]:
    return {
        "from": (TODAY - timedelta(days=first)).isoformat(),
        "to": (TODAY - timedelta(days=last)).isoformat(),
    }


@pytest.mark.parametrize("remedy", ["withdrawn", "corrected"])
def test_an_upheld_correction_supersedes_the_reports_built_on_the_record(
    world: World, gus: Any, remedy: str
) -> None:
    olive = world.people["olive.oversight"]
    pack = ask(world.fay, "disclosure", {"subject": world.subject.pk})
    case_file = ask(world.people["rita.reviewer"], "case_file", {"case": world.case.pk})
    covering = ask(olive, "oversight", period(30, 0))
    before = ask(olive, "oversight", period(400, 300))
    others = ask(gus, "disclosure", {"subject": gus.subject.pk})

    with committing():
        decide(world, remedy)

    states = {r.pk: r.status for r in Report.objects.all()}
    assert states == {
        pack.pk: ReportStatus.SUPERSEDED,
        case_file.pk: ReportStatus.SUPERSEDED,
        covering.pk: ReportStatus.SUPERSEDED,
        before.pk: ReportStatus.DONE,
        others.pk: ReportStatus.DONE,
    }
    events = AuditEvent.objects.filter(action="report.superseded").order_by("seq")
    assert [int(event.target_id) for event in events] == [pack.pk, case_file.pk, covering.pk]
    assert all(event.data["challenge"] for event in events)
    notice = AppealNotice.objects.get(kind=AppealNoticeKind.REPORT_SUPERSEDED)
    assert (notice.recipient, notice.subject_id) == (world.fay, world.subject.pk)
    # Still downloadable, as its marked edition: the same report with the banner on page one.
    pack.refresh_from_db()
    original = pack.sha256
    _report, edition = services.open_report(pack.pk, world.fay, channel="api")
    with edition.file:
        marked = edition.file.read()
    assert pack.superseded_at is not None
    assert pack.marked_sha256 == edition.sha256 == hashlib.sha256(marked).hexdigest() != original
    first_page = PdfReader(io.BytesIO(marked)).pages[0].extract_text()
    assert "Superseded" in first_page
    assert f"audit event {pack.snapshot_seq}" in first_page
    with report_storage().open(pack.stored_name, "rb") as kept:
        assert hashlib.sha256(kept.read()).hexdigest() == original
    marked_event = AuditEvent.objects.get(action="report.marked_superseded", target_id=str(pack.pk))
    assert marked_event.data["original_sha256"] == original
    assert "Audit chain intact" in verify_audit()


def test_a_rejected_challenge_supersedes_nothing(world: World) -> None:
    pack = ask(world.fay, "disclosure", {"subject": world.subject.pk})
    challenge = file_inaccurate(world, world.records[0])
    steward = world.actor("dan.steward")
    appeals_services.acknowledge_challenge(challenge.pk, actor=steward, no_conflict_declared=True)

    appeals_services.decide_challenge(
        challenge.pk,
        appeals_services.Adjudication(
            finding="rejected", reasons=REASONS, remedy="", no_conflict_declared=True
        ),
        actor=steward,
    )

    pack.refresh_from_db()
    assert pack.status == ReportStatus.DONE
    assert not AuditEvent.objects.filter(action="report.superseded").exists()


# --- a correction made while a report renders ----------------------------------------------------


def test_a_report_rendering_when_a_correction_is_made_finishes_superseded(world: World) -> None:
    """The render reads the data, then the correction commits, then the render stores its file:
    a file of the data as it was before, finished superseded, told and marked like any other."""
    report = services.request_report("disclosure", {"subject": world.subject.pk}, user=world.fay)

    def corrected_meanwhile(document: Document, snapshot: Snapshot, identifier: str) -> bytes:
        with committing():
            decide(world, "withdrawn")
        return document_to_pdf(document, snapshot, identifier)

    with committing():
        outcome = services.render(report.pk, build_document, corrected_meanwhile)

    report.refresh_from_db()
    assert outcome == "superseded"
    assert report.status == ReportStatus.SUPERSEDED
    corrected = AuditEvent.objects.get(action="report.data_corrected", target_id=str(report.pk))
    assert report.snapshot_seq is not None and report.snapshot_seq < corrected.seq
    completed, superseded = AuditEvent.objects.filter(
        action__in=["report.completed", "report.superseded"], target_id=str(report.pk)
    ).order_by("seq")
    assert (completed.action, superseded.action) == ("report.completed", "report.superseded")
    assert completed.data["sha256"] == superseded.data["sha256"] == report.sha256
    assert superseded.data["challenge"] == corrected.data["challenge"]
    notice = AppealNotice.objects.get(kind=AppealNoticeKind.REPORT_SUPERSEDED)
    assert superseded.data["notices"] == [notice.pk]
    assert (notice.recipient, notice.challenge_id) == (world.fay, corrected.data["challenge"])
    assert report.marked_name  # its marked edition, rendered once the finish committed
    assert "Audit chain intact" in verify_audit()


def test_a_report_queued_when_a_correction_is_made_renders_the_corrected_data(
    world: World,
) -> None:
    report = services.request_report("disclosure", {"subject": world.subject.pk}, user=world.fay)
    with committing():
        decide(world, "withdrawn")

    outcome = services.render(report.pk, build_document, document_to_pdf)

    report.refresh_from_db()
    corrected = AuditEvent.objects.get(action="report.data_corrected", target_id=str(report.pk))
    assert outcome == "done"
    assert report.status == ReportStatus.DONE
    assert report.snapshot_seq is not None and report.snapshot_seq > corrected.seq
    assert not AuditEvent.objects.filter(action="report.superseded").exists()

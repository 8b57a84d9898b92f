"""A correction that changes data a finished report was rendered from marks the report
superseded, in the challenge's transaction: audited, told to the person, still downloadable."""

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
from reports.models import Report, ReportStatus
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

"""Reports about a person whose case's notice a senior reviewer deferred: nothing of them tells the
person of the case before the notice does. A reviewer's download of the case's file, or of the
person's disclosure pack, stays out of the person's access log (their page, /api/v1/me/ and their
own pack) until the notice is sent, and a reviewer's pack superseded meanwhile is not told of."""

import io
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import transaction
from django.test import Client
from pypdf import PdfReader

from accounts.roles import actor_for
from appeals.models import AppealNotice, AppealNoticeKind
from appeals.selectors import scope_for, subject_record
from audit import log
from audit.actors import system_actor
from audit.models import AccessEvent
from casework.models import Case
from casework.services import DecisionRequest, act_on_case, send_due_notifications
from flags.models import EvidenceRecord
from reports import services
from reports.models import Report, ReportStatus
from reports.receivers import supersede_reports
from reports.storage import report_storage
from tests.appeals.conftest import Clients, World, flagged_subject, overtime_flags
from tests.factories import TODAY, EvidenceItemFactory
from tests.reports.conftest import committing

pytestmark = pytest.mark.django_db

TOLD_ON = TODAY + timedelta(days=11)


@pytest.fixture
def hal(world: World, detector_client: Any, settings: Any) -> User:
    """Hal, flagged twice: his case's notice is deferred for ten days, so he has not been told of
    it."""
    settings.SUBJECT_NOTICE_DELAY_HOURS = 24
    hal = flagged_subject("hal.hidden")
    overtime_flags(
        detector_client,
        hal.subject,
        [[EvidenceItemFactory.create()], [EvidenceItemFactory.create()]],
    )
    act_on_case(
        Case.objects.get(subject=hal.subject).pk,
        DecisionRequest(
            "defer_notification",
            rationale="Telling him now would alert others under investigation.",
            deferred_until=TODAY + timedelta(days=10),
            no_conflict_declared=True,
        ),
        actor=actor_for(world.people["sam.senior"]),
    )
    return hal


def download(user: User, kind: str, params: dict[str, Any]) -> Report:
    with committing():
        report = services.request_report(kind, params, user=user)
    report.refresh_from_db()
    assert report.status == ReportStatus.DONE, report.error
    _report, edition = services.open_report(report.pk, user, channel="page")
    edition.file.close()
    return report


def pack_text(report: Report) -> str:
    with report_storage().open(report.stored_name, "rb") as file:
        pages = PdfReader(io.BytesIO(file.read())).pages
    return "\n".join(page.extract_text() for page in pages)


Views = set[tuple[str, str]]


def logged(hal: User, api: Clients) -> tuple[Views, Views, str]:
    """What Hal is shown of who viewed his record, and through what: as his record reads it,
    through /api/v1/me/, and his page (/me/)."""
    page = Client()
    page.force_login(hal)
    html = page.get("/me/").content.decode()
    record = api("hal.hidden").get("/api/v1/me/").json()["record"]
    return (
        {(event.username, event.view) for event in subject_record(scope_for(hal)).access_log},
        {(event["username"], event["view"]) for event in record["access_log"]["results"]},
        html,
    )


def test_a_reviewers_downloads_are_kept_from_the_person_until_they_are_told_of_the_case(
    world: World, hal: User, api: Clients, time_machine: Any
) -> None:
    rita = world.people["rita.reviewer"]
    case = Case.objects.get(subject=hal.subject)
    download(rita, "case_file", {"case": case.pk})
    download(rita, "disclosure", {"subject": hal.subject.pk})
    download(hal, "disclosure", {"subject": hal.subject.pk})

    record, through_api, page = logged(hal, api)
    own_pack = download(hal, "disclosure", {"subject": hal.subject.pk})

    # His own download is his to see; neither of the reviewer's is, anywhere.
    assert ("hal.hidden", "disclosure_download") in record & through_api
    assert not [view for view in record | through_api if view[0] == "rita.reviewer"]
    assert "rita.reviewer" not in page
    assert "rita.reviewer" not in pack_text(own_pack)
    # The case file's download is logged against the case, as the case's own views are.
    assert AccessEvent.objects.filter(
        user_id=rita.pk,
        object_type="casework.case",
        object_id=str(case.pk),
        view="case_file_download",
    ).exists()

    time_machine.move_to(TOLD_ON, tick=False)
    send_due_notifications(actor=system_actor())

    record, through_api, page = logged(hal, api)
    reviewers = {("rita.reviewer", "case_file_download"), ("rita.reviewer", "disclosure_download")}
    assert reviewers <= record & through_api
    assert "rita.reviewer" in page
    assert "rita.reviewer" in pack_text(download(hal, "disclosure", {"subject": hal.subject.pk}))


@pytest.mark.parametrize("told", [False, True], ids=["case hidden", "case told of"])
def test_a_reviewers_superseded_pack_is_told_of_only_once_the_person_may_know_of_it(
    world: World, hal: User, time_machine: Any, told: bool
) -> None:
    if told:
        time_machine.move_to(TOLD_ON, tick=False)
        send_due_notifications(actor=system_actor())
    pack = download(world.people["rita.reviewer"], "disclosure", {"subject": hal.subject.pk})
    records = EvidenceRecord.objects.filter(flags__subject=hal.subject).values_list("pk", flat=True)

    # What a correction of Hal's records does, in its transaction.
    with committing(), transaction.atomic():
        entries = supersede_reports(
            None,
            challenge=None,
            evidence_ids=list(records),
            case_ids=[],
            cause="a correction",
            cause_data={},
        )
        log.record_many(entries, actor=system_actor())

    pack.refresh_from_db()
    assert pack.status == ReportStatus.SUPERSEDED
    notices = AppealNotice.objects.filter(kind=AppealNoticeKind.REPORT_SUPERSEDED, recipient=hal)
    assert notices.exists() == told

"""The reports pages: the forms each role is offered, asking, following and downloading."""

import io
import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from pypdf import PdfReader

from accounts.services import create_user
from audit.actors import Role, system_actor
from audit.models import AccessEvent
from flags.models import Subject
from reports import services, tasks
from reports.models import Report, ReportStatus
from reports.storage import report_storage
from tests.appeals.conftest import World
from tests.factories import TODAY, SubjectFactory
from tests.reports.conftest import committing

pytestmark = pytest.mark.django_db


def browser(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def ask(client: Client, data: dict[str, Any]) -> Any:
    with committing():
        return client.post("/reports/new/", data)


def page(client: Client, path: str = "/reports/") -> str:
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    return str(response.content.decode())


@pytest.mark.parametrize(
    ("username", "offered", "not_offered"),
    [
        ("fay.flagged", ["Prepare my disclosure pack"], ["Case number", "An oversight report"]),
        # Staff in other roles have their own records too.
        ("rita.reviewer", ["Case number", "Prepare my disclosure pack"], ["An oversight report"]),
        ("olive.oversight", ["An oversight report", "Prepare my disclosure pack"], ["Case number"]),
    ],
)
def test_each_role_is_offered_its_own_reports(
    world: World, username: str, offered: list[str], not_offered: list[str]
) -> None:
    user = world.fay if username == "fay.flagged" else world.people[username]
    text = page(browser(user))

    assert all(words in text for words in offered)
    assert not any(words in text for words in not_offered)
    assert 'href="/reports/"' in text  # the navigation offers the page


def test_a_role_with_no_reports_is_told_there_is_no_such_page(world: World) -> None:
    admin = create_user(
        "ada.admin", role=Role.ADMINISTRATOR, subject=None, password="x" * 20, actor=system_actor()
    )
    client = browser(admin)

    response = client.get("/reports/")

    assert response.status_code == 403
    assert 'href="/reports/"' not in page(client, "/notices/")


def test_asking_leads_to_the_report_and_its_download(world: World) -> None:
    client = browser(world.fay)

    asked = ask(client, {"kind": "disclosure"})

    report = Report.objects.get()
    assert asked.status_code == 302
    assert asked["Location"] == f"/reports/{report.pk}/"
    text = page(client, asked["Location"])
    assert report.sha256 in text
    assert f'href="/reports/{report.pk}/file"' in text
    assert "http-equiv" not in text  # finished: nothing refreshes it
    progress = json.loads(client.get(f"/reports/{report.pk}/progress.json").content)
    assert progress == {
        "status": "done",
        "status_label": "Ready",
        "progress": 100,
        "step": "Ready",
        "finished": True,
    }
    download = client.get(f"/reports/{report.pk}/file")
    assert download.status_code == 200
    assert download["X-Report-SHA256"] == report.sha256
    assert AccessEvent.objects.filter(view="disclosure_download", channel="page").exists()


def test_a_report_still_rendering_refreshes_itself_and_loads_its_script(
    world: World, settings: Any
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False
    client = browser(world.fay)
    ask(client, {"kind": "disclosure"})
    report = Report.objects.get()

    text = page(client, f"/reports/{report.pk}/")

    assert report.status == ReportStatus.QUEUED
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in text
    assert 'src="/static/js/report-progress.js"' in text
    assert "<script>" not in text  # no inline script: the CSP stays strict
    refused = client.get(f"/reports/{report.pk}/file")
    assert refused.status_code == 302


def test_a_render_that_fails_in_process_ends_failed_and_the_request_answers(
    world: World, monkeypatch: Any, settings: Any
) -> None:
    """With no broker the rendering runs in the request, after its commit: each attempt is made
    there, and the last failure leaves the report failed with its error (kept for an
    administrator), not waiting forever."""

    def broken(*args: Any) -> bytes:
        raise RuntimeError("WeasyPrint fell over")

    monkeypatch.setattr(tasks, "document_to_pdf", broken)
    settings.REPORT_MAX_UNFINISHED_PER_PERSON = 1
    client = browser(world.fay)

    asked = ask(client, {"kind": "disclosure"})

    report = Report.objects.get()
    assert asked.status_code == 302
    assert asked["Location"] == f"/reports/{report.pk}/"
    assert (report.status, report.attempts) == (ReportStatus.FAILED, settings.REPORT_MAX_ATTEMPTS)
    assert "RuntimeError: WeasyPrint fell over" in report.error
    text = page(client, asked["Location"])
    attempts = settings.REPORT_MAX_ATTEMPTS
    assert f"The report could not be rendered after {attempts} attempts." in text
    assert "Waiting to try again" not in text
    # A failed report waits for nothing: the person may ask again.
    assert ask(client, {"kind": "disclosure"}).status_code == 302


def test_an_oversight_period_is_read_from_the_date_boxes(world: World) -> None:
    client = browser(world.people["olive.oversight"])

    missing = ask(client, {"kind": "oversight"})
    backwards = client.post(
        "/reports/new/",
        {
            "kind": "oversight",
            "start_day": "2", "start_month": "2", "start_year": "2026",
            "end_day": "1", "end_month": "2", "end_year": "2026",
        },
    )  # fmt: skip

    assert missing.status_code == 422
    assert "Give the first day of the period." in missing.content.decode()
    assert backwards.status_code == 422
    assert "The period must end on or after the day it starts." in backwards.content.decode()
    assert not Report.objects.exists()


def test_a_reviewer_asks_by_case_number_and_an_unseen_case_is_refused(world: World) -> None:
    client = browser(world.people["rita.reviewer"])

    made = ask(client, {"kind": "case_file", "case": world.case.pk})
    pack = ask(client, {"kind": "disclosure", "case": world.case.pk})
    unseen = ask(client, {"kind": "case_file", "case": 999_999})

    assert made.status_code == pack.status_code == 302
    assert [r.kind for r in Report.objects.order_by("pk")] == ["case_file", "disclosure"]
    assert Report.objects.get(kind="disclosure").subject_id == world.subject.pk
    assert unseen.status_code == 404
    assert "There is no case 999999 that you may have a case file of." in unseen.content.decode()


def test_someone_elses_report_page_is_not_found(world: World, gus: Any) -> None:
    ask(browser(world.fay), {"kind": "disclosure"})
    report = Report.objects.get()
    other = browser(gus)

    for path in (
        f"/reports/{report.pk}/",
        f"/reports/{report.pk}/progress.json",
        f"/reports/{report.pk}/file",
    ):
        assert other.get(path).status_code == 404


def test_the_form_needs_its_csrf_token(world: World) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.fay)

    response = ask(client, {"kind": "disclosure"})

    assert response.status_code == 403
    assert not Report.objects.exists()


def test_a_dollar_sign_in_a_register_role_is_shown_on_the_dashboard_and_in_the_report(
    world: World,
) -> None:
    """A role matplotlib would read as mathematics (and fail to parse, or typeset) is a name."""
    roles = ("Analyst $x^$ grade", "Pay band $5 to $9")
    Subject.objects.filter(pk=world.subject.pk).update(role=roles[0])
    SubjectFactory.create(role=roles[1])
    client = browser(world.people["olive.oversight"])

    shown = client.get("/oversight/")
    period = {"from": (TODAY - timedelta(days=365)).isoformat(), "to": TODAY.isoformat()}
    with committing():
        services.request_report("oversight", period, user=world.people["olive.oversight"])

    assert shown.status_code == 200
    report = Report.objects.get()
    assert report.status == ReportStatus.DONE, report.error
    with report_storage().open(report.stored_name, "rb") as file:
        pdf = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(file.read())).pages)
    for role in roles:
        # Each a group of one, so named in the row of other groups, as written.
        assert role in shown.content.decode()
        assert role in pdf


def test_the_dashboard_shows_a_year_by_default_and_refuses_a_bad_period(world: World) -> None:
    client = browser(world.people["olive.oversight"])

    shown = client.get("/oversight/")
    backwards = client.get(
        "/oversight/",
        {
            "start_day": "2", "start_month": "2", "start_year": "2026",
            "end_day": "1", "end_month": "2", "end_year": "2026",
        },
    )  # fmt: skip
    future = client.get(
        "/oversight/",
        {
            "start_day": "1", "start_month": "1", "start_year": "2026",
            "end_day": "1", "end_month": "1", "end_year": "2099",
        },
    )  # fmt: skip

    assert shown.status_code == 200
    assert "What the figures count" in shown.content.decode()
    assert "<svg" in shown.content.decode()
    for refused, words in (
        (backwards, "The period must end on or after the day it starts."),
        (future, "The period cannot end after today."),
    ):
        assert refused.status_code == 400
        text = refused.content.decode()
        assert words in text
        assert "What the figures count" not in text  # no figures for a period refused

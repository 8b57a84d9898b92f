"""The reports API: asking (202), following, listing and downloading, by the one error rule."""

import base64
import hashlib
from typing import Any

import pytest

from audit.models import AccessEvent, AuditEvent
from reports import tasks
from reports.models import Report
from tests.appeals.conftest import Clients, World
from tests.reports.conftest import committing

pytestmark = pytest.mark.django_db


def post(client: Any, body: Any) -> Any:
    with committing():
        return client.post("/api/v1/reports/", body, format="json")


def test_asking_answers_202_with_the_report_and_where_to_follow_it(
    world: World, api: Clients
) -> None:
    response = post(
        api("fay.flagged"), {"kind": "disclosure", "params": {"subject": world.subject.pk}}
    )

    body = response.json()
    assert response.status_code == 202, body
    report = Report.objects.get()
    assert body["id"] == report.pk
    assert body["kind"] == "disclosure"
    assert body["params"] == {"subject": world.subject.pk}
    # Rendering is queued for when the request's transaction commits: asked, not yet rendered.
    assert (body["status"], body["progress"], body["sha256"], body["file_url"]) == (
        "queued",
        0,
        None,
        None,
    )
    assert body["status_url"].endswith(f"/api/v1/reports/{report.pk}/")
    followed = api("fay.flagged").get(body["status_url"]).json()
    assert followed["status"] == "done"
    assert followed["file_url"].endswith(f"/api/v1/reports/{report.pk}/file")
    assert followed["sha256"] == report.sha256


def test_a_render_that_fails_in_process_answers_202_and_the_report_is_failed(
    world: World, api: Clients, monkeypatch: Any, settings: Any
) -> None:
    def broken(*args: Any) -> bytes:
        raise RuntimeError("WeasyPrint fell over")

    monkeypatch.setattr(tasks, "document_to_pdf", broken)

    response = post(
        api("fay.flagged"), {"kind": "disclosure", "params": {"subject": world.subject.pk}}
    )

    assert response.status_code == 202, response.content
    followed = api("fay.flagged").get(response.json()["status_url"]).json()
    assert followed["status"] == "failed"
    assert followed["error"].startswith("It could not be rendered")
    report = Report.objects.get()
    assert "RuntimeError: WeasyPrint fell over" in report.error
    assert report.attempts == settings.REPORT_MAX_ATTEMPTS
    assert AuditEvent.objects.filter(action="report.failed").count() == 1


def test_following_listing_and_downloading(world: World, api: Clients) -> None:
    fay = api("fay.flagged")
    made = post(fay, {"kind": "disclosure", "params": {"subject": world.subject.pk}}).json()
    made = fay.get(made["status_url"]).json()

    detail = fay.get(f"/api/v1/reports/{made['id']}/")
    listing = fay.get("/api/v1/reports/")
    download = fay.get(f"/api/v1/reports/{made['id']}/file")

    assert detail.status_code == 200
    assert detail.json()["progress"] == 100
    assert detail.json()["snapshot"]["seq"] > 0
    assert listing.json()["count"] == 1
    assert [row["id"] for row in listing.json()["results"]] == [made["id"]]
    content = b"".join(download.streaming_content)  # type: ignore[attr-defined]
    digest = hashlib.sha256(content).hexdigest()
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download["X-Report-SHA256"] == digest == made["sha256"]
    expected = base64.b64encode(bytes.fromhex(digest)).decode()
    assert download["Repr-Digest"] == f"sha-256=:{expected}:"
    assert AccessEvent.objects.filter(view="disclosure_download", channel="api").count() == 1


def test_another_persons_report_is_answered_as_a_missing_one(
    world: World, api: Clients, gus: Any
) -> None:
    made = post(api("fay.flagged"), {"kind": "disclosure", "params": {"subject": world.subject.pk}})
    report_id = made.json()["id"]
    gus_client = api("gus.grey")

    for form in ("/api/v1/reports/{}/", "/api/v1/reports/{}/file"):
        theirs = gus_client.get(form.format(report_id))
        missing = gus_client.get(form.format(report_id + 1000))
        assert theirs.status_code == missing.status_code == 404
        assert theirs.json()["detail"].replace(str(report_id), "N") == missing.json()[
            "detail"
        ].replace(str(report_id + 1000), "N")
    assert gus_client.get("/api/v1/reports/").json()["count"] == 0


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"kind": "disclosure", "params": {"subject": "x"}}, 422, "invalid"),
        ({"kind": "nonsense", "params": {}}, 422, "invalid"),
        ({"kind": "disclosure", "params": {"subject": 1}, "extra": 1}, 422, "invalid"),
        ([1, 2], 400, "invalid_body"),
        (
            {"kind": "oversight", "params": {"from": "2026-01-01", "to": "2026-02-01"}},
            403,
            "permission_denied",
        ),
        ({"kind": "case_file", "params": {"case": 1}}, 404, "not_found"),
    ],
)
def test_refusals_follow_the_one_error_rule(
    world: World, api: Clients, body: Any, status: int, error: str
) -> None:
    client = api("fay.flagged")
    before = AuditEvent.objects.count()

    response = post(client, body)

    assert response.status_code == status, response.content
    assert response.json()["error"] == error
    assert not Report.objects.exists()
    assert AuditEvent.objects.count() == before


def test_a_form_body_is_refused_as_not_json(world: World, api: Clients) -> None:
    response = api("fay.flagged").post(
        "/api/v1/reports/", {"kind": "disclosure"}, format="multipart"
    )

    assert response.status_code == 415


def test_a_detector_token_may_not_ask_for_reports(world: World, detector_client: Any) -> None:
    response = post(
        detector_client, {"kind": "disclosure", "params": {"subject": world.subject.pk}}
    )

    assert response.status_code == 403

"""Every viewer of the appeals permission matrix (tests/appeals/test_permission_matrix.py: a user
per role, Fay, her live, expired and pending representatives, another flagged officer, someone
with no role, someone signed out) through every reports page, endpoint and download, and every
way of asking for a report: the exact status each gets, and that a refusal writes nothing.

What they ask about is Fay's: her disclosure pack, which she asked for and which is rendered, her
record and her case. A role that may never use a page is refused (403); a report or record the
viewer may not have is answered as a missing one (404).
"""

from typing import Any

import pytest

from reports import services
from reports.models import Report
from tests.appeals.conftest import World
from tests.appeals.test_permission_matrix import (
    VIEWERS,
    Arranged,
    api_clients,
    browsers,
    check,
    comparable,
    written,
)
from tests.reports.conftest import committing

pytestmark = pytest.mark.django_db

# fmt: off
GETS: dict[str, str] = {
    "reports": "/reports/",
    "oversight dashboard": "/oversight/",
    "pack page": "/reports/{pack}/",
    "pack progress": "/reports/{pack}/progress.json",
    "pack file": "/reports/{pack}/file",
    "api reports": "/api/v1/reports/",
    "api pack": "/api/v1/reports/{pack}/",
    "api pack file": "/api/v1/reports/{pack}/file",
}

GOT: dict[str, tuple[int, ...]] = {
    #                      rita sam  dan  oliv alan sid  rhea otto fay  lena ed   pat  gus  out
    "reports":            (200, 200, 200, 200, 200, 200, 200, 403, 200, 200, 200, 200, 200, 302),
    "oversight dashboard": (403, 403, 403, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 302),
    "pack page":          (404, 404, 404, 404, 404, 404, 404, 403, 200, 404, 404, 404, 404, 302),
    "pack progress":      (404, 404, 404, 404, 404, 404, 404, 403, 200, 404, 404, 404, 404, 302),
    "pack file":          (404, 404, 404, 404, 404, 404, 404, 403, 200, 404, 404, 404, 404, 302),
    "api reports":        (200, 200, 200, 200, 200, 200, 200, 403, 200, 200, 200, 200, 200, 401),
    "api pack":           (404, 404, 404, 404, 404, 404, 404, 403, 200, 404, 404, 404, 404, 401),
    "api pack file":      (404, 404, 404, 404, 404, 404, 404, 403, 200, 404, 404, 404, 404, 401),
}

# Asking: from the page (302 to the report once asked) and from the API (202).
ASKS: dict[str, tuple[int, ...]] = {
    #                      rita sam  dan  oliv alan sid  rhea otto fay  lena ed   pat  gus  out
    "fay's pack":         (302, 302, 404, 404, 404, 404, 404, 403, 302, 302, 404, 404, 404, 302),
    "fay's case file":    (302, 302, 404, 404, 404, 404, 404, 403, 404, 404, 404, 404, 404, 302),
    "oversight":          (403, 403, 403, 302, 403, 403, 403, 403, 403, 403, 403, 403, 403, 302),
    "api fay's pack":     (202, 202, 404, 404, 404, 404, 404, 403, 202, 202, 404, 404, 404, 401),
    "api fay's case file": (202, 202, 404, 404, 404, 404, 404, 403, 404, 404, 404, 404, 404, 401),
    "api oversight":      (403, 403, 403, 202, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401),
}
# fmt: on

MISSING = {"pack": 900000004}
PARTS = ("day", "month", "year")


@pytest.fixture
def pack(arranged: Arranged, world: World) -> int:
    with committing():
        report = services.request_report(
            "disclosure", {"subject": world.subject.pk}, user=world.fay
        )
    return report.pk


def test_every_reports_page_and_endpoint_answers_each_viewer_as_the_table_says(
    arranged: Arranged, pack: int
) -> None:
    pages, api = browsers(arranged), api_clients(arranged)
    ids = {"pack": pack}
    assert GETS.keys() == GOT.keys()
    problems: list[str] = []

    for name, template in GETS.items():
        url = template.format(**ids)
        clients: dict[str | None, Any] = api if url.startswith("/api/") else pages
        for viewer, wanted in zip(VIEWERS, GOT[name], strict=True):
            before = written()
            reports = Report.objects.count()
            response = clients[viewer].get(url)
            wrote = written() != before or Report.objects.count() != reports
            # A download writes its audit event and access event: that is not a refusal's write.
            problems += check(viewer, f"GET {url}", response.status_code, wanted, response, wrote)
            if response.status_code == 404:
                missing = clients[viewer].get(template.format(**MISSING))
                if missing.status_code != 404 or body(response, pack) != body(
                    missing, MISSING["pack"]
                ):
                    problems.append(f"{viewer}, GET {url}: not answered as a missing one")

    assert not problems, "\n".join(problems)


def body(response: Any, report_id: int) -> str:
    return comparable(response, {"record": 0, "challenge": 0}).replace(
        f"report {report_id}", "report N"
    )


def test_every_way_of_asking_answers_each_viewer_as_the_table_says(
    arranged: Arranged, world: World
) -> None:
    pages, api = browsers(arranged), api_clients(arranged)
    period = {"from": "2026-01-01", "to": "2026-03-31"}
    forms: dict[str, dict[str, Any]] = {
        "fay's pack": {"kind": "disclosure", "subject": world.subject.pk},
        "fay's case file": {"kind": "case_file", "case": world.case.pk},
        "oversight": {
            "kind": "oversight",
            "start_day": "1",
            "start_month": "1",
            "start_year": "2026",
            "end_day": "31",
            "end_month": "3",
            "end_year": "2026",
        },
    }
    bodies: dict[str, dict[str, Any]] = {
        "api fay's pack": {"kind": "disclosure", "params": {"subject": world.subject.pk}},
        "api fay's case file": {"kind": "case_file", "params": {"case": world.case.pk}},
        "api oversight": {"kind": "oversight", "params": period},
    }
    problems: list[str] = []

    for name, statuses in ASKS.items():
        for viewer, wanted in zip(VIEWERS, statuses, strict=True):
            before = written()
            reports = Report.objects.count()
            response: Any
            if name in bodies:
                response = api[viewer].post("/api/v1/reports/", bodies[name], format="json")
            else:
                response = pages[viewer].post("/reports/new/", forms[name])
            made = Report.objects.count() - reports
            wrote = written() != before or made != 0
            problems += check(viewer, name, response.status_code, wanted, response, wrote)
            if response.status_code in (202, 302) and viewer is not None and made != 1:
                problems.append(f"{viewer}, {name}: asked, yet {made} reports were made")

    assert not problems, "\n".join(problems)

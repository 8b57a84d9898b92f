"""Report PDFs read back with pypdf; the same bytes from the same HTML and snapshot; no fetches.

Most tests render one small document through the base template (a fraction of a second); the
60-page table is the one slow render, done once.
"""

import io
import logging
import re
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pypdf
import pytest
import time_machine
from django.db import transaction
from django.template import engines
from django.template.loader import render_to_string
from django.test import override_settings

from audit import log
from audit.actors import system_actor
from audit.models import AuditEvent
from reports.rendering import (
    DOCUMENT_BASE_URL,
    RefusedFetch,
    RefusedFetches,
    RenderedPdf,
    Snapshot,
    SnapshotNotFound,
    StaticFilesOnly,
    current_snapshot,
    pdf_identifier,
    render_pdf,
    snapshot_at,
)

SNAPSHOT = Snapshot(
    seq=4217,
    hash="3fa9c1d2e4b5" + "a1" * 26,
    at=datetime(2025, 3, 14, 10, 2, 3, 456789, tzinfo=UTC),
)
TITLE = "Oversight report, 1 April 2024 to 31 March 2025"
IDENTIFIER = 'oversight:{"from":"2024-04-01","to":"2025-03-31"}'


def report_html(
    snapshot: Snapshot = SNAPSHOT, *, rows: int = 40, body: str = "", **context: Any
) -> str:
    """A report through the base template: a summary and a table of ``rows`` rows."""
    table = "".join(
        f"<tr><td>{i}</td><td>Group {i}</td><td class='numeric'>{i * 3}</td></tr>"
        for i in range(rows)
    )
    child = (
        "{% extends 'reports/pdf/base.html' %}"
        "{% block summary %}<p>What this report found, in one paragraph.</p>{% endblock %}"
        "{% block body %}<h2>Flags per group</h2>"
        "<table><thead><tr><th>Number</th><th>Group label</th><th class='numeric'>Flags</th>"
        "</tr></thead><tbody>" + table + "</tbody></table>" + body + "{% endblock %}"
    )
    values = {
        "title": TITLE,
        "kind_label": "Oversight report",
        "parameters": [("Period", "1 April 2024 to 31 March 2025")],
        "requested_by": "An oversight user",
        "requested_as": "oversight",
        "snapshot": snapshot,
        **context,
    }
    return engines["django"].from_string(child).render(values)


def render(html: str | None = None, snapshot: Snapshot = SNAPSHOT, **kwargs: Any) -> RenderedPdf:
    return render_pdf(
        report_html(snapshot) if html is None else html,
        snapshot=snapshot,
        title=kwargs.get("title", TITLE),
        identifier=kwargs.get("identifier", IDENTIFIER),
    )


def read(pdf: RenderedPdf) -> pypdf.PdfReader:
    return pypdf.PdfReader(io.BytesIO(pdf.content))


def file_id(pdf: RenderedPdf) -> str:
    """The first half of the PDF's /ID: the document's permanent identity."""
    trailer: Any = read(pdf).trailer
    return str(trailer["/ID"][0])


def page_texts(pdf: RenderedPdf) -> list[str]:
    return [page.extract_text() for page in read(pdf).pages]


@pytest.fixture(scope="module")
def rendered() -> RenderedPdf:
    return render()


# --- what the PDF says --------------------------------------------------------------------------


def test_each_page_carries_the_title_the_snapshot_and_its_number(rendered: RenderedPdf) -> None:
    texts = page_texts(rendered)
    assert rendered.pages == len(texts) == 2
    snapshot_line = "Data as of audit event 4217 (hash 3fa9c1d2e4b5…)"
    for number, text in enumerate(texts, start=1):
        assert TITLE in text
        assert snapshot_line in text
        assert f"Page {number} of 2" in text
        assert "Oversight report" in text


def test_the_first_page_says_what_the_report_is_of_who_asked_and_from_which_data(
    rendered: RenderedPdf,
) -> None:
    first = " ".join(page_texts(rendered)[0].split())
    assert "OVERSIGHT REPORT" in first  # the kind, in the box's small capitals
    assert "Period 1 April 2024 to 31 March 2025" in first
    assert "Requested by An oversight user, as oversight" in first
    assert "recorded 14 March 2025, 10:02:03 UTC" in first
    assert SNAPSHOT.hash[:60] in first.replace(" ", "")
    assert "What this report found, in one paragraph." in first
    assert "Superseded" not in first


def test_a_superseded_report_says_so_on_its_first_page_and_in_every_footer() -> None:
    html = report_html(
        rows=60, superseded=True, fresh_report_url="https://scrutiny.example/reports/new"
    )
    texts = page_texts(render(html))
    assert "SUPERSEDED" in texts[0]
    assert "https://scrutiny.example/reports/new" in texts[0]
    assert len(texts) > 1
    assert all("Superseded by a correction" in text for text in texts)


def test_the_metadata_comes_from_the_snapshot_and_the_caller(rendered: RenderedPdf) -> None:
    reader = read(rendered)
    metadata = reader.metadata
    assert metadata is not None
    assert metadata["/Title"] == TITLE
    assert metadata["/CreationDate"] == metadata["/ModDate"] == "D:20250314100203Z"
    assert metadata["/Subject"] == (
        "Data as of audit event 4217 (hash 3fa9c1d2e4b5…), 2025-03-14T10:02:03Z"
    )
    assert metadata["/Creator"] == "Scrutiny"
    assert str(metadata["/Producer"]).startswith("WeasyPrint ")
    assert file_id(rendered).encode("ascii") == pdf_identifier(IDENTIFIER, SNAPSHOT)
    # PDF/A-2a: XMP metadata declaring it, a tagged structure, and the document's language.
    root: Any = reader.trailer["/Root"]
    xmp = root["/Metadata"].get_object().get_data()
    assert b'pdfaid:part="2"' in xmp
    assert b'pdfaid:conformance="A"' in xmp
    assert "/StructTreeRoot" in root
    assert root["/Lang"] == "en-GB"


def test_the_fonts_are_the_systems_dejavu_or_liberation(rendered: RenderedPdf) -> None:
    pages: list[Any] = list(read(rendered).pages)
    fonts = {
        str(font.get_object()["/BaseFont"]).split("+", 1)[-1]
        for page in pages
        for font in page["/Resources"]["/Font"].values()
    }
    assert fonts
    assert all(name.startswith(("DejaVu", "Liberation")) for name in fonts), fonts


def test_the_stylesheet_is_the_one_file_fetched_and_it_came_from_the_static_files(
    rendered: RenderedPdf,
) -> None:
    assert rendered.static_files == (f"{DOCUMENT_BASE_URL}static/reports/print.css",)
    assert rendered.seconds > 0
    assert rendered.size == len(rendered.content)
    assert len(rendered.sha256) == 64


def test_a_long_table_repeats_its_header_row_on_every_page_and_splits_no_row() -> None:
    # Tall rows of two lines: 60 pages from few rows, so that the render stays short.
    rows = "".join(
        f"<tr style='height: 22mm'><td>{i}</td><td>Group {i}<br>continued {i}</td>"
        f"<td>{i * 7}</td></tr>"
        for i in range(650)
    )
    body = (
        "<h2>Every group</h2><table><thead><tr><th>Row number</th><th>Group label</th>"
        f"<th>Flags raised</th></tr></thead><tbody>{rows}</tbody></table>"
    )
    pdf = render(report_html(rows=0, body=body))
    texts = page_texts(pdf)
    assert pdf.pages == len(texts) >= 60
    for number in (2, 30, 60):
        text = texts[number - 1]
        assert "Row number Group label Flags raised" in text, number
        assert f"Page {number} of {pdf.pages}" in text
    # Each row's two lines are on the same page, and every row is somewhere.
    seen: list[str] = []
    for text in texts:
        starts = set(re.findall(r"^\d+ Group (\d+)", text, flags=re.MULTILINE))
        continued = set(re.findall(r"continued (\d+)", text))
        assert starts == continued
        seen.extend(starts)
    assert sorted(seen, key=int) == [str(i) for i in range(650)]


# --- the same bytes -----------------------------------------------------------------------------


def test_the_same_html_and_snapshot_give_the_same_bytes(rendered: RenderedPdf) -> None:
    assert render().content == rendered.content


def test_the_clock_does_not_reach_the_file(rendered: RenderedPdf) -> None:
    with time_machine.travel(datetime(2031, 7, 9, 23, 59, 58, tzinfo=UTC), tick=False):
        later = render()
    assert later.content == rendered.content
    assert b"2031" not in later.content


def test_another_snapshot_gives_other_bytes(rendered: RenderedPdf) -> None:
    other = Snapshot(SNAPSHOT.seq + 1, "7" * 64, SNAPSHOT.at)
    assert render(snapshot=other).content != rendered.content
    # Even with the same HTML, the snapshot alone changes the file: its /ID and its dates.
    same_html_later = Snapshot(SNAPSHOT.seq, SNAPSHOT.hash, datetime(2025, 3, 15, tzinfo=UTC))
    reader = pypdf.PdfReader(io.BytesIO(render(report_html(), same_html_later).content))
    assert reader.metadata is not None
    assert reader.metadata["/CreationDate"] == "D:20250315000000Z"
    another_chain = Snapshot(SNAPSHOT.seq, "b" * 64, SNAPSHOT.at)
    assert file_id(render(report_html(), another_chain)) != file_id(rendered)


def test_another_identifier_changes_only_the_documents_identity(rendered: RenderedPdf) -> None:
    other = render(identifier="oversight:{}")
    assert other.content != rendered.content
    assert file_id(other) != file_id(rendered)
    assert page_texts(other) == page_texts(rendered)


# --- fetching nothing ---------------------------------------------------------------------------


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Every attempt to open a connection or resolve a name, recorded and refused."""
    attempts: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(args)
        raise OSError("the network is off in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    yield attempts


HOSTILE = """
<style>
  @import url(http://example.com/evil.css);
  @font-face { font-family: Remote; src: url(https://fonts.example.com/remote.woff2); }
  .remote { font-family: Remote; background: url(//example.net/tracker.gif); }
</style>
<p class="remote">Remote text</p>
<img src="http://example.com/x.png" alt="">
<img src="file:///etc/passwd" alt="">
<img src="/static/../settings.py" alt="">
<img src="/static/%2e%2e/config/settings.py" alt="">
<img src="/static/govuk/assets/fonts/light-94a07e06a1-v2.woff2" alt="">
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" alt="">
<link rel="attachment" href="/etc/hostname">
<svg width="20" height="20"><image href="http://example.com/chart.png" width="9" height="9"/></svg>
"""


def test_nothing_outside_the_static_files_is_fetched_and_the_render_fails_loudly(
    no_network: list[Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="reports.rendering")
    with pytest.raises(RefusedFetches) as refused:
        render(report_html(rows=1, body=HOSTILE))
    expected = [
        "http://example.com/evil.css",
        "https://fonts.example.com/remote.woff2",
        "https://example.net/tracker.gif",
        "http://example.com/x.png",
        "file:///etc/passwd",
        f"{DOCUMENT_BASE_URL}settings.py",
        f"{DOCUMENT_BASE_URL}static/%2e%2e/config/settings.py",
        f"{DOCUMENT_BASE_URL}static/govuk/assets/fonts/light-94a07e06a1-v2.woff2",
        "data:image/gif;base64,R0lGODlhAQABAAAAACw=",
        f"{DOCUMENT_BASE_URL}etc/hostname",
        "http://example.com/chart.png",
    ]
    assert sorted(refused.value.urls) == sorted(expected)
    assert no_network == []
    logged = [r.getMessage() for r in caplog.records if r.name == "reports.rendering"]
    assert len(logged) == len(expected)
    assert all(message.startswith("Refused to fetch ") for message in logged)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://example.com/static/reports/print.css", "not one of the project's static files"),
        ("https://scrutiny.invalid.example.com/static/x.css", "not one of the project's static"),
        ("file:///work/reports/static/reports/print.css", "not one of the project's static"),
        ("data:text/css,p{}", "not one of the project's static files"),
        (f"{DOCUMENT_BASE_URL}reports/print.css", "not one of the project's static files"),
        (f"{DOCUMENT_BASE_URL}static/reports/print.css?v=2", "by its path alone"),
        (f"{DOCUMENT_BASE_URL}static/../config/settings.py", "not a plain path"),
        (f"{DOCUMENT_BASE_URL}static/reports/%2E%2E/%2E%2E/config/settings.py", "not a plain"),
        (f"{DOCUMENT_BASE_URL}static//etc/passwd.css", "not a plain path"),
        (f"{DOCUMENT_BASE_URL}static/%2Fetc/passwd.css", "not a plain path"),
        (f"{DOCUMENT_BASE_URL}static/reports%5C..%5Cx.css", "not a plain path"),
        (f"{DOCUMENT_BASE_URL}static/images/favicon.js", "not a stylesheet or an image"),
        (f"{DOCUMENT_BASE_URL}static/reports/missing.css", "no such static file"),
    ],
)
def test_the_fetcher_refuses_before_any_io(url: str, reason: str) -> None:
    with pytest.raises(RefusedFetch, match=reason):
        StaticFilesOnly().static_file(url)


def test_the_fetcher_serves_the_projects_own_static_files() -> None:
    fetcher = StaticFilesOnly()
    stylesheet = fetcher.fetch(f"{DOCUMENT_BASE_URL}static/reports/print.css")
    assert stylesheet.content_type == "text/css"
    assert b"@page" in stylesheet.read()
    icon = fetcher.fetch(f"{DOCUMENT_BASE_URL}static/images/favicon.svg#whole")
    assert icon.content_type == "image/svg+xml"
    assert fetcher.refused == []
    assert len(fetcher.served) == 2


def test_a_link_out_of_a_static_directory_is_refused(tmp_path: Path) -> None:
    static = tmp_path / "static"
    static.mkdir()
    (static / "inside.css").write_text("p { color: black }")
    outside = tmp_path / "secret.css"
    outside.write_text("p { color: red }")
    (static / "escape.css").symlink_to(outside)
    with override_settings(STATICFILES_DIRS=[static]):
        fetcher = StaticFilesOnly()
        path, _type = fetcher.static_file(f"{DOCUMENT_BASE_URL}static/inside.css")
        assert path == (static / "inside.css").resolve()
        with pytest.raises(RefusedFetch, match="outside the static files"):
            fetcher.static_file(f"{DOCUMENT_BASE_URL}static/escape.css")


# --- the snapshot -------------------------------------------------------------------------------


def test_a_snapshot_must_be_dated_in_a_time_zone_and_hashed() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Snapshot(1, "a" * 64, datetime(2025, 1, 1))  # noqa: DTZ001
    with pytest.raises(ValueError, match="SHA-256"):
        Snapshot(1, "abc", SNAPSHOT.at)


@pytest.mark.django_db
def test_the_snapshot_is_the_head_of_the_audit_chain() -> None:
    with transaction.atomic():
        event = log.record("workforce.imported", ("workforce.extract", 1), actor=system_actor())
    head = AuditEvent.objects.get(seq=event.seq)
    snapshot = current_snapshot()
    assert (snapshot.seq, snapshot.hash, snapshot.at) == (head.seq, head.hash, head.occurred_at)
    assert snapshot_at(head.seq, head.hash) == snapshot
    with pytest.raises(SnapshotNotFound):
        snapshot_at(head.seq, "0" * 64)
    with pytest.raises(SnapshotNotFound):
        snapshot_at(head.seq + 1, head.hash)


def test_the_base_template_links_the_print_stylesheet_from_the_static_files() -> None:
    html = render_to_string(
        "reports/pdf/base.html",
        {"title": TITLE, "kind_label": "Case file", "parameters": [], "snapshot": SNAPSHOT},
    )
    assert '<link rel="stylesheet" href="/static/reports/print.css">' in html
    assert SNAPSHOT.line in html

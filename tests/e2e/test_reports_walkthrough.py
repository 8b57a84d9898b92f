"""Reports walked through the pages in Chromium: an oversight user reads the oversight dashboard
for a period they pick, asks for the oversight report, watches its page and downloads the PDF; the
demo subject asks for their disclosure pack and downloads it. Each file is checked to be a PDF
whose SHA-256 is the one its page shows. axe-core runs on every page on the way.

The e2e server renders in-process, with no broker: a report may be finished by the time its page
first loads, and the test accepts either state there, then waits for the download.
"""

import hashlib
import re
from datetime import date, timedelta
from pathlib import Path

from django.utils import timezone
from playwright.sync_api import Locator, Page, expect

from tests.e2e.axe import assert_accessible
from tests.e2e.pages import RENDER_TIMEOUT_MS, sign_in, sign_out, submit_rendering
from tests.e2e.server import Site

OVERSIGHT = "oversight1"
SUBJECT = "subject1"
REPORT_PATH = re.compile(r"/reports/(\d+)/$")
DOWNLOAD = re.compile(r"^Download the PDF")
SHA256 = re.compile(r"^[0-9a-f]{64}$")


def fill_date(form: Locator, legend: str, day: date) -> None:
    """Fill the GOV.UK date input whose fieldset is ``legend`` in ``form``."""
    group = form.get_by_role("group", name=legend)
    group.get_by_label("Day").fill(str(day.day))
    group.get_by_label("Month").fill(str(day.month))
    group.get_by_label("Year").fill(str(day.year))


def long_date(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


def read_the_dashboard(page: Page, first: date, last: date) -> None:
    page.goto("/oversight/")
    expect(page.get_by_role("heading", name="Oversight", level=1)).to_be_visible()
    assert_accessible(page, "the oversight dashboard")

    picker = page.locator("form[method=get]").filter(
        has=page.get_by_role("button", name="Show the period")
    )
    fill_date(picker, "From", first)
    fill_date(picker, "To", last)
    picker.get_by_role("button", name="Show the period").click()

    expect(page).to_have_url(re.compile(rf"start_day={first.day}&"))
    expect(page.locator("main")).to_contain_text(f"from {long_date(first)} to {long_date(last)}")
    for heading in ("Detectors", "Cases", "Challenges", "Threshold policies in force", "Fairness"):
        expect(page.get_by_role("heading", name=heading, level=2)).to_be_visible()
    detectors = page.locator("table", has_text="Detector version").first
    expect(detectors.locator("tbody tr").first).to_be_visible()
    disability = page.get_by_role("heading", name="Disability", level=3)
    expect(disability).to_be_visible()
    charts = page.locator("figure svg[role=img]")
    expect(charts.first).to_be_visible()
    assert charts.count() >= 2, "the precision chart and a disparity chart per characteristic"
    expect(page.locator("figure figcaption").first).to_contain_text("the same figures are in")
    assert_accessible(page, "the oversight dashboard for a chosen period")


def ask(page: Page, button: Locator) -> None:
    """Press a button that asks for a report: with no broker it renders in the request itself."""
    submit_rendering(page, button, REPORT_PATH)


def the_report_page(page: Page, kind: str) -> str:
    """On a report's page just after asking for it: either its progress or the finished report;
    then, once it is ready, the download. Returns the report's number."""
    expect(page).to_have_url(REPORT_PATH)
    match = REPORT_PATH.search(page.url)
    assert match is not None
    report_id = match.group(1)
    expect(page.get_by_role("heading", level=1)).to_contain_text(kind)
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
        f"Report {report_id} is being prepared"
    )
    progress_or_ready = page.locator("#report-progress").or_(
        page.get_by_role("link", name=DOWNLOAD)
    )
    expect(progress_or_ready.first).to_be_visible()
    assert_accessible(page, f"the {kind.lower()}'s page as it first loads")

    expect(page.get_by_role("link", name=DOWNLOAD)).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    expect(page.locator("#report-status")).to_have_text("Ready")
    expect(page.locator("#report-progress")).to_have_count(0)
    assert_accessible(page, f"the finished {kind.lower()}'s page")
    return report_id


def download_and_check(page: Page, tmp_path: Path, report_id: str) -> None:
    """Download the PDF with the page's button; it is a PDF, and its SHA-256 is the page's."""
    shown = page.locator("code.scrutiny-hash").inner_text().strip()
    assert SHA256.match(shown), f"no SHA-256 on the page (found {shown!r})"
    with page.expect_download() as info:
        page.get_by_role("link", name=DOWNLOAD).click()
    download = info.value
    assert download.suggested_filename.endswith(f"-{report_id}.pdf")
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    content = target.read_bytes()
    assert content.startswith(b"%PDF"), content[:20]
    assert hashlib.sha256(content).hexdigest() == shown


def listed_as_ready(page: Page, report_id: str) -> None:
    page.goto("/reports/")
    row = page.get_by_role("row").filter(
        has=page.get_by_role("link", name=f"Report {report_id}", exact=True)
    )
    expect(row.locator(".govuk-tag")).to_have_text("Ready")
    assert_accessible(page, "the reports page with a finished report")


def test_an_oversight_user_reads_the_dashboard_and_downloads_the_oversight_report(
    page: Page, site: Site, tmp_path: Path
) -> None:
    today = timezone.localdate()
    first, last = today - timedelta(days=179), today
    sign_in(page, site, OVERSIGHT)
    read_the_dashboard(page, first, last)

    page.goto("/reports/")
    expect(page.get_by_role("heading", name="Reports", level=1)).to_be_visible()
    assert_accessible(page, "the oversight user's reports page")
    form = page.locator("form").filter(
        has=page.get_by_role("button", name="Prepare the oversight report")
    )
    fill_date(form, "From", first)
    fill_date(form, "To", last)
    ask(page, form.get_by_role("button", name="Prepare the oversight report"))

    report_id = the_report_page(page, "Oversight report")
    expect(page.get_by_role("heading", level=1)).to_contain_text(long_date(first))
    download_and_check(page, tmp_path, report_id)
    listed_as_ready(page, report_id)
    sign_out(page)


def test_the_subject_asks_for_and_downloads_their_disclosure_pack(
    page: Page, site: Site, tmp_path: Path
) -> None:
    sign_in(page, site, SUBJECT)
    page.goto("/reports/")
    expect(page.get_by_role("heading", name="Your disclosure pack", level=2)).to_be_visible()
    assert_accessible(page, "the subject's reports page")
    ask(page, page.get_by_role("button", name="Prepare my disclosure pack"))

    report_id = the_report_page(page, "Disclosure pack")
    download_and_check(page, tmp_path, report_id)
    listed_as_ready(page, report_id)
    sign_out(page)

"""A case walked from open to closed by two reviewers, and another to referred by two senior
reviewers, through the pages in Chromium, with axe-core run on every page on the way."""

import re

from playwright.sync_api import Page, expect

from tests.e2e.axe import assert_accessible
from tests.e2e.pages import sign_in, sign_out
from tests.e2e.server import Site

REASONS = {
    "start_review": "Taking this case: the flags are recent and nobody has looked yet.",
    "recommend": "The records explain the pattern; see the roster and the approvals.",
    "sign_off": "I have read the evidence and agree with the recommendation.",
    "sign_referral": "The evidence supports an investigation; the subject has been told.",
}


def open_cases(page: Page) -> list[str]:
    """The links to open cases in the queue, oldest waiting first."""
    page.goto("/cases/?status=open")
    assert_accessible(page, "the work queue")
    links = page.locator("table.govuk-table a.govuk-link")
    return [str(links.nth(i).get_attribute("href")) for i in range(links.count())]


def take(page: Page, action: str, outcome: str | None = None) -> None:
    """Fill in and submit the action's form on the case page, and check it was recorded."""
    form = page.locator(f'form[data-action="{action}"]')
    expect(form).to_be_visible()
    if outcome:
        form.get_by_label(outcome, exact=True).check()
    form.get_by_label("Your reasons").fill(REASONS[action])
    form.get_by_label(re.compile("I declare that I have no conflict of interest")).check()
    form.get_by_role("button").click()
    banner = page.locator(".govuk-notification-banner--success .govuk-notification-banner__heading")
    expect(banner).to_have_text(re.compile(r"^\s*You \w+ .*\.\s*$"))
    assert_accessible(page, f"the case page after {action}")


def test_a_case_is_closed_by_two_reviewers(page: Page, site: Site) -> None:
    sign_in(page, site, "reviewer1")
    case_url = open_cases(page)[0]
    page.goto(case_url)
    expect(page.get_by_role("heading", name="Why this case opened")).to_be_visible()
    assert_accessible(page, "an open case")
    take(page, "start_review")
    take(page, "recommend", outcome="No further action")
    expect(page.locator('form[data-action="sign_off"]')).to_have_count(0)
    sign_out(page)

    sign_in(page, site, "reviewer2")
    page.goto(case_url)
    take(page, "sign_off")

    expect(page.locator("strong.govuk-tag").first).to_have_text("Closed")
    expect(page.get_by_text("Nothing: this case is finished.")).to_be_visible()
    page.get_by_text("The case:", exact=False).click()
    expect(page.get_by_text("awaiting_sign_off → closed")).to_be_visible()


def test_a_case_is_referred_by_two_senior_reviewers(page: Page, site: Site) -> None:
    sign_in(page, site, "reviewer1")
    case_url = open_cases(page)[0]
    page.goto(case_url)
    take(page, "start_review")
    take(page, "recommend", outcome="Referral for misconduct investigation")
    sign_out(page)

    sign_in(page, site, "senior1")
    page.goto(case_url)
    take(page, "sign_referral")
    expect(page.locator("strong.govuk-tag").first).to_have_text("Awaiting sign-off")
    expect(page.locator('form[data-action="sign_referral"]')).to_have_count(0)
    sign_out(page)

    sign_in(page, site, "senior2")
    page.goto(case_url)
    take(page, "sign_referral")

    expect(page.locator("strong.govuk-tag").first).to_have_text(
        "Referred for misconduct investigation"
    )
    timeline = page.locator("ol.scrutiny-timeline")
    expect(timeline).to_contain_text("Second signature: Referral for misconduct investigation")
    expect(timeline).to_contain_text("Subject notified")


def test_a_refusal_is_shown_on_the_page(page: Page, site: Site) -> None:
    sign_in(page, site, "reviewer1")
    page.goto(open_cases(page)[0])
    form = page.locator('form[data-action="start_review"]')
    form.get_by_label("Your reasons").fill("too short")
    form.get_by_role("button").click()

    expect(page.locator(".govuk-error-summary")).to_contain_text(
        "Give your reasons in at least 20 characters."
    )
    expect(page).to_have_title(re.compile("^Error: "))
    assert_accessible(page, "a case page showing an error")

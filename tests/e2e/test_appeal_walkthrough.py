"""A challenge walked from appointment to outcome through the pages in Chromium: the demo subject
appoints a representative, who files an "inaccurate" challenge to an overtime claim with a PDF;
a data steward takes and upholds it, withdrawing the record and with it the case; the subject
reads the outcome, its deadlines and who has viewed their record. axe-core runs on every page on
the way."""

import re
from datetime import timedelta
from pathlib import Path

from django.utils import timezone
from playwright.sync_api import Locator, Page, expect

from tests.appeals.test_attachments import pdf
from tests.e2e.axe import assert_accessible
from tests.e2e.pages import sign_in, sign_out, submit_rendering
from tests.e2e.server import Site

SUBJECT = "subject1"
REPRESENTATIVE = "representative1"
STEWARD = "steward1"
REVIEWER = "reviewer1"
GROUNDS = "My leave that day was cancelled so that I could work; the roster was never updated."
CORRECTION = "Overtime worked on a rest day; the annual leave shown was cancelled."
REASONS = "The leave cancellation is on file: the claim was for overtime worked, not leave."
# The demo subject's case rests on two overtime flags, each on one payroll claim of its own (the
# demo detector seed_demo_users registers): withdrawing the claim withdraws its flag, and the one
# flag left no longer meets the threshold, so the case is withdrawn.
CASE_FATE = "withdrawn because its data no longer meets the threshold"
# The link to challenge one of those claims, named by its source system and record id.
DEMO_CLAIM = re.compile(r"^Challenge this record\W+payroll-overtime DEMO-OT-")
DECLARATION = re.compile("I have no conflict of interest")
SUCCESS = ".govuk-notification-banner--success .govuk-notification-banner__heading"


def the_subjects_case(page: Page) -> str:
    """The number of the subject's live case, as their own record's page shows it."""
    page.goto("/me/")
    expect(page.get_by_role("heading", name="Your record", level=1)).to_be_visible()
    assert_accessible(page, "the subject's record")
    card = page.locator(".govuk-summary-card[id^=case-]").first
    case_id = str(card.get_attribute("id")).removeprefix("case-")
    assert case_id.isdigit(), f"no case on the subject's record (found {case_id!r})"
    return case_id


def success(page: Page) -> Locator:
    return page.locator(SUCCESS)


def appoint(page: Page, representative: str) -> None:
    """On the subject's representatives page: a grant for all cases, a month ahead."""
    page.goto("/me/representatives/")
    assert_accessible(page, "the subject's representatives page")
    until = timezone.localdate() + timedelta(days=30)
    page.get_by_label("Representative").select_option(representative)
    page.get_by_label("All my cases").check()
    page.get_by_label("Day").fill(str(until.day))
    page.get_by_label("Month").fill(str(until.month))
    page.get_by_label("Year").fill(str(until.year))
    page.get_by_role("button", name="Appoint").click()
    expect(success(page)).to_be_visible()
    expect(page.locator("table.govuk-table")).to_contain_text(representative)
    assert_accessible(page, "the representatives page after appointing")


def accept_and_open_the_record(page: Page) -> None:
    page.goto("/representing/")
    assert_accessible(page, "the representative's page")
    page.get_by_role("button", name=re.compile(r"^Accept grant \d+$")).click()
    expect(success(page)).to_be_visible()
    assert_accessible(page, "the representative's page after accepting")
    page.locator("#live ~ table a.govuk-link").first.click()
    expect(page.locator("#acting-for")).to_be_visible()
    assert_accessible(page, "the represented person's record")


def file_inaccurate_challenge(page: Page, attachment: Path) -> str:
    """From the record on screen, challenge the first of the demo detector's payroll claims (each
    the one record of its flag); return the challenge's number."""
    page.get_by_role("link", name=DEMO_CLAIM).first.click()
    expect(page.get_by_role("heading", name="Challenge this record", level=1)).to_be_visible()
    assert_accessible(page, "the challenge form")
    page.get_by_label("This is wrong").check()
    page.get_by_label("Your grounds").fill(GROUNDS)
    page.get_by_label("What the record should say").fill(CORRECTION)
    page.get_by_label(re.compile("^Documents that support your challenge")).set_input_files(
        attachment
    )
    page.get_by_role("button", name="File the challenge").click()
    expect(success(page)).to_contain_text("was filed")
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text(re.compile(r"^Challenge \d+$"))
    expect(page.get_by_role("link", name=attachment.name)).to_be_visible()
    expect(page.locator("#grounds")).to_have_text(GROUNDS)
    assert_accessible(page, "the filed challenge")
    return heading.inner_text().removeprefix("Challenge ")


def take_and_uphold(page: Page, challenge_id: str, case_id: str) -> None:
    page.goto("/adjudication/")
    assert_accessible(page, "the data steward's queue")
    page.get_by_role("link", name=f"Challenge {challenge_id}", exact=True).click()
    expect(page.get_by_role("heading", name="This is wrong", level=1)).to_be_visible()
    assert_accessible(page, "a challenge to take")

    page.get_by_label(DECLARATION).check()
    page.get_by_role("button", name="Take this challenge").click()
    expect(success(page)).to_contain_text(f"You took challenge {challenge_id}.")
    assert_accessible(page, "a challenge to decide")

    page.get_by_label("Upheld", exact=True).check()
    page.get_by_label("Withdraw the record", exact=True).check()
    page.get_by_label("Your reasons").fill(REASONS)
    page.get_by_label(DECLARATION).check()
    # The withdrawn record is in data the demo's reports used (the subject's disclosure pack, and
    # the oversight report of the year): they are superseded, and their marked editions rendered
    # in the request.
    submit_rendering(page, page.get_by_role("button", name="Decide this challenge"))
    message = success(page)
    expect(message).to_contain_text(f"You decided challenge {challenge_id}: upheld.")
    expect(message).to_contain_text("The record was withdrawn")
    expect(message).to_contain_text(f"case {case_id} {CASE_FATE}")
    expect(page.locator("strong.govuk-tag").first).to_have_text("Upheld")
    assert_accessible(page, "a decided challenge")


def test_a_representative_challenges_a_record_and_the_steward_upholds_it(
    page: Page, site: Site, tmp_path: Path
) -> None:
    sign_in(page, site, SUBJECT)
    case_id = the_subjects_case(page)
    sign_out(page)

    sign_in(page, site, REVIEWER)
    page.goto(f"/cases/{case_id}/")
    expect(page.get_by_role("heading", name="Why this case opened")).to_be_visible()
    assert_accessible(page, "the subject's case, as a reviewer sees it")
    sign_out(page)

    sign_in(page, site, SUBJECT)
    appoint(page, REPRESENTATIVE)
    sign_out(page)

    attachment = tmp_path / "task-log.pdf"
    attachment.write_bytes(pdf())
    sign_in(page, site, REPRESENTATIVE)
    accept_and_open_the_record(page)
    challenge_id = file_inaccurate_challenge(page, attachment)
    sign_out(page)

    sign_in(page, site, STEWARD)
    take_and_uphold(page, challenge_id, case_id)
    sign_out(page)

    sign_in(page, site, SUBJECT)
    page.goto("/me/")
    case = page.locator(f"#case-{case_id}")
    expect(case.locator(".govuk-summary-card__title")).to_have_text(f"Case {case_id}: Withdrawn")
    expect(case).to_contain_text("Evaluated again after a correction")
    challenges = page.locator("#challenges ~ table").first
    row = challenges.get_by_role("row").filter(has_text=f"Challenge {challenge_id}")
    expect(row).to_contain_text("Upheld")
    expect(row.locator("strong.govuk-tag", has_text="Met")).to_have_count(2)
    views = page.locator("#views ~ table").first
    for who in (STEWARD, REVIEWER):
        expect(views.get_by_role("row").filter(has_text=who).first).to_be_visible()
    on_their_behalf = views.get_by_role("row").filter(has_text=REPRESENTATIVE)
    expect(on_their_behalf.first).to_contain_text(SUBJECT)
    assert_accessible(page, "the subject's record after the decision")

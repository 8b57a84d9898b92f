"""Steps through Scrutiny's pages that many browser tests share."""

import re

from playwright.sync_api import Locator, Page, expect

from tests.e2e.server import Site

SIGN_IN_PATH = re.compile(r"/sign-in/")
# With no broker, as the e2e server runs, a report renders in the request that causes it: one
# asking for a report, and one whose decision supersedes a finished report (its marked edition is
# rendered). On a loaded machine that takes longer than a step's usual timeout.
RENDER_TIMEOUT_MS = 90_000


def sign_in(page: Page, site: Site, username: str) -> None:
    """Sign in as a demo user (``reviewer1``, ``senior1``, ... or ``admin``) through the form."""
    if username not in site.passwords:
        raise KeyError(f"No password for {username!r}; the site knows {sorted(site.passwords)}")
    page.goto(f"{site.base_url}/sign-in/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(site.passwords[username])
    page.get_by_role("button", name="Sign in").click()
    expect(page).not_to_have_url(SIGN_IN_PATH)


def sign_out(page: Page) -> None:
    """Sign out with the button in the service navigation; Scrutiny returns to the sign-in page."""
    page.get_by_role("navigation").get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(SIGN_IN_PATH)


def submit_rendering(page: Page, button: Locator, url: re.Pattern[str] | None = None) -> None:
    """Press a button whose request renders a report in-process, and wait for the page that
    answers (at ``url``, where given) for as long as a render may take."""
    with page.expect_navigation(url=url, timeout=RENDER_TIMEOUT_MS):
        button.click(no_wait_after=True)

"""Steps through Scrutiny's pages that many browser tests share."""

import re

from playwright.sync_api import Page, expect

from tests.e2e.server import Site

SIGN_IN_PATH = re.compile(r"/sign-in/")


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

"""The e2e harness itself: the server serves pages and static files, and axe runs on them."""

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.axe import assert_accessible
from tests.e2e.pages import sign_in, sign_out
from tests.e2e.server import Site


def test_accessibility_statement_renders_and_is_accessible(page: Page, site: Site) -> None:
    page.goto("/accessibility/")

    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Accessibility statement for Scrutiny"
    )
    assert_accessible(page, "the accessibility statement")


def test_stylesheet_is_served(site: Site) -> None:
    response = httpx.get(f"{site.base_url}/static/dist/scrutiny.css", timeout=10)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")


def test_a_reviewer_signs_in_and_out(page: Page, site: Site) -> None:
    sign_in(page, site, "reviewer1")
    sign_out(page)

    assert_accessible(page, "the sign-in page after signing out")

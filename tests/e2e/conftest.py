"""Browser tests: Chromium, driven by Playwright, against a real Scrutiny served by gunicorn.

Every test under tests/e2e is marked ``browser``: ``pytest -m browser`` runs only these,
``pytest -m "not browser"`` everything else. Nothing here is ever skipped: a missing Chromium or a
failed set-up fails the tests.

Playwright's sync API keeps an asyncio event loop running in the main thread while it is started,
and Django refuses database work there (SynchronousOnlyOperation). These tests never use the ORM:
they talk to the server only. The browser is scoped to this package, so its loop stops before the
tests collected after the package run (pytest-django runs tests without a database last, and
those include e2e and the tests after it alike).
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from tests.e2e.server import (
    SetUpTimings,
    Site,
    base_environment,
    fresh_database,
    running_server,
    seed,
)

CHROMIUM = Path("/usr/bin/chromium")
# Debian's Chromium, never a browser Playwright downloads (none is reachable from here).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# Fail a step in seconds rather than Playwright's 30 s default: the server is local.
ACTION_TIMEOUT_MS = 10_000
E2E_DIR = Path(__file__).resolve().parent
timings = SetUpTimings(steps={})
E2E_SET_UP = "e2e_set_up"


@pytest.hookimpl(tryfirst=True)  # before -m selects on the marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(E2E_DIR):
            item.add_marker(pytest.mark.browser)


def set_up_line() -> str:
    steps = ", ".join(f"{step} {seconds:.1f} s" for step, seconds in timings.steps.items())
    return f"e2e set-up: {steps}"


def pytest_sessionfinish(session: pytest.Session) -> None:
    # Under pytest-xdist this runs in the worker that ran the browser tests: it hands the line to
    # the controller, which prints it (tests/conftest.py).
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None and timings.steps:
        workeroutput[E2E_SET_UP] = set_up_line()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if timings.steps:
        terminalreporter.write_line(set_up_line())


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A seeded Scrutiny on a fresh database of the run's kind, served by gunicorn."""
    directory = tmp_path_factory.mktemp("e2e")
    with fresh_database(directory) as database_url:
        env = base_environment(database_url, directory / "private")
        passwords = seed(env, directory, timings)
        with running_server(env, directory / "server.log", timings) as base_url:
            yield Site(base_url=base_url, passwords=passwords)


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests need Debian's Chromium. `make test` "
            "installs it (apt-get install -y chromium); never `playwright install`.",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


EXPECTED_STATUS_ERROR = "Failed to load resource: the server responded with a status of 4"


@pytest.fixture
def page(browser: Browser, site: Site) -> Iterator[Page]:
    """A page in a context of its own, so each test starts signed out with no cookies.

    Fails the test if the browser reported a script error or a Content Security Policy
    violation on any page it visited.
    """
    context = browser.new_context(base_url=site.base_url)
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    page = context.new_page()
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        # A page answered 4xx on purpose (a refused action is a 409 page) is not a problem.
        if message.type == "error" and not message.text.startswith(EXPECTED_STATUS_ERROR):
            problems.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(str(error)))
    yield page
    context.close()
    assert not problems, f"the browser reported errors: {problems}"

"""Accessibility checks with axe-core, installed from npm by ``make install``."""

from functools import cache
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

AXE_SCRIPT = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.2 AA as far as a machine can check it, plus axe's best practices.
RULE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
FAILING_IMPACTS = {"serious", "critical"}

# Each violation reduced to what the message shows, so that little crosses from the browser.
RUN_AXE = """async (tags) => {
    const results = await axe.run(document, {runOnly: tags});
    return results.violations.map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        helpUrl: v.helpUrl,
        targets: v.nodes.map((n) => n.target.join(" ")),
    }));
}"""


@cache
def axe_source() -> str:
    if not AXE_SCRIPT.exists():
        pytest.fail(f"{AXE_SCRIPT} is missing: run `make install` (npm ci).", pytrace=False)
    return AXE_SCRIPT.read_text(encoding="utf-8")


def inject_axe(page: Page) -> None:
    if page.evaluate("() => typeof window.axe !== 'undefined'"):
        return
    # Evaluated through the DevTools protocol as a function body, not a <script> tag, so a
    # Content-Security-Policy without 'unsafe-inline' does not block it.
    page.evaluate("() => {\n" + axe_source() + "\n}")


def describe(violation: dict[str, Any]) -> str:
    targets = "".join(f"\n      {target}" for target in violation["targets"])
    return (
        f"  - {violation['id']} [{violation['impact']}]: {violation['help']} "
        f"({violation['helpUrl']}){targets}"
    )


def assert_accessible(page: Page, context: str) -> None:
    """Fail if axe finds a serious or critical violation on the page; print the lesser ones."""
    inject_axe(page)
    violations: list[dict[str, Any]] = page.evaluate(RUN_AXE, RULE_TAGS)
    failing = [v for v in violations if v["impact"] in FAILING_IMPACTS]
    lesser = [v for v in violations if v["impact"] not in FAILING_IMPACTS]
    if lesser:
        # Shown with the test's output when it fails (or with -s): worth knowing, not failing.
        print(
            f"Minor or moderate accessibility issues on {context} ({page.url}):\n"
            + "\n".join(describe(v) for v in lesser)
        )
    if failing:
        pytest.fail(
            f"Serious or critical accessibility violations on {context} ({page.url}):\n"
            + "\n".join(describe(v) for v in failing),
            pytrace=False,
        )

"""Fixtures shared by the whole suite: actors per role, detectors with tokens, a small force."""

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from rest_framework.test import APIClient

from audit.actors import Actor, Role, system_actor
from flags.models import Detector
from flags.services import register_detector
from tests.factories import NOW, TODAY, SubjectFactory
from tests.ingest_client import client_for

POSTGRES_ONLY = (
    "PostgreSQL only (a PostgreSQL feature, real concurrent transactions, or a transactional "
    "test whose flush the SQLite audit triggers refuse). It runs in the PostgreSQL CI pass: "
    "DATABASE_URL=postgres://... make test"
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason=POSTGRES_ONLY)
    for item in items:
        if item.get_closest_marker("postgres_only"):
            item.add_marker(skip)


# What pytest-xdist workers report back (tests/e2e/conftest.py): printed once, by the controller.
WORKER_LINES: list[str] = []


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    line = getattr(node, "workeroutput", {}).get("e2e_set_up")
    if line:
        WORKER_LINES.append(line)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for line in WORKER_LINES:
        terminalreporter.write_line(line)
    skipped = [
        report
        for report in terminalreporter.stats.get("skipped", [])
        if POSTGRES_ONLY in str(report.longrepr)
    ]
    if skipped:
        terminalreporter.write_sep(
            "!",
            f"{len(skipped)} PostgreSQL-only test(s) SKIPPED on {connection.vendor}: "
            "run the suite with DATABASE_URL=postgres://... to run them",
            yellow=True,
            bold=True,
        )


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    """Hashing a password the production way takes a good part of a second; tests make many."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def plain_http_test_client(settings: Any) -> None:
    """Django's test client speaks plain HTTP. With DEBUG off every request would be redirected to
    HTTPS, so tests switch the redirect off; tests of the redirect and of HSTS switch it back on
    or send ``secure=True``."""
    settings.SECURE_SSL_REDIRECT = False


@pytest.fixture
def frozen_today(time_machine: Any) -> Any:
    """Pin the clock to NOW (noon in London on TODAY): threshold windows end today."""
    time_machine.move_to(NOW, tick=False)
    return TODAY


@pytest.fixture
def admin_actor(db: Any) -> Actor:
    user = get_user_model().objects.create_user(
        username="admin.one", password="x" * 20, is_staff=True
    )
    return Actor(user=user, role=Role.ADMINISTRATOR)


@pytest.fixture
def system(db: Any) -> Actor:
    return system_actor()


@pytest.fixture
def detector_with_token(admin_actor: Actor) -> tuple[Detector, str]:
    detector, issued = register_detector("overtime", name="Overtime anomalies", actor=admin_actor)
    return detector, issued.token


@pytest.fixture
def detector(detector_with_token: tuple[Detector, str]) -> Detector:
    return detector_with_token[0]


@pytest.fixture
def detector_client(detector_with_token: tuple[Detector, str]) -> APIClient:
    return client_for(detector_with_token[1])


@pytest.fixture
def other_detector_with_token(admin_actor: Actor) -> tuple[Detector, str]:
    detector, issued = register_detector("access", name="System look-ups", actor=admin_actor)
    return detector, issued.token


@pytest.fixture
def make_subject(db: Any) -> Callable[..., Any]:
    return SubjectFactory


@pytest.fixture
def people(db: Any) -> dict[str, Any]:
    """A named user per role, plus an outsider with no role. Reviewers work in Professional
    Standards, apart from the force the cases are about; each is linked to their own record."""
    from accounts.services import create_user

    installer = Actor(user=system_actor().user, role=Role.SYSTEM)
    head = SubjectFactory.create(unit="Professional Standards", name="Head of Standards")
    users: dict[str, Any] = {}
    for username, role in (
        ("rita.reviewer", Role.REVIEWER),
        ("ravi.reviewer", Role.REVIEWER),
        ("sam.senior", Role.SENIOR_REVIEWER),
        ("sue.senior", Role.SENIOR_REVIEWER),
        ("dan.steward", Role.DATA_STEWARD),
        ("olive.oversight", Role.OVERSIGHT),
        ("alan.admin", Role.ADMINISTRATOR),
        ("sid.subject", Role.SUBJECT),
        ("rhea.rep", Role.REPRESENTATIVE),
    ):
        own = SubjectFactory.create(unit="Professional Standards", line_manager=head)
        users[username] = create_user(
            username, role=role, subject=own, password=PASSWORD, actor=installer
        )
    users["otto.outsider"] = get_user_model().objects.create_user(
        "otto.outsider", password=PASSWORD
    )
    return users


PASSWORD = "correct horse battery staple"

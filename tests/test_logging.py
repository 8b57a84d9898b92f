"""Logging: one line per message, and a refused request (403, 404) as one line, no traceback."""

import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

PROJECT = Path(__file__).resolve().parent.parent

# Logged as Django logs a refused request, with the exception attached, once DEBUG is on (the
# demo's setting, under which Django's own console handler used to print a second copy).
LOG_A_REFUSAL_AND_A_WARNING = """
import django, logging
from django.core.exceptions import PermissionDenied
django.setup()
try:
    raise PermissionDenied("not yours")
except PermissionDenied as exc:
    request_log = logging.getLogger("django.request")
    request_log.warning("Forbidden (Permission denied): %s", "/x/", exc_info=exc)
logging.getLogger("django.db.backends").warning("a warning from deeper in Django")
logging.getLogger("casework").warning("a warning of our own")
"""


def test_with_debug_on_each_message_prints_once_and_a_refusal_without_a_traceback() -> None:
    run = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", LOG_A_REFUSAL_AND_A_WARNING],
        cwd=PROJECT,
        env={
            "PATH": os.environ.get("PATH", ""),
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DOTENV_PATH": "",
            "DEBUG": "true",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    assert run.stderr.count("Forbidden (Permission denied): /x/") == 1
    assert run.stderr.count("a warning from deeper in Django") == 1
    assert run.stderr.count("a warning of our own") == 1
    assert "Traceback" not in run.stderr


@pytest.mark.django_db
def test_a_refused_page_is_logged_as_one_record_without_its_exception(
    people: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    client = Client()
    client.force_login(people["dan.steward"])

    with caplog.at_level(logging.WARNING):
        response = client.get("/cases/")

    assert response.status_code == 403
    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.getMessage() == "Forbidden (Permission denied): /cases/"
    assert record.exc_info is None


@pytest.mark.django_db
def test_a_missing_page_is_logged_as_one_record_without_its_exception(
    people: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    client = Client()
    client.force_login(people["rita.reviewer"])

    with caplog.at_level(logging.WARNING):
        response = client.get("/cases/999999/")

    assert response.status_code == 404
    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.exc_info is None

"""config.settings for challenges: the limits' defaults, start-up failing on a limit below 1, and
on private files that a static directory would serve."""

from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.settings import private_files_root
from tests.test_settings import PROJECT, start


def test_the_defaults(settings: Any) -> None:
    assert settings.CHALLENGE_ACKNOWLEDGE_WORKING_DAYS == 5
    assert settings.CHALLENGE_DECIDE_WORKING_DAYS == 20
    assert settings.CHALLENGE_ESCALATION_WINDOW_WORKING_DAYS == 10
    assert settings.CHALLENGE_GROUNDS_MAX_CHARS == 5000
    assert settings.CHALLENGE_REASONS_MIN_CHARS == 40
    assert settings.CHALLENGE_ATTACHMENT_MAX_BYTES == 10 * 1024 * 1024
    assert settings.CHALLENGE_ATTACHMENT_MAX_COUNT == 5
    assert settings.REPRESENTATION_MAX_DAYS == 365
    assert settings.PRIVATE_FILES_ROOT == PROJECT / "var" / "private"


def test_a_limit_below_one_fails_start_up() -> None:
    run = start(SECRET_KEY="x", CHALLENGE_ATTACHMENT_MAX_COUNT="0")

    assert run.returncode != 0
    assert (
        "ImproperlyConfigured: CHALLENGE_ATTACHMENT_MAX_COUNT=0 must be at least 1." in run.stderr
    )


def test_acknowledging_after_the_decision_is_due_fails_start_up() -> None:
    run = start(SECRET_KEY="x", CHALLENGE_ACKNOWLEDGE_WORKING_DAYS="25")

    assert run.returncode != 0
    assert "CHALLENGE_ACKNOWLEDGE_WORKING_DAYS=25 must not be more than" in run.stderr


@pytest.mark.parametrize(
    "root",
    [
        "staticfiles/private",  # inside the default STATIC_ROOT
        "static/uploads",  # inside a STATICFILES_DIRS entry
        "node_modules",  # a STATICFILES_DIRS entry lies inside it
    ],
)
def test_private_files_a_static_directory_would_serve_fail_start_up(root: str) -> None:
    run = start(SECRET_KEY="x", PRIVATE_FILES_ROOT=str(PROJECT / root))

    assert run.returncode != 0
    assert "ImproperlyConfigured: PRIVATE_FILES_ROOT=" in run.stderr
    assert "which is served as static files" in run.stderr


def test_private_files_beside_the_static_directories_start(tmp_path: Path) -> None:
    run = start(SECRET_KEY="x", PRIVATE_FILES_ROOT=str(tmp_path / "private"))

    assert run.returncode == 0, run.stderr


def test_private_files_root_resolves_links_before_comparing(tmp_path: Path) -> None:
    static = tmp_path / "static"
    (static / "private").mkdir(parents=True)
    (tmp_path / "innocent").symlink_to(static / "private")

    with pytest.raises(ImproperlyConfigured, match="which is served as static files"):
        private_files_root(tmp_path / "innocent", [static])
    elsewhere = tmp_path / "elsewhere"
    assert private_files_root(elsewhere, [static]) == elsewhere.resolve()

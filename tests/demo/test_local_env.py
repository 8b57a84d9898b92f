"""``python -m demo.local_env``: the development settings file ``make demo`` writes, read by
``config.settings`` so that ``manage.py`` works in the project directory afterwards."""

import os
import stat
import subprocess
import sys
from pathlib import Path

from demo.local_env import ensure_env_file
from tests.test_settings import settings_with

PROJECT = Path(__file__).resolve().parent.parent.parent


def test_the_file_holds_debug_and_a_new_key_for_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / ".env"

    assert ensure_env_file(path) is True

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    shown = settings_with(DOTENV_PATH=str(path))
    assert shown["debug"] is True
    assert len(shown["secret_key"]) >= 50
    assert shown["secret_key"] != settings_with(DEBUG="true")["secret_key"]


def test_an_existing_file_is_kept_so_sessions_survive(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    ensure_env_file(path)
    first = path.read_text(encoding="utf-8")

    assert ensure_env_file(path) is False
    assert path.read_text(encoding="utf-8") == first


def test_make_demo_writes_it_from_the_command_line(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    run = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "demo.local_env", str(path)],
        cwd=PROJECT,
        env={"PATH": os.environ.get("PATH", "")},
        capture_output=True,
        text=True,
        check=True,
    )

    assert f"Wrote {path}" in run.stdout
    assert "DEBUG=true" in path.read_text(encoding="utf-8")

"""A real Scrutiny for the browser tests: its own database, a seeded demo force, and gunicorn.

Everything runs in subprocesses against a database of its own, never pytest-django's test
database: the audit log's append-only triggers refuse the flush Django's live-server tests need
(docs/architecture.md, section 8), and a server in another process could not see a test's
uncommitted transaction anyway. The browser tests talk to the server only, never to the ORM.
"""

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
import pytest
from django.db import connection
from psycopg import sql

from config.settings import secret

ROOT = Path(__file__).resolve().parents[2]
# The interpreter running the tests is the project's venv (.venv/bin/python under make test);
# gunicorn and manage.py run from the same place.
BIN = Path(sys.executable).parent
SERVER_START_TIMEOUT_SECONDS = 30.0
DEMO_SUBJECTS = 1000
DEMO_SEED = 1
# Settings the test run may carry that must not leak into the e2e server: it has a database and
# a key of its own, and runs Celery tasks in-process as the embedded default does.
ISOLATED_VARIABLES = (
    "DATABASE_URL",
    "DATABASE_URL_FILE",
    "SECRET_KEY",
    "SECRET_KEY_FILE",
    "CELERY_BROKER_URL",
    "CELERY_BROKER_URL_FILE",
    "PRIVATE_FILES_ROOT",
)


@dataclass(frozen=True)
class Site:
    """A running Scrutiny: where it answers, and the password of each demo user (and admin)."""

    base_url: str
    passwords: dict[str, str]


@dataclass
class SetUpTimings:
    """Seconds spent on each step of the set-up, reported at the end of the run."""

    steps: dict[str, float]

    @contextmanager
    def measure(self, step: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.steps[step] = time.perf_counter() - started


def base_environment(database_url: str, private_root: Path) -> dict[str, str]:
    """The server's environment: its own database and key, and its own directory for private
    files (challenge attachments, rendered reports), so that nothing lands in the project's."""
    env = {k: v for k, v in os.environ.items() if k not in ISOLATED_VARIABLES}
    env["DATABASE_URL"] = database_url
    env["SECRET_KEY"] = secrets.token_urlsafe(50)
    env["PRIVATE_FILES_ROOT"] = str(private_root)
    return env


@contextmanager
def fresh_database(directory: Path) -> Iterator[str]:
    """Yield the DATABASE_URL of a new, empty database of the test run's kind; drop it after."""
    if connection.vendor == "sqlite":
        yield f"sqlite:///{directory / 'e2e.sqlite3'}"
    elif connection.vendor == "postgresql":
        with fresh_postgres_database() as url:
            yield url
    else:
        pytest.fail(f"The browser tests do not support {connection.vendor}.", pytrace=False)


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """A database ``scrutiny_e2e_<hex>`` on the test run's PostgreSQL server."""
    name = f"scrutiny_e2e_{secrets.token_hex(6)}"
    # The URL the run was given, with only the database name changed, so that credentials and
    # options carry over; the settings dict gives psycopg the server to create it on.
    run_url = urlsplit(secret("DATABASE_URL") or "")
    url = urlunsplit(run_url._replace(path=f"/{name}"))
    with maintenance_connection() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield url
    finally:
        with maintenance_connection() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def maintenance_connection() -> psycopg.Connection:
    settings = connection.settings_dict
    return psycopg.connect(
        dbname="postgres",
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        user=settings["USER"] or None,
        password=settings["PASSWORD"] or None,
        autocommit=True,
    )


def manage(env: dict[str, str], *args: str) -> None:
    """Run ``manage.py ARGS``; fail the set-up with its output if it fails."""
    command = [str(BIN / "python"), "manage.py", *args]
    result = subprocess.run(  # noqa: S603 (our own interpreter and arguments)
        command, cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode == 0:
        return
    hint = ""
    if f"Unknown command: '{args[0]}'" in result.stderr:
        hint = f"\nmanage.py {args[0]} does not exist: the browser tests need it for their set-up."
    pytest.fail(
        f"E2E set-up failed: {' '.join(command[1:])} exited with {result.returncode}.{hint}\n"
        f"--- stdout\n{result.stdout[-4000:]}\n--- stderr\n{result.stderr[-4000:]}",
        pytrace=False,
    )


def seed(env: dict[str, str], directory: Path, timings: SetUpTimings) -> dict[str, str]:
    """Migrate, build the demo force, create a user per role; return username -> password."""
    with timings.measure("migrate"):
        manage(env, "migrate", "--no-input")
    debug_env = {**env, "DEBUG": "true"}
    credentials = directory / "admin-credentials"
    users = directory / "users"
    # As `make demo` does: the cases tell their subjects at once, so that the demo subject sees
    # their case and may challenge the evidence behind it.
    demo_env = {**debug_env, "SUBJECT_NOTICE_DELAY_HOURS": "0"}
    with timings.measure("seed_demo"):
        manage(
            demo_env,
            "seed_demo",
            f"--subjects={DEMO_SUBJECTS}",
            f"--seed={DEMO_SEED}",
            "--run-detectors",
            f"--data-dir={directory / 'force'}",
            f"--credentials-file={credentials}",
        )
    with timings.measure("seed_demo_users"):
        manage(demo_env, "seed_demo_users", f"--users-file={users}")
    return {"admin": read_admin_password(credentials), **read_user_passwords(users)}


def read_admin_password(path: Path) -> str:
    for line in path.read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "password":
            return value.strip()
    pytest.fail(f"No 'password=' line in {path}.", pytrace=False)


def read_user_passwords(path: Path) -> dict[str, str]:
    """Parse seed_demo_users' file: one ``role username password token`` a line, ``#`` comments."""
    passwords = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        _role, username, password, _token = line.split()
        passwords[username] = password
    return passwords


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_server(env: dict[str, str], log_path: Path, timings: SetUpTimings) -> Iterator[str]:
    """Serve Scrutiny with gunicorn as production does (DEBUG off); yield its base URL."""
    port = free_port()
    server_env = {
        **env,
        "DEBUG": "false",
        # Cookies stay secure, as in production: Chromium treats http://127.0.0.1 as a secure
        # context and sends them back.
        "ALLOWED_HOSTS": "127.0.0.1",
        # Served over plain HTTP on the loopback address only, so there is no HTTPS to send
        # the browser to.
        "SECURE_SSL_REDIRECT": "false",
    }
    command = [
        str(BIN / "gunicorn"),
        "config.wsgi:application",
        f"--bind=127.0.0.1:{port}",
        "--workers=2",
        "--graceful-timeout=5",
    ]
    base_url = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        server = subprocess.Popen(  # noqa: S603 (our own gunicorn and arguments)
            command, cwd=ROOT, env=server_env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        with timings.measure("server start"):
            wait_until_up(base_url, server, log_path)
        yield base_url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def wait_until_up(base_url: str, server: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_SECONDS
    last_error = "no answer yet"
    while time.monotonic() < deadline:
        if server.poll() is not None:
            last_error = f"gunicorn exited with {server.returncode}"
            break
        try:
            response = httpx.get(f"{base_url}/accessibility/", timeout=2)
        except httpx.TransportError as exc:
            last_error = repr(exc)
        else:
            if response.status_code == 200:
                return
            last_error = f"/accessibility/ answered {response.status_code}"
        time.sleep(0.2)
    log = log_path.read_text(encoding="utf-8", errors="replace")[-6000:]
    pytest.fail(
        f"The e2e server at {base_url} did not come up ({last_error}).\n--- server log\n{log}",
        pytrace=False,
    )

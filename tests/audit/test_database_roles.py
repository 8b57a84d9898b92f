"""manage.py setup_database_roles and MIGRATE_DATABASE_URL: the owner role migrates, the
application role owns nothing and cannot change, delete or truncate the audit tables.

The PostgreSQL tests build a throwaway database and two throwaway roles, migrate it as the owner,
and connect as each role. Roles are cluster-wide, so their names are unique to the run and
dropped afterwards. Names start with ROLE_TEST_PREFIX (default: the configured database's name).
They expect trust authentication on the server, as the benchmarks do.
"""

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from psycopg import errors, sql

from config import settings as project_settings

PROJECT = Path(__file__).resolve().parent.parent.parent


# --- which role a process connects as (no database) ----------------------------------------------

APP_URL = "postgres://scrutiny_app@db.internal:5432/scrutiny"
OWNER_URL = "postgres://scrutiny_owner@db.internal:5432/scrutiny"


@pytest.fixture
def role_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", APP_URL)
    monkeypatch.setenv("MIGRATE_DATABASE_URL", OWNER_URL)


@pytest.mark.usefixtures("role_urls")
@pytest.mark.parametrize("command", ["migrate", "setup_database_roles"])
def test_migrate_and_role_setup_connect_as_the_owner(command: str) -> None:
    assert project_settings.database_url(["manage.py", command, "--no-input"]) == OWNER_URL


@pytest.mark.usefixtures("role_urls")
@pytest.mark.parametrize(
    "argv",
    [
        ["manage.py", "runserver"],
        ["manage.py", "verify_audit"],
        ["manage.py", "showmigrations"],
        ["gunicorn", "config.wsgi"],
        ["celery", "-A", "config", "worker"],
        ["manage.py"],
    ],
)
def test_everything_else_connects_as_the_application_role(argv: list[str]) -> None:
    assert project_settings.database_url(argv) == APP_URL


def test_without_migrate_database_url_migrate_uses_database_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", APP_URL)
    monkeypatch.delenv("MIGRATE_DATABASE_URL", raising=False)

    assert project_settings.database_url(["manage.py", "migrate"]) == APP_URL


def test_the_owners_url_can_come_from_a_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret = tmp_path / "migrate-url"
    secret.write_text(OWNER_URL + "\n", encoding="utf-8")
    monkeypatch.setenv("DATABASE_URL", APP_URL)
    monkeypatch.delenv("MIGRATE_DATABASE_URL", raising=False)
    monkeypatch.setenv("MIGRATE_DATABASE_URL_FILE", str(secret))

    assert project_settings.database_url(["manage.py", "migrate"]) == OWNER_URL


def test_the_owners_url_must_name_the_same_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", APP_URL)
    monkeypatch.setenv("MIGRATE_DATABASE_URL", OWNER_URL.replace("/scrutiny", "/other"))

    with pytest.raises(ImproperlyConfigured, match="must name the same database"):
        project_settings.database_url(["manage.py", "migrate"])


# --- refusals before any SQL ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("owner", "app", "message"),
    [
        ("Scrutiny Owner", "scrutiny_app", "use lower-case letters"),
        ("scrutiny_owner", 'app"; DROP ROLE postgres; --', "use lower-case letters"),
        ("scrutiny", "scrutiny", "must be different roles"),
    ],
)
def test_bad_role_names_are_refused(owner: str, app: str, message: str) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("setup_database_roles", owner=owner, app=app)


@pytest.mark.skipif(connection.vendor == "postgresql", reason="the SQLite refusal")
def test_on_sqlite_there_are_no_roles_to_set_up() -> None:
    with pytest.raises(CommandError, match="Database roles are for PostgreSQL, not sqlite"):
        call_command("setup_database_roles", owner="scrutiny_owner", app="scrutiny_app")


# --- on PostgreSQL: a migrated database and the two roles -----------------------------------------


@dataclass(frozen=True)
class Scratch:
    database: str
    owner: str
    app: str

    def url(self, role: str) -> str:
        server = settings.DATABASES["default"]
        return f"postgres://{role}@{server['HOST']}:{server['PORT'] or 5432}/{self.database}"

    def connect(self, role: str) -> psycopg.Connection[Any]:
        return psycopg.connect(self.url(role), autocommit=True)


def manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, "manage.py", *args],
        cwd=PROJECT,
        env={"PATH": os.environ.get("PATH", ""), "SECRET_KEY": "test", "DEBUG": "false", **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def succeeded(run: subprocess.CompletedProcess[str]) -> str:
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def _prefix() -> str:
    configured = os.environ.get("ROLE_TEST_PREFIX")
    return configured or str(settings.DATABASES["default"]["NAME"]).removeprefix("test_")


@pytest.fixture(scope="module")
def scratch() -> Iterator[Scratch]:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL roles")
    suffix = secrets.token_hex(4)
    prefix = _prefix()
    made = Scratch(f"{prefix}_{suffix}", f"{prefix}_owner_{suffix}", f"{prefix}_app_{suffix}")
    superuser = str(settings.DATABASES["default"]["USER"])
    with psycopg.connect(Scratch("postgres", "", "").url(superuser), autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(made.database)))
        try:
            roles = ["--owner", made.owner, "--app", made.app]
            succeeded(manage("setup_database_roles", *roles, DATABASE_URL=made.url(superuser)))
            as_roles = {
                "DATABASE_URL": made.url(made.app),
                "MIGRATE_DATABASE_URL": made.url(made.owner),
            }
            succeeded(manage("migrate", "--no-input", "-v0", **as_roles))
            succeeded(manage("setup_database_roles", *roles, **as_roles))
            yield made
        finally:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(made.database)
                )
            )
            for role in (made.app, made.owner):
                admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


TAMPERING = {
    "update the log": "UPDATE audit_auditevent SET reason = 'edited'",
    "delete the log's tail": "DELETE FROM audit_auditevent WHERE seq > 0",
    "truncate the log": "TRUNCATE audit_auditevent CASCADE",
    "update access events": "UPDATE audit_accessevent SET purpose = 'audit'",
    "delete access events": "DELETE FROM audit_accessevent",
    "truncate access events": "TRUNCATE audit_accessevent",
    "rewrite a decision": "UPDATE casework_decision SET rationale = 'rewritten'",
    "delete history": "DELETE FROM casework_historicalcase",
    "truncate an ordinary table": "TRUNCATE casework_case CASCADE",
    "disable the trigger": (
        "ALTER TABLE audit_auditevent DISABLE TRIGGER audit_auditevent_append_only"
    ),
    "disable every trigger": "ALTER TABLE audit_auditevent DISABLE TRIGGER ALL",
    "take ownership": "ALTER TABLE audit_auditevent OWNER TO CURRENT_USER",
    "drop the trigger": "DROP TRIGGER audit_auditevent_append_only ON audit_auditevent",
    "drop the table": "DROP TABLE audit_auditevent",
    "skip triggers": "SET session_replication_role = replica",
    "rewrite the migration record": "DELETE FROM django_migrations",
    "create a table": "CREATE TABLE own_table (id int)",
}


@pytest.mark.postgres_only
@pytest.mark.parametrize("statement", list(TAMPERING.values()), ids=list(TAMPERING))
def test_the_application_role_is_refused(scratch: Scratch, statement: str) -> None:
    with scratch.connect(scratch.app) as app, pytest.raises(errors.InsufficientPrivilege):
        app.execute(statement)


@pytest.mark.postgres_only
def test_the_application_role_does_its_ordinary_work(scratch: Scratch) -> None:
    """Through Scrutiny itself: an access log entry and its audit event, a user's sign-in time,
    a case row update, then the log verifies, all as the application role."""
    app_env = {"DATABASE_URL": scratch.url(scratch.app)}
    script = (
        "from audit.access import Shown, record_access\n"
        "from audit.actors import system_actor\n"
        "from django.db import connection\n"
        "actor = system_actor()\n"
        "record_access([Shown(1, 'flags.subject', 1)], actor=actor, channel='page', view='v',"
        " purpose='p')\n"
        "with connection.cursor() as cursor:\n"
        "    cursor.execute('UPDATE auth_user SET last_login = now() WHERE id = %s',"
        " [actor.user_id])\n"
        "    cursor.execute('UPDATE casework_case SET legal_hold = NOT legal_hold')\n"
    )

    succeeded(manage("shell", "-c", script, **app_env))

    verified = succeeded(manage("verify_audit", **app_env))
    assert verified.startswith("Audit chain intact: ")
    assert "audit.accessevent 1," in verified


@pytest.mark.postgres_only
def test_the_owner_owns_everything_and_the_application_role_nothing(scratch: Scratch) -> None:
    with scratch.connect(scratch.owner) as owner:
        owners = owner.execute(
            "SELECT DISTINCT pg_get_userbyid(c.relowner) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' "
            "UNION SELECT DISTINCT pg_get_userbyid(p.proowner) FROM pg_proc p "
            "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'"
        ).fetchall()
        member = owner.execute(
            "SELECT pg_has_role(%s, %s, 'MEMBER')", [scratch.app, scratch.owner]
        ).fetchone()
        rights = owner.execute(
            "SELECT rolsuper, rolcreaterole, rolbypassrls FROM pg_roles WHERE rolname = %s",
            [scratch.app],
        ).fetchone()

    assert owners == [(scratch.owner,)]
    assert member == (False,)
    assert rights == (False, False, False)


@pytest.mark.postgres_only
def test_a_table_a_later_migration_creates_gets_the_ordinary_grants(scratch: Scratch) -> None:
    with scratch.connect(scratch.owner) as owner:
        owner.execute("CREATE TABLE later_table (id bigserial PRIMARY KEY, n int)")
    try:
        with scratch.connect(scratch.app) as app:
            app.execute("INSERT INTO later_table (n) VALUES (1)")
            app.execute("UPDATE later_table SET n = 2")
            app.execute("DELETE FROM later_table")
            with pytest.raises(errors.InsufficientPrivilege):
                app.execute("TRUNCATE later_table")
    finally:
        with scratch.connect(scratch.owner) as owner:
            owner.execute("DROP TABLE later_table")


@pytest.mark.postgres_only
def test_the_owner_cannot_create_roles_so_only_a_superuser_sets_them_up(scratch: Scratch) -> None:
    run = manage(
        "setup_database_roles",
        "--owner",
        scratch.owner,
        "--app",
        f"{scratch.app}_new",
        DATABASE_URL=scratch.url(scratch.app),
        MIGRATE_DATABASE_URL=scratch.url(scratch.owner),
    )

    assert run.returncode == 1
    assert f"Only a superuser may create the role {scratch.app}_new" in run.stderr


@pytest.mark.postgres_only
def test_a_superuser_is_refused_as_the_application_role(scratch: Scratch) -> None:
    superuser = str(settings.DATABASES["default"]["USER"])

    run = manage(
        "setup_database_roles",
        "--owner",
        scratch.owner,
        "--app",
        superuser,
        DATABASE_URL=scratch.url(superuser),
    )

    assert run.returncode == 1
    assert f"The role {superuser} is a superuser" in run.stderr

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections

from audit.database_roles import RoleSetupRefused, set_up_roles


class Command(BaseCommand):
    help = (
        "Create or update Scrutiny's two PostgreSQL roles: OWNER owns every table and runs "
        "migrations; APP, for web and worker processes, owns nothing and may only SELECT and "
        "INSERT on the audit log, the access log and the other insert-only tables. Run it once as "
        "a superuser, then after every migrate (it connects as MIGRATE_DATABASE_URL when set)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--owner", required=True, help="the role that owns the tables")
        parser.add_argument("--app", required=True, help="the role web and workers connect as")
        parser.add_argument(
            "--app-password-file",
            type=Path,
            help="a file holding the application role's password (set only when given)",
        )
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args: Any, **options: Any) -> None:
        password = _read_password(options["app_password_file"])
        try:
            done = set_up_roles(
                connections[options["database"]],
                owner=options["owner"],
                app=options["app"],
                app_password=password,
            )
        except RoleSetupRefused as refused:
            raise CommandError(str(refused)) from refused
        for role in done.created:
            self.stdout.write(f"Created role {role}.")
        if done.reowned:
            self.stdout.write(f"Handed to {options['owner']}: {', '.join(done.reowned)}.")
        self.stdout.write(
            f"{options['app']} may SELECT and INSERT only on {len(done.insert_only)} insert-only "
            f"tables ({_listed(done.insert_only)}); SELECT only on {_listed(done.read_only)}; "
            f"SELECT, INSERT, UPDATE and DELETE on {len(done.ordinary)} other tables."
        )


def _listed(names: list[str]) -> str:
    return ", ".join(names) or "none yet"


def _read_password(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        password = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise CommandError(f"--app-password-file {path} cannot be read: {exc}") from exc
    if not password:
        raise CommandError(f"--app-password-file {path} is empty.")
    return password

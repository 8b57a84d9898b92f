"""The two PostgreSQL roles Scrutiny runs under, and what each may do.

The *owner* role owns every table, sequence and function and runs migrations. The *application*
role, which web and worker processes connect as, owns nothing: it cannot disable a trigger, alter
or truncate a table, or hand itself more rights, whatever SQL it sends. On the insert-only tables
(those registered in ``audit.insert_only`` and django-simple-history's historical tables) it may
only SELECT and INSERT; on the others it has ordinary SELECT, INSERT, UPDATE and DELETE, never
TRUNCATE. ``session_replication_role`` needs a superuser, which neither role is.

:func:`set_up_roles` is idempotent. Run it once as a superuser (it creates the roles and hands
the tables to the owner), then as the owner after every ``migrate``: default privileges give new
tables the ordinary grants, and only a re-run narrows a new insert-only table to SELECT and
INSERT (its triggers refuse UPDATE and DELETE in the meantime).
"""

import re
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper
from psycopg import sql
from simple_history.models import HistoricalChanges

from audit import insert_only

_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
ORDINARY = "SELECT, INSERT, UPDATE, DELETE"
APPEND = "SELECT, INSERT"
# Only the migration run writes Django's record of applied migrations.
READ_ONLY_TABLES = frozenset({"django_migrations"})


class RoleSetupRefused(RuntimeError):
    pass


@dataclass
class RoleSetup:
    """What a run did, for the command to report."""

    created: list[str] = field(default_factory=list)
    reowned: list[str] = field(default_factory=list)
    insert_only: list[str] = field(default_factory=list)
    read_only: list[str] = field(default_factory=list)
    ordinary: list[str] = field(default_factory=list)


def insert_only_tables() -> set[str]:
    """Every table the application may only add to, found through the app registry."""
    tables = {spec.table for spec in insert_only.registered()}
    tables |= {m._meta.db_table for m in apps.get_models() if issubclass(m, HistoricalChanges)}
    return tables


def set_up_roles(
    connection: BaseDatabaseWrapper, *, owner: str, app: str, app_password: str | None = None
) -> RoleSetup:
    """Create or bring up to date the owner and application roles on ``connection``'s database.

    Runs in one transaction: a refusal part-way leaves the grants as they were.
    """
    for name in (owner, app):
        if not _ROLE_NAME.match(name):
            raise RoleSetupRefused(f"Role name {name!r}: use lower-case letters, digits and _.")
    if owner == app:
        raise RoleSetupRefused("The owner and the application role must be different roles.")
    if connection.vendor != "postgresql":
        raise RoleSetupRefused(f"Database roles are for PostgreSQL, not {connection.vendor}.")
    done = RoleSetup()
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        session = _Session(cursor, connection)
        session.ensure_role(owner, None, done)
        session.ensure_role(app, app_password, done)
        session.refuse_membership(app, owner)
        session.prepare_schema(owner, app)
        session.hand_to_owner(owner, done)
        session.grant(owner, app, done)
    return done


class _Session:
    def __init__(self, cursor: CursorWrapper, connection: BaseDatabaseWrapper) -> None:
        self.cursor = cursor
        self.connection = connection
        self.superuser = self.value("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        self.schema = str(self.value("SELECT current_schema()"))

    def run(self, statement: sql.Composable | str) -> None:
        # Role and privilege statements take no bind parameters, and the connection binds on the
        # server: compose them client-side, names and literals quoted by psycopg.
        text = statement if isinstance(statement, str) else statement.as_string(self.raw)
        self.cursor.execute(text)

    def value(self, query: str, params: tuple[Any, ...] = ()) -> Any:
        self.cursor.execute(query, params)
        row = self.cursor.fetchone()
        return None if row is None else row[0]

    def rows(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        self.cursor.execute(query, params)
        return list(self.cursor.fetchall())

    @property
    def raw(self) -> Any:
        return self.connection.connection

    def ensure_role(self, name: str, password: str | None, done: RoleSetup) -> None:
        attributes = self.value(
            "SELECT rolsuper OR rolbypassrls OR rolcreaterole OR rolreplication "
            "FROM pg_roles WHERE rolname = %s",
            (name,),
        )
        role = sql.Identifier(name)
        if attributes is None:
            self.require_superuser(f"create the role {name}")
            self.run(
                sql.SQL(
                    "CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION "
                    "NOBYPASSRLS"
                ).format(role)
            )
            done.created.append(name)
        elif attributes:
            raise RoleSetupRefused(
                f"The role {name} is a superuser or may bypass row security, create roles or "
                "replicate: Scrutiny's roles must be ordinary roles."
            )
        if password:
            self.require_superuser(f"set the password of {name}")
            self.run(sql.SQL("ALTER ROLE {} PASSWORD {}").format(role, sql.Literal(password)))

    def refuse_membership(self, app: str, owner: str) -> None:
        if self.value("SELECT pg_has_role(%s, %s, 'MEMBER')", (app, owner)):
            self.require_superuser(f"take {app} out of {owner}")
            self.run(
                sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(owner), sql.Identifier(app))
            )

    def prepare_schema(self, owner: str, app: str) -> None:
        schema = sql.Identifier(self.schema)
        if self.superuser:
            # Before PostgreSQL 15 every role could create objects in public, and would own them.
            self.run(sql.SQL("REVOKE CREATE ON SCHEMA {} FROM PUBLIC").format(schema))
            self.run(
                sql.SQL("GRANT USAGE, CREATE ON SCHEMA {} TO {}").format(
                    schema, sql.Identifier(owner)
                )
            )
            database = sql.Identifier(str(self.value("SELECT current_database()")))
            roles = sql.SQL(", ").join([sql.Identifier(owner), sql.Identifier(app)])
            self.run(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(database, roles))
        self.run(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema, sql.Identifier(app)))

    def hand_to_owner(self, owner: str, done: RoleSetup) -> None:
        # Tables first: their identity and serial sequences follow them.
        for kind, objects in (("TABLE", "rpv"), ("SEQUENCE", "S")):
            for (name,) in self.rows(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = %s AND c.relkind = ANY(%s) "
                "AND pg_get_userbyid(c.relowner) <> %s ORDER BY c.relname",
                (self.schema, list(objects), owner),
            ):
                self.reown(sql.SQL(kind), sql.Identifier(self.schema, str(name)), owner, done)
        for (signature,) in self.rows(
            "SELECT p.oid::regprocedure::text FROM pg_proc p "
            "JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = %s AND pg_get_userbyid(p.proowner) <> %s ORDER BY 1",
            (self.schema, owner),
        ):
            self.reown(sql.SQL("FUNCTION"), sql.SQL(str(signature)), owner, done)

    def reown(self, kind: sql.SQL, name: sql.Composable, owner: str, done: RoleSetup) -> None:
        self.require_superuser("hand tables created by another role to the owner")
        self.run(sql.SQL("ALTER {} {} OWNER TO {}").format(kind, name, sql.Identifier(owner)))
        done.reowned.append(name.as_string(self.raw))

    def grant(self, owner: str, app: str, done: RoleSetup) -> None:
        schema, role = sql.Identifier(self.schema), sql.Identifier(app)
        # Start from nothing, so a re-run also takes away what an earlier one granted.
        self.run(sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM {}").format(schema, role))
        self.run(sql.SQL("REVOKE ALL ON ALL SEQUENCES IN SCHEMA {} FROM {}").format(schema, role))
        append_only = insert_only_tables()
        tables = self.rows(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY tablename",
            (self.schema,),
        )
        for (table,) in tables:
            name = str(table)
            if name in READ_ONLY_TABLES:
                rights, bucket = "SELECT", done.read_only
            elif name in append_only:
                rights, bucket = APPEND, done.insert_only
            else:
                rights, bucket = ORDINARY, done.ordinary
            self.run(
                sql.SQL("GRANT {} ON TABLE {} TO {}").format(
                    sql.SQL(rights), sql.Identifier(self.schema, name), role
                )
            )
            bucket.append(name)
        self.run(
            sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {} TO {}").format(schema, role)
        )
        self.default_privileges(owner, app)

    def default_privileges(self, owner: str, app: str) -> None:
        # Tables a later migration creates get the ordinary grants (never TRUNCATE) until the next
        # run narrows the insert-only ones.
        prefix = sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {} ").format(
            sql.Identifier(owner), sql.Identifier(self.schema)
        )
        role = sql.Identifier(app)
        self.run(prefix + sql.SQL(f"GRANT {ORDINARY} ON TABLES TO {{}}").format(role))
        self.run(prefix + sql.SQL("GRANT USAGE, SELECT ON SEQUENCES TO {}").format(role))

    def require_superuser(self, what: str) -> None:
        if not self.superuser:
            raise RoleSetupRefused(
                f"Only a superuser may {what}: run setup_database_roles once with a superuser's "
                "DATABASE_URL, then as the owner after each migrate."
            )

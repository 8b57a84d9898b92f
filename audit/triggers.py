"""Database triggers that make append-only tables refuse UPDATE and DELETE.

Row-level triggers on both engines. On PostgreSQL they are ``ENABLE ALWAYS`` so that
``session_replication_role = replica`` does not skip them. TRUNCATE is refused by privileges in
production rather than a trigger, because Django's test flush truncates.
"""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION scrutiny_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '%% on %% is refused: this table is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def protect_table(schema_editor: BaseDatabaseSchemaEditor, table: str) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FUNCTION)
        schema_editor.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION scrutiny_refuse_change()"
        )
        schema_editor.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_append_only")
    elif vendor == "sqlite":
        for operation in ("UPDATE", "DELETE"):
            schema_editor.execute(
                f"CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{operation} on {table} is refused: "
                "this table is append-only'); END"
            )
    else:
        raise NotImplementedError(f"No append-only trigger for the {vendor} database.")


def unprotect_table(schema_editor: BaseDatabaseSchemaEditor, table: str) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    elif vendor == "sqlite":
        for operation in ("update", "delete"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_{operation}")


def append_only(table: str) -> migrations.RunPython:
    """A migration operation that gives ``table`` its append-only triggers (and takes them away
    when the migration is reversed)."""

    def protect(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        protect_table(schema_editor, table)

    def unprotect(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        unprotect_table(schema_editor, table)

    return migrations.RunPython(protect, unprotect)

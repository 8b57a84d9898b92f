from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

from audit.triggers import protect_table, unprotect_table

TABLE = "casework_declaredconflict"


def protect(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    protect_table(schema_editor, TABLE)


def unprotect(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    unprotect_table(schema_editor, TABLE)


class Migration(migrations.Migration):
    dependencies = [("casework", "0009_caseflag_append_only")]
    operations = [migrations.RunPython(protect, unprotect)]

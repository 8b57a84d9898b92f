from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

from audit.triggers import protect_table, unprotect_table

TABLE = "flags_flagevidence"


def protect(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    protect_table(schema_editor, TABLE)


def unprotect(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    unprotect_table(schema_editor, TABLE)


class Migration(migrations.Migration):
    dependencies = [("flags", "0003_detector_tokens_moved_to_api_tokens")]
    operations = [migrations.RunPython(protect, unprotect)]

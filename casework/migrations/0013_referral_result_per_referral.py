"""A referral's result belongs to the referral, not to the case: a case referred again after an
upheld challenge set its referral aside can have the new referral's result recorded too.

Every existing result already names the referral it followed (the case's second senior signature
when it was recorded, ``referral``, never null), so no row needs filling in; and, one per case
until now, no two name the same referral, so the new unique constraint holds for them. The table
stays append-only: SQLite rebuilds it to change the constraints, which drops its triggers, so
they are taken off before and put back after, on both databases.
"""

import django.db.models.deletion
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

from audit.triggers import protect_table, unprotect_table

TABLE = "casework_referralresult"


def protect(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    protect_table(schema_editor, TABLE)


def unprotect(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    unprotect_table(schema_editor, TABLE)


class Migration(migrations.Migration):
    dependencies = [
        ("casework", "0012_referral_results"),
    ]

    operations = [
        migrations.RunPython(unprotect, protect),
        migrations.AlterField(
            model_name="referralresult",
            name="case",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="referral_results",
                to="casework.case",
            ),
        ),
        migrations.AlterField(
            model_name="referralresult",
            name="referral",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="referral_result",
                to="casework.decision",
            ),
        ),
        migrations.RunPython(protect, unprotect),
    ]

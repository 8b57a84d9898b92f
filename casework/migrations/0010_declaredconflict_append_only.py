from django.db import migrations

from audit.triggers import append_only


class Migration(migrations.Migration):
    dependencies = [("casework", "0009_caseflag_append_only")]
    operations = [append_only("casework_declaredconflict")]

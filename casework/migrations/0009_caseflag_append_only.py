from django.db import migrations

from audit.triggers import append_only


class Migration(migrations.Migration):
    dependencies = [("casework", "0008_notification_email_attempts")]
    operations = [append_only("casework_caseflag")]

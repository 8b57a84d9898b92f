from django.db import migrations

from audit.triggers import append_only


class Migration(migrations.Migration):
    dependencies = [("flags", "0003_detector_tokens_moved_to_api_tokens")]
    operations = [append_only("flags_flagevidence")]

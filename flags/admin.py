from django.contrib import admin

from audit.admin import ReadOnlyHistoryAdmin
from flags.models import Detector

# People's data (the workforce register, equality profiles, evidence, flags, cases) is not in the
# admin: administrators run the system and do not read case content, and every view of a
# person's data is logged, which the reviewer pages do and the admin cannot. See
# docs/decisions/0010-admin-holds-no-personal-data.md.


@admin.register(Detector)
class DetectorAdmin(ReadOnlyHistoryAdmin):
    list_display = ["slug", "name", "owner", "current_version", "active", "precision_floor"]

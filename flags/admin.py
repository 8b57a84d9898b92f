from django.contrib import admin
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from audit.admin import ReadOnlyAdmin
from flags.models import Detector

# People's data (the workforce register, equality profiles, evidence, flags, cases) is not in the
# admin: administrators run the system and do not read case content, and every view of a
# person's data is logged, which the reviewer pages do and the admin cannot. See
# docs/decisions/0010-admin-holds-no-personal-data.md.


class ReadOnlyHistoryAdmin(ReadOnlyAdmin, SimpleHistoryAdmin):
    """Read-only, with each object's version history; reverting is refused too."""

    def revert_disabled(self, request: HttpRequest, obj: object = None) -> bool:
        return True


@admin.register(Detector)
class DetectorAdmin(ReadOnlyHistoryAdmin):
    list_display = ["slug", "name", "owner", "current_version", "active", "precision_floor"]

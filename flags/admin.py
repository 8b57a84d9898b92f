from django.contrib import admin
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from audit.admin import ReadOnlyAdmin
from flags.models import Detector, DetectorToken, EqualityProfile, EvidenceRecord, Flag, Subject


class ReadOnlyHistoryAdmin(ReadOnlyAdmin, SimpleHistoryAdmin):
    """Read-only, with each object's version history; reverting is refused too."""

    def revert_disabled(self, request: HttpRequest, obj: object = None) -> bool:
        return True


@admin.register(Subject)
class SubjectAdmin(ReadOnlyHistoryAdmin):
    list_display = ["staff_number", "name", "rank", "role", "unit", "working_pattern", "active"]
    list_filter = ["rank", "employment_type", "working_pattern", "active"]
    search_fields = ["staff_number", "name", "unit"]
    raw_id_fields = ["line_manager"]


@admin.register(EqualityProfile)
class EqualityProfileAdmin(ReadOnlyHistoryAdmin):
    """Protected characteristics are for the fairness queries: only a superuser may look at one
    person's, and the list never shows them."""

    list_display = ["subject"]
    raw_id_fields = ["subject"]

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return bool(request.user.is_superuser)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser)


@admin.register(Detector)
class DetectorAdmin(ReadOnlyHistoryAdmin):
    list_display = ["slug", "name", "owner", "current_version", "active", "precision_floor"]


@admin.register(DetectorToken)
class DetectorTokenAdmin(ReadOnlyHistoryAdmin):
    list_display = ["prefix", "detector", "created_at", "revoked_at"]
    exclude = ["token_hash"]


@admin.register(EvidenceRecord)
class EvidenceRecordAdmin(ReadOnlyHistoryAdmin):
    list_display = ["source_system", "record_id", "record_type", "occurred_at", "status"]
    list_filter = ["record_type", "status", "source_system"]
    search_fields = ["record_id"]


@admin.register(Flag)
class FlagAdmin(ReadOnlyHistoryAdmin):
    list_display = [
        "external_id",
        "detector",
        "subject",
        "category",
        "score",
        "status",
        "received_at",
    ]
    list_filter = ["category", "status", "detector"]
    search_fields = ["external_id", "subject__staff_number"]
    raw_id_fields = ["subject"]
    list_select_related = ["detector", "subject"]

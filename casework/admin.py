from django.contrib import admin

from casework.models import Case, DeclaredConflict, ThresholdPolicy
from flags.admin import ReadOnlyHistoryAdmin


@admin.register(ThresholdPolicy)
class ThresholdPolicyAdmin(ReadOnlyHistoryAdmin):
    list_display = ["version", "status", "proposed_at", "activated_at"]


@admin.register(Case)
class CaseAdmin(ReadOnlyHistoryAdmin):
    list_display = ["pk", "subject", "status", "policy", "opened_at", "assignee"]
    list_filter = ["status"]
    raw_id_fields = ["subject", "assignee"]
    list_select_related = ["subject", "policy"]


@admin.register(DeclaredConflict)
class DeclaredConflictAdmin(ReadOnlyHistoryAdmin):
    list_display = ["user", "subject", "declared_at"]
    raw_id_fields = ["user", "subject"]

from django.contrib import admin

from audit.admin import ReadOnlyHistoryAdmin
from casework.models import ThresholdPolicy


@admin.register(ThresholdPolicy)
class ThresholdPolicyAdmin(ReadOnlyHistoryAdmin):
    list_display = ["version", "status", "proposed_at", "activated_at"]

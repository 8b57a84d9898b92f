from django.contrib import admin

from casework.models import ThresholdPolicy
from flags.admin import ReadOnlyHistoryAdmin


@admin.register(ThresholdPolicy)
class ThresholdPolicyAdmin(ReadOnlyHistoryAdmin):
    list_display = ["version", "status", "proposed_at", "activated_at"]

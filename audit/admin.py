from django.contrib import admin
from django.http import HttpRequest

from audit.models import AuditEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    """Governed data is changed only through services: the admin shows it and never writes it."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = [
        "seq",
        "occurred_at",
        "action",
        "actor_username",
        "actor_role",
        "target_type",
        "target_id",
    ]
    list_filter = ["action", "actor_role"]
    search_fields = ["target_id", "actor_username"]

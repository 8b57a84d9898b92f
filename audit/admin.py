from collections.abc import Sequence
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from simple_history.admin import SimpleHistoryAdmin

from audit.models import AuditEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    """Governed data is changed only through services: the admin shows it and never writes it.

    The admin site refuses every write request as well (``config.admin_site``); these hooks keep
    the pages from offering a form, a button or a bulk action that would only be refused. Fields
    in ``exclude`` (secrets' hashes) are shown nowhere.
    """

    # No bulk actions: Django's "delete selected" would otherwise be offered to superusers.
    actions = None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # Every field, so that a page built outside the change view (the history form) renders
        # values rather than inputs; excluded fields stay out of it.
        hidden = set(self.get_exclude(request, obj) or ())
        fields = self.model._meta.fields
        return [f.name for f in fields if not f.auto_created and f.name not in hidden]


class ReadOnlyHistoryAdmin(ReadOnlyAdmin, SimpleHistoryAdmin):
    """Read-only, with each object's version history. simple-history's history form saves a
    posted version back over the live row whatever ``revert_disabled`` says, so it is refused
    here for anything but reading."""

    def revert_disabled(self, request: HttpRequest, obj: Any = None) -> bool:
        return True

    def history_form_view(
        self,
        request: HttpRequest,
        object_id: str,
        version_id: str,
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            raise PermissionDenied("The admin is read-only: a past version cannot be restored.")
        return super().history_form_view(request, object_id, version_id, extra_context)

    def set_history_delta_changes(
        self,
        request: HttpRequest,
        historical_records: Sequence[Any],
        foreign_keys_are_objs: bool = True,
    ) -> None:
        # As simple-history does, but the list of changes leaves out excluded fields.
        hidden = list(self.get_exclude(request) or ())
        previous = None
        for current in historical_records:
            if previous is not None:
                delta = previous.diff_against(
                    current, excluded_fields=hidden, foreign_keys_are_objs=foreign_keys_are_objs
                )
                helper = self.get_historical_record_context_helper(request, previous)
                previous.history_delta_changes = helper.context_for_delta_changes(delta)
            previous = current


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

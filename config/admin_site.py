"""The admin site: a read-only window on the operational models.

Governed data changes only through services, which check the actor's permission and append the
audit event in the same transaction; the admin can do neither. So this site refuses every request
to an admin view that is not a read, before the view runs, whatever a model's admin would allow.
Signing in and out are the only writes it accepts: they touch the session, not governed data.

The admin's own password change is not offered: passwords are set by
``accounts.services.set_password``, which audits it.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver

READ_METHODS = frozenset({"GET", "HEAD"})
NOT_OFFERED = frozenset({"password_change", "password_change_done"})


def refuse_writes(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def read_only_view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method not in READ_METHODS:
            raise PermissionDenied("The admin is read-only.")
        return view(request, *args, **kwargs)

    return read_only_view


class ReadOnlyAdminSite(admin.AdminSite):
    def admin_view(self, view: Any, cacheable: bool = False) -> Any:
        # Every admin URL but sign-in passes through here, each model's views included.
        guarded = super().admin_view(view, cacheable)
        if view == self.logout:
            return guarded
        return refuse_writes(guarded)

    def get_urls(self) -> list[URLResolver | URLPattern]:
        return [url for url in super().get_urls() if getattr(url, "name", None) not in NOT_OFFERED]

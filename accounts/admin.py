from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User

from audit.admin import ReadOnlyAdmin, ReadOnlyHistoryAdmin
from tokens.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyHistoryAdmin):
    """Tokens, people's and detectors', with when each expires; never their hash."""

    list_display = ["prefix", "kind", "user", "created_at", "expires_at", "revoked_at"]
    list_filter = ["kind"]
    list_select_related = ["user"]
    exclude = ["token_hash"]


# Accounts are created, given their role and linked to a person by ``manage.py create_user``, and
# passwords set by ``accounts.services.set_password``, each audited; the admin shows accounts and
# changes nothing. It offers no password change either (see config/admin_site.py).
admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class ReadOnlyUserAdmin(ReadOnlyAdmin, UserAdmin):
    list_display = ["username", "email", "is_active", "is_staff", "last_login"]
    # UserAdmin's own fieldsets, less the password hash.
    fieldsets = [
        (None, {"fields": ["username"]}),
        ("Personal info", {"fields": ["first_name", "last_name", "email"]}),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups"]}),
        ("Important dates", {"fields": ["last_login", "date_joined"]}),
    ]


@admin.register(Group)
class ReadOnlyGroupAdmin(ReadOnlyAdmin, GroupAdmin):
    pass

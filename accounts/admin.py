from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User

from accounts.models import PersonalToken
from audit.admin import ReadOnlyAdmin


@admin.register(PersonalToken)
class PersonalTokenAdmin(ReadOnlyAdmin):
    list_display = ["prefix", "user", "created_at", "revoked_at"]
    list_select_related = ["user"]


# Accounts are created, given their role and linked to a person by ``manage.py create_user``,
# which audits each step; the admin shows them and changes nothing.
admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class ReadOnlyUserAdmin(ReadOnlyAdmin, UserAdmin):
    list_display = ["username", "email", "is_active", "is_staff", "last_login"]


@admin.register(Group)
class ReadOnlyGroupAdmin(ReadOnlyAdmin, GroupAdmin):
    pass

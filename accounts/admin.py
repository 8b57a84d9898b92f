from django.contrib import admin

from accounts.models import PersonalToken
from audit.admin import ReadOnlyAdmin


@admin.register(PersonalToken)
class PersonalTokenAdmin(ReadOnlyAdmin):
    list_display = ["prefix", "user", "created_at", "revoked_at"]
    list_select_related = ["user"]

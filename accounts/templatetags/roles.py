"""Template filters that ask the role rules, not Django's ``perms`` (which grants a superuser
every permission whatever role they hold)."""

from typing import Any

import rules
from django import template

register = template.Library()


@register.filter
def may(user: Any, permission: str) -> bool:
    """``{% if request.user|may:"casework.view_queue" %}``: whether the role held allows it."""
    return bool(rules.has_perm(permission, user))

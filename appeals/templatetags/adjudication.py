"""Template filters of the data steward's and the senior reviewer's pages."""

from django import template

from audit.actors import Role

register = template.Library()


@register.filter
def role_words(role: str) -> str:
    """A recorded role as words: ``senior_reviewer`` reads "senior reviewer"."""
    return str(Role(role).label).lower() if role in Role.values else role.replace("_", " ")

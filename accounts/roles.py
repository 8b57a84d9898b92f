"""The roles of docs/architecture.md section 2, held as Django groups: one group per role, one
role per user.

A user's role decides what the pages and the API offer them; the services check it again, and
record it on every decision and audit event as the role the person held at the time.
"""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group, User
from django.core.exceptions import PermissionDenied

from accounts.per_request import remembered
from audit.actors import Actor, Role

# Roles a person can hold through a group. The system is not a person, and a detector's service
# user gets its role from its detector.
GROUP_ROLES: tuple[Role, ...] = (
    Role.REVIEWER,
    Role.SENIOR_REVIEWER,
    Role.DATA_STEWARD,
    Role.SUBJECT,
    Role.REPRESENTATIVE,
    Role.OVERSIGHT,
    Role.ADMINISTRATOR,
)


class NoRole(PermissionDenied):
    """The user holds no role, or several, so may do nothing governed. Pages answer it with the
    403 page and the API with a 403 ``no_role`` error, each saying what is wrong and who can put
    it right."""

    code = "no_role"


def install_role_groups(using: str = "default") -> None:
    existing = set(Group.objects.using(using).values_list("name", flat=True))
    Group.objects.using(using).bulk_create(
        [Group(name=role.value) for role in GROUP_ROLES if role.value not in existing]
    )


def role_of(user: AbstractBaseUser | AnonymousUser) -> Role | None:
    """The one role ``user`` holds, or None. Worked out once per request."""
    if not user.is_authenticated:
        return None
    return remembered(user, "role", lambda: _lookup(user))  # type: ignore[arg-type]


def _lookup(user: User) -> Role | None:
    names = _role_groups(user)
    if len(names) == 1:
        return Role(names[0])
    if not names and hasattr(user, "detector"):
        return Role.DETECTOR
    # Several roles at once is a misconfiguration: refuse rather than guess which one acts.
    # Superuser status is no role: it opens the admin site, never the pages or the API.
    return None


def _role_groups(user: User) -> list[str]:
    if not user.is_active or user.pk is None:  # an unsaved user belongs to no group
        return []
    return sorted(
        name for name in user.groups.values_list("name", flat=True) if name in Role.values
    )


def require_role(user: AbstractBaseUser | AnonymousUser) -> Role:
    """The one role ``user`` holds; NoRole, saying what is wrong and who can fix it, if none."""
    role = role_of(user)
    if role is not None:
        return role
    held = _role_groups(user) if user.is_authenticated else []  # type: ignore[arg-type]
    if len(held) > 1:
        names = " and ".join(Role(name).label.lower() for name in held)
        raise NoRole(
            f"Your account holds more than one role in Scrutiny ({names}), and an account may "
            "hold only one, so Scrutiny cannot tell which one you act in. Ask an administrator "
            "to remove the roles your account should not hold."
        )
    raise NoRole(
        "Your account holds no role in Scrutiny, so it cannot be used here yet. Ask an "
        "administrator to give it the one role you need."
    )


def actor_for(user: AbstractBaseUser | AnonymousUser, on_behalf_of: User | None = None) -> Actor:
    """The actor for a signed-in person, in the role they hold now."""
    role = require_role(user)
    return Actor(user=user, role=role, on_behalf_of=on_behalf_of)  # type: ignore[arg-type]

"""The roles of docs/architecture.md section 2, held as Django groups: one group per role, one
role per user.

A user's role decides what the pages and the API offer them; the services check it again, and
record it on every decision and audit event as the role the person held at the time.
"""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group, User

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


class NoRole(PermissionError):
    """The user holds no role, so may do nothing governed."""


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
    if not user.is_active:
        return None
    names = [name for name in user.groups.values_list("name", flat=True) if name in Role.values]
    if len(names) == 1:
        return Role(names[0])
    if not names and hasattr(user, "detector"):
        return Role.DETECTOR
    if not names and user.is_superuser:
        return Role.ADMINISTRATOR
    # Several roles at once is a misconfiguration: refuse rather than guess which one acts.
    return None


def actor_for(user: AbstractBaseUser | AnonymousUser, on_behalf_of: User | None = None) -> Actor:
    """The actor for a signed-in person, in the role they hold now."""
    role = role_of(user)
    if role is None:
        raise NoRole("Your account holds no role in Scrutiny. Ask an administrator to give it one.")
    return Actor(user=user, role=role, on_behalf_of=on_behalf_of)  # type: ignore[arg-type]

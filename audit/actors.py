"""Who does things: every governed write names an actor, their role, and whom they act for."""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import models

from audit.registry import register

SYSTEM_USERNAME = "scrutiny.system"


class Role(models.TextChoices):
    REVIEWER = "reviewer", "Reviewer"
    SENIOR_REVIEWER = "senior_reviewer", "Senior reviewer"
    DATA_STEWARD = "data_steward", "Data steward"
    SUBJECT = "subject", "Subject"
    REPRESENTATIVE = "representative", "Representative"
    OVERSIGHT = "oversight", "Oversight"
    DETECTOR = "detector", "Detector"
    ADMINISTRATOR = "administrator", "Administrator"
    SYSTEM = "system", "System"


@dataclass(frozen=True)
class Actor:
    """The person or service account behind a write, in the role they held when they made it."""

    user: User
    role: Role
    on_behalf_of: User | None = None

    @property
    def user_id(self) -> int:
        return int(self.user.pk)

    @property
    def username(self) -> str:
        return str(self.user.get_username())


def system_actor() -> Actor:
    """The actor for what Scrutiny does by itself, such as opening a case when a threshold is met.

    The system user has no usable password and cannot sign in; it exists so that history rows and
    audit events always name a user.
    """
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(
        username=SYSTEM_USERNAME, defaults={"is_active": False}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return Actor(user=user, role=Role.SYSTEM)


class UnknownActor(LookupError):
    pass


def command_actor(username: str | None) -> Actor:
    """The actor for a management command: the named administrator, or the system.

    Operators should name themselves (``--actor``); without it the write is the system's.
    """
    if not username:
        return system_actor()
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise UnknownActor(f"No active user named {username!r}.")
    if not (user.is_staff or user.is_superuser) or hasattr(user, "detector"):
        raise UnknownActor(f"{username!r} is not an administrator.")
    return Actor(user=user, role=Role.ADMINISTRATOR)


USER_CREATED = register("user.created", "A user account was created.")
USER_PASSWORD_SET = register("user.password_set", "A user's password was set or reset.")

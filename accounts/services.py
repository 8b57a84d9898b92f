"""Every governed write of the accounts app: users with their role, and their API tokens.

Each function takes a keyword-only ``actor`` (an administrator, or the system during set-up),
runs in one transaction, and writes its audit events in it. Passwords and tokens are never
recorded; token prefixes are. Tokens are issued and revoked through ``tokens.services``.
"""

from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import Group, User
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts import audit_actions
from accounts.per_request import forget
from accounts.roles import GROUP_ROLES
from audit import log
from audit.actors import USER_CREATED, USER_PASSWORD_SET, Actor, Role
from audit.history import save_with_history
from flags.models import Detector, Subject
from tokens.models import TokenKind
from tokens.services import IssuedToken, TokenError, issue_token

REVIEWING_ROLES = frozenset({Role.REVIEWER, Role.SENIOR_REVIEWER})


class AccountError(ValueError):
    """A request about an account that cannot be carried out; the message says why."""


def create_user(
    username: str,
    *,
    role: Role,
    actor: Actor,
    subject: Subject | None = None,
    password: str | None = None,
    email: str = "",
) -> User:
    """Create a user holding ``role``, linked to ``subject`` where given.

    Without a password the account cannot sign in to the pages (it may still use a personal
    API token). The password must pass the configured validators. Reviewers must be linked to
    their own record: the conflict check needs their unit and chain of command.
    """
    if role not in GROUP_ROLES:
        raise AccountError(
            f"{role!r} is not a role a person can hold; choose one of "
            + ", ".join(r.value for r in GROUP_ROLES)
            + "."
        )
    if role in REVIEWING_ROLES and subject is None:
        raise AccountError(
            "A reviewer must be linked to their own record in the workforce register "
            "(--subject STAFF_NUMBER), so that the conflict check knows their unit and chain "
            "of command."
        )
    users = get_user_model().objects
    with transaction.atomic():
        if users.filter(username=username).exists():
            raise AccountError(f"A user named {username!r} already exists.")
        candidate = get_user_model()(username=username, email=email)
        try:
            candidate.full_clean(exclude=["password"])
            if password is not None:
                password_validation.validate_password(password, candidate)
        except ValidationError as exc:
            raise AccountError(" ".join(exc.messages)) from exc
        if subject is not None:
            subject = Subject.objects.select_for_update().get(pk=subject.pk)
            if subject.user_id is not None:
                raise AccountError(
                    f"Subject {subject.staff_number} is already linked to another account."
                )
        user = users.create_user(
            username, email=email, password=password, is_staff=role == Role.ADMINISTRATOR
        )
        user.groups.add(Group.objects.get(name=role.value))
        forget(user)
        entries = [
            log.Entry(USER_CREATED, user, data={"role": role.value}, reason="account created"),
        ]
        if subject is not None:
            subject.user = user
            save_with_history(
                subject, actor=actor, reason="linked to a user account", update_fields=["user"]
            )
            entries.append(
                log.Entry(
                    audit_actions.USER_LINKED_TO_SUBJECT,
                    user,
                    data={"subject": subject.pk},
                    reason="account created for a person in the register",
                )
            )
        log.record_many(entries, actor=actor)
    return user


def create_or_reset_superuser(username: str, password: str, *, actor: Actor) -> bool:
    """Create a superuser holding the administrator role, or reset its password; True when it
    was created.

    For set-up commands run by an operator (``seed_demo``). The role matters even to a
    superuser: Scrutiny's pages go by the role held, never by superuser status. Audited; the
    password is not.
    """
    users = get_user_model().objects
    with transaction.atomic():
        user = users.select_for_update().filter(username=username).first()
        created = user is None
        if user is None:
            user = users.create_superuser(username, email="", password=password)
        else:
            user.set_password(password)
            user.save(update_fields=["password"])
        user.groups.set([Group.objects.get(name=Role.ADMINISTRATOR.value)])
        forget(user)
        log.record(
            USER_CREATED if created else USER_PASSWORD_SET,
            user,
            actor=actor,
            data={"superuser": True, "role": Role.ADMINISTRATOR.value},
            reason="set-up",
        )
    return created


def set_password(user: User, password: str, *, actor: Actor, reason: str) -> None:
    """Set ``user``'s password, which must pass the configured validators. Audited; the
    password is not."""
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise AccountError(" ".join(exc.messages)) from exc
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        log.record(USER_PASSWORD_SET, user, actor=actor, reason=reason)


def issue_personal_token(user: User, *, actor: Actor, days: int | None = None) -> IssuedToken:
    """Issue an API token for ``user``, a person with an active account, lasting ``days``
    (API_TOKEN_DEFAULT_DAYS if None). The token is in the result, once; only its hash is kept."""
    if not user.is_active:
        raise AccountError(f"{user.get_username()!r} is not active, so cannot hold a token.")
    if Detector.objects.filter(user=user).exists():
        raise AccountError(
            f"{user.get_username()!r} is a detector's service user: issue its tokens as the "
            "detector's."
        )
    try:
        return issue_token(user, kind=TokenKind.PERSON, actor=actor, days=days)
    except TokenError as exc:
        raise AccountError(str(exc)) from exc

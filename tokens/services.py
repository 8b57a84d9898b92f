"""The one door for API tokens: issue, find and revoke, for people and detectors alike.

Tokens are random, shown once on issue, and stored only as their SHA-256: they carry 256 bits of
entropy, so a fast hash is enough, there being nothing to brute-force. Issue and revocation take
a keyword-only ``actor``, run in one transaction and write their audit event in it; the token is
never recorded, its prefix is. Callers check what only they know first: the accounts app that a
person may hold a token, the flags app that a detector exists.
"""

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from audit import log
from audit.actors import Actor
from audit.history import save_with_history
from tokens.audit_actions import TOKEN_ISSUED, TOKEN_REVOKED
from tokens.models import ApiToken, TokenKind

# A token starts with its kind, so that a leaked one says what it opens: "spt_" a person's,
# "sdt_" a detector's.
KIND_PREFIX = {TokenKind.PERSON: "spt_", TokenKind.DETECTOR: "sdt_"}
PREFIX_LENGTH = 12


class TokenError(ValueError):
    """A token cannot be issued or revoked as asked; the message says why."""


class TokenRefused(PermissionError):
    """A presented token does not authenticate; the message says why, for the caller."""


@dataclass(frozen=True)
class IssuedToken:
    # Kept out of the repr, so that logging the result cannot leak the token.
    token: str = field(repr=False)
    record: ApiToken


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def default_days(kind: TokenKind) -> int:
    """A person's token lasts API_TOKEN_DEFAULT_DAYS; a detector's, a service's, the maximum."""
    if kind == TokenKind.DETECTOR:
        return int(settings.API_TOKEN_MAX_DAYS)
    return int(settings.API_TOKEN_DEFAULT_DAYS)


def issue_token(
    user: User, *, kind: TokenKind, actor: Actor, days: int | None = None
) -> IssuedToken:
    """Issue a token of ``kind`` for ``user``, lasting ``days`` (the kind's default if None, at
    most API_TOKEN_MAX_DAYS). The token is in the result, once; only its hash is kept."""
    days = default_days(kind) if days is None else days
    if not 1 <= days <= settings.API_TOKEN_MAX_DAYS:
        raise TokenError(
            f"A token lasts from 1 to {settings.API_TOKEN_MAX_DAYS} days "
            f"(API_TOKEN_MAX_DAYS); {days} were asked for."
        )
    token = KIND_PREFIX[kind] + secrets.token_urlsafe(32)
    now = timezone.now()
    record = ApiToken(
        user=user,
        kind=kind,
        token_hash=hash_token(token),
        prefix=token[:PREFIX_LENGTH],
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    with transaction.atomic():
        save_with_history(record, actor=actor, reason=f"{kind.label.lower()} API token issued")
        log.record(
            TOKEN_ISSUED[kind],
            record,
            actor=actor,
            data={
                "user": user.pk,
                "prefix": record.prefix,
                "expires_at": record.expires_at.isoformat(),
            },
            reason="API token issued",
        )
    return IssuedToken(token=token, record=record)


def find_token(token: str, *, at: datetime | None = None) -> ApiToken:
    """The live token record for a presented ``token``, with its user, or TokenRefused."""
    record = ApiToken.objects.select_related("user").filter(token_hash=hash_token(token)).first()
    if record is None or record.revoked_at is not None:
        raise TokenRefused("This API token is not recognised, or has been revoked.")
    if record.expires_at <= (at or timezone.now()):
        raise TokenRefused(
            f"This API token expired on {record.expiry_text()}. Ask an administrator for a new one."
        )
    if not record.user.is_active:
        raise TokenRefused("The account this API token belongs to is not active.")
    return record


def live_token_with_prefix(prefix: str) -> ApiToken:
    """The one unrevoked token whose prefix starts with ``prefix``, or TokenError."""
    matches = list(ApiToken.objects.filter(prefix__startswith=prefix, revoked_at=None)[:2])
    if not matches:
        raise TokenError(f"No live API token starts with {prefix!r}.")
    if len(matches) > 1:
        raise TokenError(f"Several live API tokens start with {prefix!r}; give more of it.")
    return matches[0]


def revoke_token(token: ApiToken, *, actor: Actor) -> ApiToken:
    """Revoke ``token``: it stops working at once. An expired token may be revoked too (its
    record then says it was withdrawn); a revoked one may not be revoked again."""
    with transaction.atomic():
        token = ApiToken.objects.select_for_update().get(pk=token.pk)
        if token.revoked_at is not None:
            raise TokenError(f"The API token {token.prefix}… is already revoked.")
        token.revoked_at = timezone.now()
        reason = f"{token.get_kind_display().lower()} API token revoked"
        save_with_history(token, actor=actor, reason=reason, update_fields=["revoked_at"])
        log.record(
            TOKEN_REVOKED[TokenKind(token.kind)],
            token,
            actor=actor,
            data={"user": token.user_id, "prefix": token.prefix},
            reason="API token revoked",
        )
    return token

"""Bearer tokens for API clients: random, shown once, stored only as their SHA-256.

Tokens carry 256 bits of entropy, so a fast hash is enough: there is nothing to brute-force.
"""

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from rest_framework import authentication, exceptions
from rest_framework.request import Request


@dataclass(frozen=True)
class NewToken:
    token: str
    token_hash: str
    # The first characters, stored so that a person can tell their tokens apart and revoke one.
    prefix: str


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token(kind: str) -> NewToken:
    """A fresh token whose ``kind`` prefix (``sdt_``, ``spt_``) says what it belongs to."""
    token = kind + secrets.token_urlsafe(32)
    return NewToken(token=token, token_hash=hash_token(token), prefix=token[:12])


def bearer_token(header: str) -> str | None:
    """The token in an ``Authorization: Bearer <token>`` header, or None when it is not one."""
    keyword, _, token = header.partition(" ")
    if keyword.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer <token>`` for DRF. Subclasses say whose token it is (``owner``,
    for the error message) and find the live record for a token's hash (``find``)."""

    owner = "your"

    def find(self, token_hash: str) -> tuple[Any, Any] | None:
        """The (user, token record) for a live token with this hash, or None."""
        raise NotImplementedError

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        token = bearer_token(header)
        if token is None:
            raise exceptions.AuthenticationFailed(
                f"Send {self.owner} API token as 'Authorization: Bearer <token>'."
            )
        found = self.find(hash_token(token))
        if found is None:
            raise exceptions.AuthenticationFailed(
                "This API token is not recognised, or has been revoked."
            )
        return found

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="scrutiny"'

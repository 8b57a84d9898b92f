"""Bearer-token authentication for the whole API: detectors and people alike.

The request's user is the token's owner and ``request.auth`` the token record; each endpoint's
permissions then say which kind of token, and which role, it accepts.
"""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from tokens.models import ApiToken
from tokens.services import TokenRefused, find_token


def bearer_token(header: str) -> str | None:
    """The token in an ``Authorization: Bearer <token>`` header, or None when it is not one."""
    keyword, _, token = header.partition(" ")
    if keyword.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer <token>``."""

    def authenticate(self, request: Request) -> tuple[Any, ApiToken] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        token = bearer_token(header)
        if token is None:
            raise exceptions.AuthenticationFailed(
                "Send your API token as 'Authorization: Bearer <token>'."
            )
        try:
            record = find_token(token)
        except TokenRefused as exc:
            raise exceptions.AuthenticationFailed(str(exc)) from exc
        return record.user, record

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="scrutiny"'


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "tokens.authentication.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": (
                "An API token: a detector's for ingest, a person's for the case and appeals APIs."
            ),
        }

"""Bearer-token authentication for people using the API with a personal token."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from accounts.models import PersonalToken
from config.tokens import bearer_token, hash_token


class PersonalTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer <personal token>``; the request's user is the token's owner."""

    def authenticate(self, request: Request) -> tuple[Any, PersonalToken] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        token = bearer_token(header)
        if token is None:
            raise exceptions.AuthenticationFailed(
                "Send your personal API token as 'Authorization: Bearer <token>'."
            )
        record = (
            PersonalToken.objects.select_related("user")
            .filter(token_hash=hash_token(token), revoked_at=None)
            .first()
        )
        if record is None or not record.user.is_active:
            raise exceptions.AuthenticationFailed(
                "This API token is not recognised, or has been revoked."
            )
        return record.user, record

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="scrutiny"'


class PersonalTokenScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.PersonalTokenAuthentication"
    name = "personalToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "A person's API token."}

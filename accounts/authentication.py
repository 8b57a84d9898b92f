"""Bearer-token authentication for people using the API with a personal token."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension

from accounts.models import PersonalToken
from config.tokens import BearerTokenAuthentication


class PersonalTokenAuthentication(BearerTokenAuthentication):
    """``Authorization: Bearer <personal token>``; the request's user is the token's owner."""

    owner = "your personal"

    def find(self, token_hash: str) -> tuple[Any, PersonalToken] | None:
        record = (
            PersonalToken.objects.select_related("user")
            .filter(token_hash=token_hash, revoked_at=None)
            .first()
        )
        if record is None or not record.user.is_active:
            return None
        return record.user, record


class PersonalTokenScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.PersonalTokenAuthentication"
    name = "personalToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "A person's API token."}

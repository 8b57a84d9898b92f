"""Bearer-token authentication for detectors."""

from typing import Any

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from config.tokens import bearer_token, hash_token
from flags.models import DetectorToken


class DetectorTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer <token>``; the request's user is the detector's service user."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, DetectorToken] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        token = bearer_token(header)
        if token is None:
            raise exceptions.AuthenticationFailed(
                "Send the detector's API token as 'Authorization: Bearer <token>'."
            )
        record = (
            DetectorToken.objects.select_related("detector", "detector__user")
            .filter(token_hash=hash_token(token))
            .first()
        )
        if record is None or (record.revoked_at and record.revoked_at <= timezone.now()):
            raise exceptions.AuthenticationFailed(
                "This API token is not recognised, or has been revoked."
            )
        return record.detector.user, record

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="scrutiny"'


class DetectorTokenScheme(OpenApiAuthenticationExtension):
    target_class = "flags.authentication.DetectorTokenAuthentication"
    name = "detectorToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "A detector's API token."}

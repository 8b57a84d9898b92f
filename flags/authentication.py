"""Bearer-token authentication for detectors."""

from typing import Any

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension

from config.tokens import BearerTokenAuthentication
from flags.models import DetectorToken


class DetectorTokenAuthentication(BearerTokenAuthentication):
    """``Authorization: Bearer <token>``; the request's user is the detector's service user."""

    owner = "the detector's"

    def find(self, token_hash: str) -> tuple[Any, DetectorToken] | None:
        record = (
            DetectorToken.objects.select_related("detector", "detector__user")
            .filter(token_hash=token_hash)
            .first()
        )
        if record is None or (record.revoked_at and record.revoked_at <= timezone.now()):
            return None
        return record.detector.user, record


class DetectorTokenScheme(OpenApiAuthenticationExtension):
    target_class = "flags.authentication.DetectorTokenAuthentication"
    name = "detectorToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "A detector's API token."}

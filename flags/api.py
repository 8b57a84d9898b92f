"""The ingest API: detectors post batches of flags."""

from dataclasses import asdict
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.actors import Actor, Role
from config.api_errors import ApiError, FieldErrors
from config.parsers import BodyTooLarge, NotAnObject, describe_size, json_object
from flags.ingest_schema import IngestRequest, IngestResponse
from flags.models import Detector
from flags.services import ingest_flags
from flags.signals import EvaluationUnavailable
from tokens.authentication import ApiTokenAuthentication
from tokens.models import ApiToken, TokenKind


class IsActiveDetector(BasePermission):
    message = "Only a detector's API token may submit flags."

    def has_permission(self, request: Request, view: Any) -> bool:
        token = request.auth
        if not isinstance(token, ApiToken) or token.kind != TokenKind.DETECTOR:
            return False
        detector = detector_of(request)
        if not detector.active:
            raise exceptions.PermissionDenied(
                f"Detector {detector.slug!r} is inactive: its flags are not accepted."
            )
        return True


def detector_of(request: Request) -> Detector:
    """The detector whose service user holds the request's token. The reverse accessor caches
    on the user, so the permission check and the view share one query."""
    detector: Detector = request.user.detector  # type: ignore[union-attr]
    return detector


class CannotEvaluate(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "cannot_evaluate"


class BatchTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "batch_too_large"


def _batch_of(request: Request) -> list[Any]:
    """The batch's flags; a body that is no batch at all is refused whole (400 when it is not a
    JSON object, 422 when it is one without a list of flags)."""
    try:
        data = json_object(request)
    except NotAnObject as exc:
        raise NotAnObject('The body must be a JSON object with a "flags" list.') from exc
    except (BodyTooLarge, RequestDataTooBig) as exc:
        raise BatchTooLarge(
            f"The body is larger than {describe_size(settings.INGEST_MAX_BODY_BYTES)}. "
            "Split it into smaller batches."
        ) from exc
    if "flags" not in data:
        raise FieldErrors({"flags": ['is required: the body is a JSON object with a "flags" list']})
    extra = sorted(set(data) - {"flags"})
    if extra:
        raise FieldErrors({field: ["is not a field of a batch"] for field in extra})
    flags = data["flags"]
    if not isinstance(flags, list):
        raise FieldErrors({"flags": ["must be a JSON list of flags"]})
    if not flags:
        raise FieldErrors({"flags": ["is empty: send at least one flag"]})
    if len(flags) > settings.INGEST_MAX_BATCH:
        raise BatchTooLarge(
            f"A batch may hold at most {settings.INGEST_MAX_BATCH} flags; this one holds "
            f"{len(flags)}. Split it into smaller batches."
        )
    return flags


class FlagIngestView(APIView):
    authentication_classes = [ApiTokenAuthentication]
    permission_classes = [IsActiveDetector]

    @property
    def max_body_size(self) -> int:
        # Read at each request: the one endpoint allowed more than DATA_UPLOAD_MAX_MEMORY_SIZE.
        return int(settings.INGEST_MAX_BODY_BYTES)

    @extend_schema(
        operation_id="ingest_flags",
        summary="Submit a batch of flags",
        description=(
            "Post up to 1,000 flags. Each item is checked on its own and answered in order with "
            "`created`, `duplicate` (the detector already sent this `external_id`; nothing "
            "changes) or `rejected` (with field-level `errors`; nothing of it is written). The "
            "subjects of created flags are evaluated against the active threshold policy; "
            "`case` names the case a flag opened or joined. A body that is no batch at all is "
            "refused whole, under the API's one rule: 400 when it is not a JSON object, 422 "
            "(`invalid`, with `fields`) when it is an object without a usable `flags` list."
        ),
        request=IngestRequest,
        responses={
            200: IngestResponse,
            400: OpenApiResponse(
                ApiError,
                "`parse_error`: the body is empty or not JSON (or nested more than 64 levels "
                "deep); `invalid_body`: it is JSON but not a JSON object.",
            ),
            401: OpenApiResponse(
                ApiError, "No token, or a token not recognised, revoked or expired."
            ),
            403: OpenApiResponse(ApiError, "The detector is inactive."),
            413: OpenApiResponse(ApiError, "More than 1,000 flags, or a body over the size limit."),
            415: OpenApiResponse(ApiError, "The body is not JSON in UTF-8."),
            422: OpenApiResponse(
                ApiError,
                "`invalid`: the object has no `flags` list, an empty one, or other fields; "
                "`fields` names each. Items are answered one by one in a 200, never here.",
            ),
            503: OpenApiResponse(ApiError, "No threshold policy is in force; nothing was stored."),
        },
        examples=[
            OpenApiExample(
                "One flag",
                request_only=True,
                value={
                    "flags": [
                        {
                            "external_id": "ot-2026-000123",
                            "subject": "100234",
                            "category": "overtime_fraud",
                            "rule": "overtime.peer_zscore",
                            "detector_version": "1.4.0",
                            "score": 0.82,
                            "explanation": "Claimed 61 hours of overtime in March; peers: 12.",
                            "factors": [{"name": "peer_z", "value": 4.1, "weight": 0.7}],
                            "window": {"start": "2026-03-01", "end": "2026-03-31"},
                            "evidence": [
                                {
                                    "source_system": "payroll",
                                    "record_type": "overtime",
                                    "record_id": "OT-88812",
                                    "occurred_at": "2026-03-14T18:00:00Z",
                                    "summary": "Overtime claim, 9.5 hours",
                                    "payload": {"hours": 9.5},
                                }
                            ],
                        }
                    ]
                },
            )
        ],
    )
    def post(self, request: Request) -> Response:
        detector = detector_of(request)
        items = _batch_of(request)
        actor = Actor(user=detector.user, role=Role.DETECTOR)
        try:
            outcomes = ingest_flags(detector=detector, raw_items=items, actor=actor)
        except EvaluationUnavailable as exc:
            # Nothing was stored: a flag is never kept without its threshold evaluation.
            raise CannotEvaluate(
                f"{exc} Nothing in this batch was stored; send it again later."
            ) from exc
        counts = {"created": 0, "duplicate": 0, "rejected": 0}
        for outcome in outcomes:
            counts[outcome.status] += 1
        return Response({**counts, "items": [asdict(outcome) for outcome in outcomes]})

"""One shape for every API error, and one rule for which status it has.

Every error is ``{"error": code, "detail": words}``; an error about particular fields adds
``"fields": {name: [messages]}``. The statuses:

- 400: the request cannot be read: a body that is not JSON (``parse_error``), a body that is
  JSON but not a JSON object (``invalid_body``), or a query parameter that is not valid
  (``invalid_query``, with ``fields``);
- 422: a well-formed JSON object that fails validation (``invalid``, with ``fields``);
- 401, 403, 404, 405, 409, 413, 415 and 503 as HTTP has them, each with its own code.
"""

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404
from pydantic import BaseModel, Field
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from config.parsers import BodyTooLarge, body_limit


class ApiError(BaseModel):
    """Every error answer: a short code, the reason in words, and for an error about particular
    fields, each field's problems."""

    error: str = Field(
        description="e.g. parse_error, invalid_body, invalid, not_found, batch_too_large"
    )
    detail: str = Field(description="What is wrong, in words.")
    fields: dict[str, list[str]] | None = Field(
        default=None,
        description="For `invalid` and `invalid_query`: each field at fault (a dotted path such "
        "as `evidence.0.occurred_at`) with its problems.",
    )


class FieldErrors(exceptions.APIException):
    """An error about particular fields; ``fields`` maps each to its messages."""

    status_code: int = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "invalid"

    def __init__(self, fields: Mapping[str, list[str]], detail: str | None = None) -> None:
        super().__init__(detail or summary(fields))
        self.fields = dict(fields)


class InvalidQuery(FieldErrors):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid_query"


def field_messages(detail: Any, path: str = "") -> dict[str, list[str]]:
    """REST framework's nested error detail as flat dotted paths: ``{"subject.name": [...]}``."""
    if isinstance(detail, Mapping):
        found: dict[str, list[str]] = {}
        for key, inner in detail.items():
            name = "body" if key == "non_field_errors" else str(key)
            for where, messages in field_messages(
                inner, f"{path}.{name}" if path else name
            ).items():
                found.setdefault(where, []).extend(messages)
        return found
    if isinstance(detail, list) and any(isinstance(item, Mapping | list) for item in detail):
        found = {}
        for index, inner in enumerate(detail):
            for where, messages in field_messages(inner, f"{path}.{index}").items():
                found.setdefault(where, []).extend(messages)
        return found
    messages = detail if isinstance(detail, list) else [detail]
    return {path or "body": [str(message) for message in messages]}


def summary(fields: Mapping[str, list[str]]) -> str:
    parts = [f"{name}: {' '.join(messages)}" for name, messages in fields.items()]
    return "Check these fields. " + " ".join(f"{part.rstrip('.')}." for part in parts)


def _as_api_exception(exc: Exception, context: dict[str, Any]) -> Exception:
    if isinstance(exc, PermissionDenied):
        # Django's refusals may name their own code (accounts.roles.NoRole: ``no_role``).
        return exceptions.PermissionDenied(str(exc) or None, code=getattr(exc, "code", None))
    if isinstance(exc, RequestDataTooBig):
        return BodyTooLarge(body_limit(context.get("view")))
    if isinstance(exc, exceptions.ValidationError):
        return FieldErrors(field_messages(exc.detail))
    if isinstance(exc, Http404):
        # One detail for every missing object, whatever REST framework would have said.
        return exceptions.NotFound(str(exc) or "Not found.")
    return exc


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    exc = _as_api_exception(exc, context)
    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    codes = exc.get_codes()
    code = codes if isinstance(codes, str) else exc.default_code
    body: dict[str, Any] = {"error": code, "detail": _words(exc.detail)}
    if isinstance(exc, FieldErrors):
        body["fields"] = exc.fields
    response.data = body
    return response


def _words(detail: Any) -> str:
    if isinstance(detail, str):
        return detail
    return summary(field_messages(detail))

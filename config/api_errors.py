"""One shape for every API error: ``{"error": code, "detail": words}``."""

from typing import Any

from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.APIException):
        distinct = set(_flatten(exc.get_codes()))
        code = distinct.pop() if len(distinct) == 1 else "invalid"
        detail = (
            response.data.get("detail", response.data)
            if isinstance(response.data, dict)
            else response.data
        )
        response.data = {"error": code, "detail": detail}
    return response


def _flatten(codes: Any) -> list[str]:
    if isinstance(codes, str):
        return [codes]
    if isinstance(codes, dict):
        codes = list(codes.values())
    return [code for item in codes for code in _flatten(item)]

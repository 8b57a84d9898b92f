"""The request parsers of the API: one strict parser per media type, and no other.

JSON (``StrictJSONParser``) is every endpoint's parser: JSON as the standard has it, and nothing
else. No NaN or Infinity, no number too large for a float, nothing but UTF-8, no document nested
deeper than ``MAX_DEPTH`` (refused before ``json.loads`` could exhaust the stack), and no body
larger than the view allows (refused from its Content-Length, before the body is read).

Multipart forms (``StrictMultiPartParser``) are parsed only by an endpoint that takes files and
names this parser itself: nothing else reads them. The body is limited by the view's
``max_upload_size`` (its ``max_body_size`` else), checked the same way; the form must be UTF-8
and must end with its closing boundary; a form the parser cannot read is a 400.

Each refusal is a 4xx with the API's error shape, never a 500.
"""

import json
import math
import re
from itertools import accumulate
from typing import Any, cast

from django.conf import settings
from django.core.exceptions import (
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http.multipartparser import MultiPartParser, MultiPartParserError
from django.utils.datastructures import MultiValueDict
from django.utils.http import parse_header_parameters
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError, UnsupportedMediaType
from rest_framework.parsers import BaseParser, DataAndFiles
from rest_framework.request import Request

MAX_DEPTH = 64

# A JSON string, escapes included; what lies between strings is all that can open a level. The
# quantifiers are possessive and an unclosed string runs to the end of the text, so every match
# succeeds where it starts and no character is read twice: the scan is linear on any input (an
# unclosed string must not send the search back over the rest of the body from every quote).
_STRING = re.compile(r'"(?:[^"\\]++|\\.)*+(?:"|\\?\Z)', re.DOTALL)
_NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")


class BodyTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "body_too_large"

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"The body is larger than this endpoint accepts ({describe_size(limit)}).",
        )
        self.limit = limit


class NotAnObject(APIException):
    """A body that is JSON but not a JSON object: there is nothing to validate field by field."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid_body"
    default_detail = "The body must be a JSON object."


def describe_size(size: int) -> str:
    if size >= 2**20 and size % 2**20 == 0:
        return f"{size // 2**20} MiB"
    return f"{size // 1024} KiB"


def body_limit(view: Any) -> int:
    """The largest body ``view`` reads: its own ``max_body_size``, or the site-wide limit."""
    return int(getattr(view, "max_body_size", None) or settings.DATA_UPLOAD_MAX_MEMORY_SIZE)


def declared_length(request: Request | None) -> int:
    if request is None:
        return 0
    meta = request.META
    try:
        return int(meta.get("CONTENT_LENGTH") or meta.get("HTTP_CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def nesting_depth(text: str) -> int:
    """How deeply ``text`` nests arrays and objects, read without parsing it: brackets inside
    strings do not count. Linear, and with no recursion however deep the document goes."""
    brackets = _NOT_A_BRACKET.sub("", _STRING.sub("", text))
    steps = (1 if c in "[{" else -1 for c in brackets)
    return max(accumulate(steps, initial=0))


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text} is too large to represent")
    return value


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def _refuse_other_charsets(media_type: str | None, what: str = "JSON") -> None:
    _, params = parse_header_parameters(media_type or "")
    charset = params.get("charset", "utf-8").lower().replace("_", "-")
    if charset not in {"utf-8", "utf8"}:
        raise UnsupportedMediaType(
            media_type or "", detail=f"Send {what} in UTF-8, not {params['charset']}."
        )


def _read_within(stream: Any, limit: int) -> bytes:
    # One byte past the limit tells a body that is too large from one that fits, without
    # reading the rest of it: the Content-Length may be absent or wrong.
    raw: bytes = stream.read(limit + 1)
    if len(raw) > limit:
        raise BodyTooLarge(limit)
    return raw


class StrictJSONParser(BaseParser):
    media_type = "application/json"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        context = parser_context or {}
        limit = body_limit(context.get("view"))
        if declared_length(context.get("request")) > limit:
            raise BodyTooLarge(limit)
        _refuse_other_charsets(media_type)
        try:
            text = _read_within(stream, limit).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ParseError(
                f"JSON parse error - the body is not valid UTF-8 ({exc.reason})."
            ) from exc
        if nesting_depth(text) > MAX_DEPTH:
            raise ParseError(
                f"JSON parse error - the document is nested more than {MAX_DEPTH} levels deep."
            )
        try:
            return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
        except RecursionError as exc:  # a guard: the depth check stops this long before
            raise ParseError("JSON parse error - the document is nested too deeply.") from exc
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc


def json_object(request: Request) -> dict[str, Any]:
    """The request's body as a JSON object; 400 for an empty body or any other JSON value."""
    if request.stream is None:
        raise ParseError("JSON parse error - the body is empty: send a JSON object.")
    data = request.data
    if not isinstance(data, dict):
        raise NotAnObject()
    return data


# --- multipart forms -----------------------------------------------------------------------------


class FormFieldsTooLarge(APIException):
    """A form whose fields other than its files are over DATA_UPLOAD_MAX_MEMORY_SIZE: the files
    have their own limit, the words beside them this one."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "body_too_large"

    def __init__(self) -> None:
        super().__init__(
            "The form's fields other than its files are larger than this endpoint accepts "
            f"({describe_size(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)})."
        )


def upload_limit(view: Any) -> int:
    """The largest multipart body ``view`` reads: its own ``max_upload_size``, else body_limit."""
    return int(getattr(view, "max_upload_size", None) or body_limit(view))


class _WatchedBody:
    """The request body as Django's multipart parser reads it: never more than ``limit`` bytes
    (the Content-Length may be absent or wrong), noting whether the closing delimiter went past.

    Django's parser takes a body that simply stops, or holds no boundary at all, for a form with
    fewer fields; a body cut short in transit must not pass for a complete form.
    """

    def __init__(self, stream: Any, limit: int, boundary: str) -> None:
        self._stream = stream
        self._limit = limit
        self._read = 0
        self._closing = b"--" + boundary.encode("ascii", errors="replace") + b"--"
        self._tail = b""
        self.closed_properly = False

    def read(self, size: int = -1) -> bytes:
        chunk: bytes = self._stream.read(size)
        self._read += len(chunk)
        if self._read > self._limit:
            raise BodyTooLarge(self._limit)
        if not self.closed_properly:
            # The tail carries the end of the previous chunk: the delimiter may straddle two.
            window = self._tail + chunk
            self.closed_properly = self._closing in window
            self._tail = window[-len(self._closing) :]
        return chunk


class StrictMultiPartParser(BaseParser):
    """``multipart/form-data``, for an endpoint that takes files. Add it to that view's
    ``parser_classes`` beside StrictJSONParser, and give the view a ``max_upload_size``."""

    media_type = "multipart/form-data"

    def parse(
        self, stream: Any, media_type: str | None = None, parser_context: Any = None
    ) -> DataAndFiles:
        context = parser_context or {}
        request = context["request"]
        limit = upload_limit(context.get("view"))
        if declared_length(request) > limit:
            raise BodyTooLarge(limit)
        _refuse_other_charsets(media_type, "the form")
        _, params = parse_header_parameters(media_type or "")
        body = _WatchedBody(stream, limit, params.get("boundary", ""))
        meta = {**request.META, "CONTENT_TYPE": media_type or ""}
        try:
            # Django's parser only ever calls read(): the stubs ask for a whole file's methods.
            parser = MultiPartParser(meta, cast(Any, body), request.upload_handlers, "utf-8")
            data, files = parser.parse()
        except RequestDataTooBig as exc:
            raise FormFieldsTooLarge() from exc
        except TooManyFieldsSent as exc:
            raise ParseError(
                "Multipart form parse error - the form has more fields than any endpoint reads "
                f"({settings.DATA_UPLOAD_MAX_NUMBER_FIELDS})."
            ) from exc
        except TooManyFilesSent as exc:
            raise ParseError(
                "Multipart form parse error - the form has more files than any endpoint reads "
                f"({settings.DATA_UPLOAD_MAX_NUMBER_FILES})."
            ) from exc
        except (MultiPartParserError, SuspiciousOperation) as exc:
            raise ParseError(f"Multipart form parse error - {exc}") from exc
        if not body.closed_properly:
            _close(files)
            raise ParseError(
                "Multipart form parse error - the body ends before the form's closing boundary."
            )
        return DataAndFiles(data, files)


def _close(files: MultiValueDict[str, Any]) -> None:
    for _, uploads in files.lists():
        for upload in uploads:
            upload.close()

"""What every request and response passes through: a limit on the body's size before anything
reads it, and the caching headers of every page and API response."""

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponseBase

# API endpoints enforce their own limits (config.parsers), each before reading the body.
API_PREFIX = "/api/"


class BodyLimitMiddleware:
    """Refuse a page request whose declared body is over DATA_UPLOAD_MAX_MEMORY_SIZE (400),
    before any middleware reads it.

    Django applies that limit to form fields but not to uploaded files, and the CSRF check reads
    the form of any POST that carries a CSRF cookie, which anyone can set: without this, a stranger
    could make the server read and spool an upload of any size. Django reads no more than the
    declared length, so a body with none is read as empty.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if not request.path.startswith(API_PREFIX):
            try:
                declared = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                declared = 0
            if declared > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
                raise RequestDataTooBig(
                    "The request body is larger than any form of Scrutiny's accepts."
                )
        return self.get_response(request)


# The API schema and its documentation page describe the API, not anyone in it, and are public;
# they alone may be cached. Static files never get here: WhiteNoise answers them first, with
# its own long-lived caching headers.
CACHEABLE_URL_NAMES = frozenset({"schema", "api-docs"})


class NoStoreMiddleware:
    """``Cache-Control: no-store`` on every response but the public schema and docs.

    Pages and API responses show people's data, and whether one does depends on who asks: a
    shared or browser cache must keep none of them, not even the redirects and error pages, so
    that no view can forget to say so.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        match = request.resolver_match
        if match is None or match.url_name not in CACHEABLE_URL_NAMES:
            response["Cache-Control"] = "no-store"
        return response

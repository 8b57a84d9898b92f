"""What every request and response passes through: a limit on the body's size before anything
reads it, and the caching headers of every page and API response."""

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.template.loader import render_to_string
from django.urls import Resolver404, resolve

# API endpoints enforce their own limits (config.parsers), each before reading the body.
API_PREFIX = "/api/"


class BodyLimitMiddleware:
    """Refuse a page request whose declared body is over its limit, before any middleware reads
    it: DATA_UPLOAD_MAX_MEMORY_SIZE (400), or, for a page that takes files, the larger limit its
    view declares as ``max_body_size`` (413, with a page saying so).

    Django applies that limit to form fields but not to uploaded files, and the CSRF check reads
    the form of any POST that carries a CSRF cookie, which anyone can set: without this, a stranger
    could make the server read and spool an upload of any size. Django reads no more than the
    declared length, so a body with none is read as empty.

    ``max_body_size`` is an attribute of the view function (an int, or a callable returning one,
    read on each request so that it follows the settings it is made from), as API views declare
    theirs for config.parsers. The URL is resolved only for a body over the common limit, so
    every other request costs what it did.
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
                own = view_body_limit(request.path_info)
                if own is None:
                    raise RequestDataTooBig(
                        "The request body is larger than any form of Scrutiny's accepts."
                    )
                if declared > own:
                    return too_large(request, own)
        return self.get_response(request)


def view_body_limit(path: str) -> int | None:
    """The larger body limit the view at ``path`` declares, or None if it declares none."""
    try:
        match = resolve(path)
    except Resolver404:
        return None
    limit = getattr(match.func, "max_body_size", None)
    if callable(limit):
        limit = limit()
    return int(limit) if limit else None


def too_large(request: HttpRequest, limit: int) -> HttpResponse:
    """413 with the service's own page: what was refused, that nothing was kept, what to do.
    Rendered without the session or the user, which the middleware after this one would add:
    the page names no one and offers no navigation."""
    html = render_to_string("413.html", {"limit": size_in_words(limit)}, request=request)
    return HttpResponse(html, status=413)


def size_in_words(size: int) -> str:
    """``50 MiB`` for a whole number of mebibytes, else kibibytes, rounded up."""
    mib = 1024 * 1024
    if size % mib == 0:
        return f"{size // mib} MiB"
    return f"{-(-size // 1024)} KiB"


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

"""Response headers that every page and API response carries."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase

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

"""Odd input against every API endpoint and every page that takes a POST: never a 5xx.

The endpoints are read from the URL resolver, not listed by hand, and checked against the
published schema, so a new endpoint is fuzzed the day it is added. Bodies: JSON of every shape,
nesting far past the parser's limit, numbers too large for a float or too long for an int, UTF-16
and UTF-32, a byte-order mark, invalid UTF-8, lone surrogates, and content types other than JSON.
Every API error answer has the documented shape (the schema's ``ApiError``).
"""

import codecs
import json
import re
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient
from rest_framework.views import APIView

from accounts.roles import actor_for
from accounts.services import issue_personal_token
from casework.models import Case
from tests.factories import CaseFactory, SubjectFactory
from tests.ingest_client import client_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_today")]


def routes(patterns: list[Any] | None = None, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every route the site serves, as (path pattern, view)."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            yield from routes(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.callback


def _is_api(view: Any) -> bool:
    cls = getattr(view, "cls", None)
    # The schema and its documentation page describe the API; they are not part of it.
    return (
        isinstance(cls, type)
        and issubclass(cls, APIView)
        and not cls.__module__.startswith("drf_spectacular")
    )


API_ROUTES = sorted(path for path, view in routes() if _is_api(view))
PAGE_ROUTES = sorted(
    path for path, view in routes() if not _is_api(view) and not path.startswith(("admin/", "api/"))
)


# A path parameter, as a route has it (<int:case_id>) and as the schema does ({case_id}).
ROUTE_PARAMETER = re.compile(r"<int:(\w+)>")
SCHEMA_PARAMETER = re.compile(r"\{(\w+)\}")


def concrete(path: str, row_id: int) -> str:
    """The route with every id in it set to ``row_id``: a case's, a challenge's, a grant's."""
    return "/" + ROUTE_PARAMETER.sub(str(row_id), path)


def test_the_routes_found_are_the_documented_api(client: Client) -> None:
    schema = client.get("/api/schema/?format=json").json()
    documented = {SCHEMA_PARAMETER.sub(r"<int:\1>", path) for path in schema["paths"]}

    assert {"/" + path for path in API_ROUTES} == documented
    assert {"cases/<int:case_id>/act/", "sign-in/", "sign-out/"} <= set(PAGE_ROUTES)


# --- bodies --------------------------------------------------------------------------------------

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
FIELD_NAMES = st.sampled_from(
    [
        "action",
        "rationale",
        "no_conflict_declared",
        "outcome",
        "deferred_until",
        "flags",
        "expected_status",
        "assign_to",
        "recommendation",
        "username",
        "password",
        # The appeals API's fields.
        "kind",
        "evidence",
        "decision",
        "grounds",
        "proposed_correction",
        "subject",
        "attachments",
        "representative",
        "case",
        "expires_on",
        "finding",
        "reasons",
        "remedy",
        "corrected",
        # A referral's result.
        "result",
        "concluded_on",
        "x",
    ]
)
OBJECTS = st.dictionaries(FIELD_NAMES | st.text(max_size=8), JSON_VALUES, max_size=6)

DEEP = st.integers(min_value=1, max_value=120_000).flatmap(
    lambda n: st.sampled_from(
        [
            "[" * n,
            "[" * n + "]" * n,
            '{"a":' * n,
            '{"a":' * n + "1" + "}" * n,
            '{"flags": [' + "[" * n + "]" * n + "]}",
        ]
    )
)
HUGE_NUMBERS = st.sampled_from(
    [
        "1e999",
        "-1e999",
        "1" * 5000,
        "-" + "9" * 4301,
        "1e-999",
        "0." + "0" * 5000 + "1",
        '{"flags": [{"score": 1e400}]}',
        '{"recommendation": ' + "9" * 30 + "}",
        '{"recommendation": 9223372036854775808}',
        '{"action": "recommend", "outcome": 1e308}',
    ]
)
SURROGATES = st.sampled_from(
    ['"\\ud800"', '{"rationale": "\\udfff"}', '{"\\ud800": 1}', '{"assign_to": "a\\u0000b"}']
).map(str.encode) | st.just(b'{"rationale": "\xed\xa0\x80"}')


def _encoded(value: Any, encoding: str) -> bytes:
    text = json.dumps(value, ensure_ascii=False)
    return text.encode(
        encoding, errors="surrogatepass" if encoding.startswith("utf") else "replace"
    )


ENCODED = st.builds(
    _encoded,
    OBJECTS | JSON_VALUES,
    st.sampled_from(["utf-16", "utf-16-le", "utf-32", "utf-8-sig", "latin-1", "cp1252", "utf-8"]),
)
BOM_UTF16 = OBJECTS.map(lambda v: codecs.BOM_UTF16_BE + json.dumps(v).encode("utf-16-be"))

BODIES: st.SearchStrategy[bytes] = st.one_of(
    OBJECTS.map(lambda v: json.dumps(v).encode()),
    JSON_VALUES.map(lambda v: json.dumps(v).encode()),
    DEEP.map(str.encode),
    HUGE_NUMBERS.map(str.encode),
    SURROGATES,
    ENCODED,
    BOM_UTF16,
    st.binary(max_size=200),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", errors="surrogatepass")),
)
CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        "application/json; charset=utf-16",
        "application/json; charset=latin-1",
        "application/json; charset=nonsense",
        "application/merge-patch+json",
        "text/plain",
        "text/html",
        "application/xml",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=xyz",
        "multipart/form-data",
        "application/octet-stream",
        "",
    ]
)
METHODS = st.sampled_from(["POST", "PUT", "PATCH", "DELETE", "GET"])


# --- the API -------------------------------------------------------------------------------------


@pytest.fixture
def api_clients(people: dict[str, Any], detector_with_token: Any) -> list[APIClient]:
    """A detector and a reviewer: between them, past authentication on every endpoint."""
    reviewer = APIClient()
    token = issue_personal_token(
        people["rita.reviewer"], actor=actor_for(people["alan.admin"])
    ).token
    reviewer.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return [client_for(detector_with_token[1]), reviewer]


@pytest.fixture
def case() -> Case:
    return CaseFactory.create(subject=SubjectFactory.create(unit="East Response"))


@pytest.fixture
def error_schema(client: Client) -> dict[str, Any]:
    schema = client.get("/api/schema/?format=json").json()
    return {"$ref": "#/components/schemas/ApiError", "components": schema["components"]}


def assert_documented_error(response: Any, error_schema: dict[str, Any]) -> None:
    assert response.status_code < 500, response.content[:300]
    if response.status_code < 400:
        return
    assert response["Content-Type"].startswith("application/json"), response.content[:300]
    body = json.loads(response.content)
    jsonschema.validate(body, error_schema, cls=jsonschema.Draft202012Validator)
    if response.status_code == 422:
        assert body["fields"], body
    assert set(body) <= {"error", "detail", "fields"}


FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.mark.parametrize("route", API_ROUTES)
@FUZZ
@given(body=BODIES, content_type=CONTENT_TYPES, method=METHODS, who=st.integers(0, 1))
def test_odd_bodies_never_get_a_server_error_from_the_api(
    api_clients: list[APIClient],
    case: Case,
    error_schema: dict[str, Any],
    route: str,
    body: bytes,
    content_type: str,
    method: str,
    who: int,
) -> None:
    response = api_clients[who].generic(
        method,
        concrete(route, case.pk),
        body,  # type: ignore[arg-type]  # bytes are sent as they are
        content_type=content_type,
    )

    assert_documented_error(response, error_schema)


@pytest.mark.parametrize("route", API_ROUTES)
@FUZZ
@given(
    query=st.dictionaries(
        FIELD_NAMES
        | st.sampled_from(
            ["status", "page", "page_size", "due_before", "sort", "category", "unit"]
        ),
        st.text(max_size=30),
        max_size=4,
    )
)
def test_odd_query_strings_never_get_a_server_error_from_the_api(
    api_clients: list[APIClient],
    case: Case,
    error_schema: dict[str, Any],
    route: str,
    query: dict[str, str],
) -> None:
    for client in api_clients:
        response = client.get(concrete(route, case.pk), query)
        assert_documented_error(response, error_schema)


@pytest.mark.parametrize("route", API_ROUTES)
def test_the_deep_bodies_the_review_found_are_a_400_everywhere(
    api_clients: list[APIClient], case: Case, error_schema: dict[str, Any], route: str
) -> None:
    for body in (
        "[" * 100_000,
        '{"a":' * 990,
        '{"flags": [{"evidence": [{"payload": ' + '{"a": ' * 930 + "1" + "}" * 934,
    ):
        for client in api_clients:
            response = client.post(concrete(route, case.pk), body, content_type="application/json")
            assert_documented_error(response, error_schema)
            assert response.status_code in {400, 401, 403, 405, 413}, response.content


# --- the pages' forms ----------------------------------------------------------------------------


FORM_DATA = st.dictionaries(
    FIELD_NAMES | st.text(max_size=8),
    st.text(max_size=60) | st.sampled_from(["on", "9" * 30, "2026-02-30", "\x00", "-1", "1e999"]),
    max_size=8,
)


@pytest.fixture
def browser(people: dict[str, Any]) -> Client:
    client = Client()
    client.force_login(people["sam.senior"])
    return client


@pytest.mark.parametrize("route", PAGE_ROUTES)
@FUZZ
@given(data=FORM_DATA)
def test_odd_form_posts_never_get_a_server_error(
    browser: Client, case: Case, route: str, data: dict[str, str]
) -> None:
    response = browser.post(concrete(route, case.pk), data)

    assert response.status_code < 500, response.content[:300]


@pytest.mark.parametrize("route", PAGE_ROUTES)
@FUZZ
@given(body=BODIES, content_type=CONTENT_TYPES)
def test_odd_raw_bodies_never_get_a_server_error_from_the_pages(
    browser: Client, case: Case, route: str, body: bytes, content_type: str
) -> None:
    response = browser.generic("POST", concrete(route, case.pk), body, content_type=content_type)

    assert response.status_code < 500, response.content[:300]

"""HTTPS only (redirect and HSTS, behind a TLS-terminating proxy too), no caching of anything that
may show a person's data, and the CSRF cookie out of scripts' reach."""

from typing import Any

import pytest
from django.test import Client

from accounts.roles import actor_for
from accounts.services import issue_personal_token

pytestmark = pytest.mark.django_db


def test_plain_http_is_redirected_to_https(settings: Any, client: Client) -> None:
    settings.SECURE_SSL_REDIRECT = True

    response = client.get("/sign-in/?next=/cases/")

    assert response.status_code == 301
    assert response["Location"] == "https://testserver/sign-in/?next=/cases/"


def test_https_answers_with_hsts_for_a_year_and_subdomains(client: Client) -> None:
    response = client.get("/sign-in/", secure=True)

    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_behind_a_trusted_proxy_its_https_header_counts_as_https(
    settings: Any, client: Client
) -> None:
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

    forwarded = client.get("/sign-in/", HTTP_X_FORWARDED_PROTO="https")
    plain = client.get("/sign-in/", HTTP_X_FORWARDED_PROTO="http")

    assert forwarded.status_code == 200
    assert "Strict-Transport-Security" in forwarded
    assert plain.status_code == 301


def test_without_a_trusted_proxy_a_forwarded_header_is_ignored(
    settings: Any, client: Client
) -> None:
    settings.SECURE_SSL_REDIRECT = True

    assert client.get("/sign-in/", HTTP_X_FORWARDED_PROTO="https").status_code == 301


def test_the_csrf_cookie_is_http_only_and_secure(client: Client) -> None:
    response = client.get("/sign-in/", secure=True)

    cookie = response.cookies["csrftoken"]
    assert cookie["httponly"] is True
    assert cookie["secure"] is True


def test_pages_with_a_persons_data_are_not_stored(client: Client, people: dict[str, Any]) -> None:
    client.force_login(people["rita.reviewer"])

    response = client.get("/cases/")

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"


def test_api_responses_are_not_stored(client: Client, people: dict[str, Any]) -> None:
    token = issue_personal_token(
        people["rita.reviewer"], actor=actor_for(people["alan.admin"])
    ).token

    response = client.get("/api/v1/cases/", HTTP_AUTHORIZATION=f"Bearer {token}")

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/sign-in/"),
        ("get", "/no-such-page/"),
        ("get", "/cases/"),  # the redirect to sign in
        ("post", "/api/v1/flags/"),  # refused: no token
        ("get", "/admin/login/"),
    ],
)
def test_every_other_response_is_not_stored_either(client: Client, method: str, path: str) -> None:
    response = getattr(client, method)(path)

    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/"])
def test_the_public_api_description_may_be_cached(client: Client, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")


def test_static_files_keep_their_own_caching(client: Client) -> None:
    response = client.get("/static/js/init.js")

    assert response.status_code == 200
    assert "no-store" not in response["Cache-Control"]

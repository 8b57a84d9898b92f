"""Every request body has a limit: ingest its own (INGEST_MAX_BODY_BYTES), the case API its own,
and everything else, the pages' forms included, DATA_UPLOAD_MAX_MEMORY_SIZE, refused from the
Content-Length before the body is read: a 400, never a 500, and nothing written."""

from io import BytesIO
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from tests.db_writes import row_counts
from tests.factories import CaseFactory, SubjectFactory

pytestmark = pytest.mark.django_db


class Unreadable(BytesIO):
    """A request body that fails the test if anything reads it."""

    def read(self, *args: Any, **kwargs: Any) -> bytes:
        raise AssertionError("the body was read")

    readline = read


def test_a_page_form_over_the_limit_is_refused_before_it_is_read(
    people: dict[str, Any], frozen_today: Any
) -> None:
    case = CaseFactory.create(subject=SubjectFactory.create(unit="East Response"))
    client = Client(enforce_csrf_checks=True)
    client.force_login(people["rita.reviewer"])
    # The case page sets the CSRF cookie; the middleware then looks for the token in the form.
    assert client.get(f"/cases/{case.pk}/").status_code == 200
    assert "csrftoken" in client.cookies
    before = row_counts()

    environ: dict[str, Any] = {
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "CONTENT_LENGTH": str(settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1),
        "wsgi.input": Unreadable(),
    }
    response = client.generic("POST", f"/cases/{case.pk}/act/", **environ)

    assert response.status_code == 400
    assert row_counts() == before


def test_an_upload_to_a_page_over_the_limit_is_refused_before_it_is_read(
    people: dict[str, Any], frozen_today: Any
) -> None:
    """Django limits form fields but not files: the length is checked before the CSRF check
    reads the form, for anyone, signed in or not."""
    client = Client(enforce_csrf_checks=True)
    client.cookies["csrftoken"] = "x" * 32  # anyone can set their own CSRF cookie
    environ: dict[str, Any] = {
        "CONTENT_TYPE": "multipart/form-data; boundary=BoUnDaRy",
        "CONTENT_LENGTH": str(8 * settings.DATA_UPLOAD_MAX_MEMORY_SIZE),
        "wsgi.input": Unreadable(),
    }

    for path in ("/sign-in/", "/cases/1/act/", "/no-such-page/"):
        response = client.generic("POST", path, **environ)
        assert response.status_code == 400, path


def test_forms_and_the_api_get_a_small_limit_and_only_ingest_a_large_one() -> None:
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == 2**20
    assert settings.INGEST_MAX_BODY_BYTES == 32 * 2**20

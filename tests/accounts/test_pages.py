"""accounts' pages: where each role starts, and what a locked-out sign-in is told."""

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from accounts.templatetags.durations import in_words
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def signed_in(people: dict[str, Any], username: str) -> Client:
    client = Client()
    client.force_login(people[username])
    return client


def test_oversight_starts_on_a_page_about_its_role(people: dict[str, Any]) -> None:
    client = signed_in(people, "olive.oversight")

    start = client.get("/").headers["Location"]
    page = client.get(start)

    assert start == "/your-role/"
    assert page.status_code == 200
    text = page.content.decode()
    assert ">You are oversight</h1>" in text
    assert "never named case content" in text


def test_a_data_steward_starts_on_the_challenges_to_decide_and_keeps_the_role_page(
    people: dict[str, Any],
) -> None:
    client = signed_in(people, "dan.steward")

    start = client.get("/").headers["Location"]
    page = client.get("/your-role/").content.decode()

    assert start == "/adjudication/"
    assert ">You are a data steward</h1>" in page
    assert "what you uphold is corrected or withdrawn" in page
    assert 'href="/adjudication/">Challenges to decide</a>' in page


def test_a_representative_starts_on_the_people_they_act_for_and_keeps_the_role_page(
    people: dict[str, Any],
) -> None:
    client = signed_in(people, "rhea.rep")

    start = client.get("/").headers["Location"]
    page = client.get("/your-role/").content.decode()

    assert start == "/representing/"
    assert ">You are a representative</h1>" in page
    assert 'href="/representing/">the people you represent</a>' in page


@pytest.mark.parametrize("username", ["rita.reviewer", "sid.subject"])
def test_other_roles_have_no_role_page(people: dict[str, Any], username: str) -> None:
    assert signed_in(people, username).get("/your-role/").status_code == 404


def test_a_person_with_no_role_is_told_so_on_the_role_page(people: dict[str, Any]) -> None:
    page = signed_in(people, "otto.outsider").get("/your-role/")

    assert page.status_code == 403
    assert "no role" in page.content.decode().lower()


def test_the_role_page_needs_a_sign_in() -> None:
    assert Client().get("/your-role/").headers["Location"].startswith("/sign-in/")


def test_a_lock_out_says_how_long_it_lasts_in_words(people: dict[str, Any], settings: Any) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/sign-in/", {"username": "rita.reviewer", "password": "wrong"})

    page = client.post("/sign-in/", {"username": "rita.reviewer", "password": PASSWORD})

    text = page.content.decode()
    assert "Try again in 30 minutes." in text
    assert "PT30M" not in text


@pytest.mark.parametrize(
    ("duration", "words"),
    [
        (timedelta(minutes=30), "30 minutes"),
        (timedelta(minutes=1), "1 minute"),
        (timedelta(hours=1), "1 hour"),
        (timedelta(minutes=90), "1 hour, 30 minutes"),
        (timedelta(days=1, minutes=5), "1 day"),
        (timedelta(seconds=20), "a minute"),
        (None, ""),
    ],
)
def test_durations_read_as_a_person_says_them(duration: timedelta | None, words: str) -> None:
    assert in_words(duration) == words

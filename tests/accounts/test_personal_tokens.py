"""A person's API token: issued with create_user --token, for a default or chosen number of days
up to the maximum, shown once with its expiry, and listed in the admin without its hash."""

from io import StringIO
from typing import Any

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client

from accounts.services import AccountError, issue_personal_token
from audit.actors import Actor
from flags.models import Detector
from tests.db_writes import row_counts
from tokens.models import ApiToken

pytestmark = pytest.mark.django_db

# Noon on a winter's day, so that local time is GMT and the printed expiry is predictable.
ISSUED_AT = "2026-12-01T12:00:00+00:00"


def create_user(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("create_user", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@time_machine.travel(ISSUED_AT, tick=False)
def test_a_token_lasts_the_default_90_days_and_the_command_says_until_when(
    admin_actor: Actor,
) -> None:
    out, err = create_user("olive", "--role", "oversight", "--token")

    token = ApiToken.objects.get(user__username="olive")
    assert (token.expires_at - token.created_at).days == 90
    assert out.strip().startswith("spt_")
    assert err == (
        "Created olive (oversight).\n"
        "Their personal API token (shown once), valid until 01 March 2027 at 12:00 GMT:\n"
    )


@time_machine.travel(ISSUED_AT, tick=False)
def test_token_days_sets_the_lifetime(admin_actor: Actor) -> None:
    _, err = create_user("olive", "--role", "oversight", "--token", "--token-days", "365")

    assert err.endswith("valid until 01 December 2027 at 12:00 GMT:\n")


def test_the_default_and_maximum_come_from_settings(admin_actor: Actor, settings: Any) -> None:
    settings.API_TOKEN_DEFAULT_DAYS, settings.API_TOKEN_MAX_DAYS = 7, 10
    user = get_user_model().objects.create_user("olive")

    issued = issue_personal_token(user, actor=admin_actor)

    assert (issued.record.expires_at - issued.record.created_at).days == 7
    with pytest.raises(AccountError, match="from 1 to 10 days"):
        issue_personal_token(user, actor=admin_actor, days=11)


@pytest.mark.parametrize("days", ["0", "366", "-3"])
def test_a_lifetime_beyond_the_maximum_creates_no_account(admin_actor: Actor, days: str) -> None:
    before = row_counts()

    with pytest.raises(CommandError) as refused:
        create_user("olive", "--role", "oversight", "--token", "--token-days", days)

    assert str(refused.value) == (
        f"A token lasts from 1 to 365 days (API_TOKEN_MAX_DAYS); {days} were asked for."
    )
    assert not get_user_model().objects.filter(username="olive").exists()
    assert row_counts() == before


def test_token_days_without_a_token_is_refused(admin_actor: Actor) -> None:
    with pytest.raises(CommandError, match="give --token too"):
        create_user("olive", "--role", "oversight", "--token-days", "30")

    assert not get_user_model().objects.filter(username="olive").exists()


def test_a_detectors_service_user_gets_no_personal_token(
    detector: Detector, admin_actor: Actor
) -> None:
    with pytest.raises(AccountError, match="is a detector's service user"):
        issue_personal_token(detector.user, actor=admin_actor)

    assert detector.user.api_tokens.count() == 1


def test_the_admin_shows_each_tokens_kind_and_expiry_but_never_its_hash(
    detector: Detector, admin_actor: Actor
) -> None:
    person = get_user_model().objects.create_user("olive")
    issued = issue_personal_token(person, actor=admin_actor)
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("root", password="x" * 20))

    listed = client.get("/admin/tokens/apitoken/")
    shown = client.get(f"/admin/tokens/apitoken/{issued.record.pk}/change/")
    history = client.get(f"/admin/tokens/apitoken/{issued.record.pk}/history/")

    assert listed.status_code == shown.status_code == history.status_code == 200
    for column in ("Kind", "Expires at", "Revoked at"):
        assert column in listed.content.decode()
    assert "A detector&#x27;s" in listed.content.decode()
    assert "Expires at" in shown.content.decode()
    for response in (listed, shown, history):
        assert issued.record.token_hash not in response.content.decode()
        assert "token_hash" not in response.content.decode()

"""One bearer-token authentication for the whole API; each endpoint accepts the kind of token,
and the principal, it needs; an expired, revoked or unknown token is refused, saying which."""

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from accounts.services import issue_personal_token
from audit.actors import Actor
from flags.models import Detector
from tests.factories import ExpiredDetectorTokenFactory, WeakFlagItemFactory
from tests.ingest_client import client_for, post_flags
from tokens.models import ApiToken
from tokens.services import TokenRefused, find_token

pytestmark = pytest.mark.django_db

CASES_URL = "/api/v1/cases/"


def test_a_token_works_until_the_moment_it_expires(
    people: dict[str, Any], admin_actor: Actor
) -> None:
    issued = issue_personal_token(people["rita.reviewer"], actor=admin_actor, days=30)
    client = client_for(issued.token)

    with time_machine.travel(issued.record.expires_at - timedelta(seconds=1), tick=False):
        assert client.get(CASES_URL).status_code == 200
    with time_machine.travel(issued.record.expires_at, tick=False):
        refused = client.get(CASES_URL)

    assert refused.status_code == 401
    assert refused.json() == {
        "error": "authentication_failed",
        "detail": f"This API token expired on {issued.record.expiry_text()}. "
        "Ask an administrator for a new one.",
    }


def test_an_expired_detector_token_is_refused_at_ingest(db: Any) -> None:
    ExpiredDetectorTokenFactory.create(token="sdt_expired-token")

    response = post_flags(client_for("sdt_expired-token"), [WeakFlagItemFactory.build()])

    assert response.status_code == 401
    assert response.json()["detail"].startswith("This API token expired on ")


def test_a_detectors_token_does_not_open_the_case_api(detector_with_token: Any) -> None:
    response = client_for(detector_with_token[1]).get(CASES_URL)

    assert response.status_code == 403
    assert response.json()["detail"] == "Only reviewers and senior reviewers may use the case API."


def test_a_persons_token_cannot_submit_flags(people: dict[str, Any], admin_actor: Actor) -> None:
    token = issue_personal_token(people["rita.reviewer"], actor=admin_actor).token

    response = post_flags(client_for(token), [WeakFlagItemFactory.build()])

    assert response.status_code == 403
    assert response.json()["detail"] == "Only a detector's API token may submit flags."


def test_a_token_of_an_inactive_account_is_refused(
    people: dict[str, Any], admin_actor: Actor
) -> None:
    user = people["rita.reviewer"]
    token = issue_personal_token(user, actor=admin_actor).token
    user.is_active = False
    user.save(update_fields=["is_active"])

    response = client_for(token).get(CASES_URL)

    assert response.status_code == 401
    assert response.json()["detail"] == "The account this API token belongs to is not active."


def test_find_token_names_the_reason_for_each_refusal(
    detector_with_token: tuple[Detector, str], admin_actor: Actor
) -> None:
    detector, token = detector_with_token
    record = find_token(token)

    assert (record.user, record.kind) == (detector.user, "detector")
    with pytest.raises(TokenRefused, match="not recognised, or has been revoked"):
        find_token("sdt_never-issued")
    with pytest.raises(TokenRefused, match="expired on"):
        find_token(token, at=record.expires_at)


def test_revoke_token_revokes_a_detectors_token_too(
    detector_with_token: tuple[Detector, str], admin_actor: Actor
) -> None:
    detector, token = detector_with_token
    err = StringIO()

    call_command("revoke_token", token[:12], "--actor", "admin.one", stderr=err)

    assert err.getvalue() == f"Revoked {token[:12]}… of user detector.overtime.\n"
    assert ApiToken.objects.get(user=detector.user).revoked_at is not None
    assert post_flags(client_for(token), [WeakFlagItemFactory.build()]).status_code == 401


def test_an_expired_token_can_still_be_revoked(admin_actor: Actor) -> None:
    expired = ExpiredDetectorTokenFactory.create(token="sdt_expired-token")

    call_command("revoke_token", "sdt_expired", stderr=StringIO())

    expired.refresh_from_db()
    assert expired.revoked_at is not None
    assert expired.revoked_at <= timezone.now()

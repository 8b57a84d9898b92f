"""Detectors and their API tokens: the create_detector command, hashing, rotation, revocation."""

import hashlib
import io
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from audit.actors import SYSTEM_USERNAME, Actor, Role
from audit.models import AuditEvent
from flags.models import Detector
from flags.services import DetectorError, issue_detector_token, register_detector
from tests.db_writes import AuditTail, row_counts
from tests.factories import WeakFlagItemFactory
from tests.ingest_client import client_for, post_flags
from tokens.models import ApiToken, TokenKind
from tokens.services import TokenError, hash_token, revoke_token

# Noon on a winter's day, so that local time is GMT and the printed expiry is predictable.
ISSUED_AT = "2026-12-01T12:00:00+00:00"

pytestmark = pytest.mark.django_db


def create_detector(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("create_detector", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@time_machine.travel(ISSUED_AT, tick=False)
def test_create_detector_prints_the_token_once_and_stores_only_its_hash(
    admin_actor: Actor,
) -> None:
    tail = AuditTail()

    out, err = create_detector("payroll-ot", "--name", "Overtime", "--actor", "admin.one")

    token = out.strip()
    assert out == token + "\n"  # the token alone on stdout, for scripts to capture
    assert err == (
        "Registered detector payroll-ot. Its API token (shown once), valid until "
        "01 December 2027 at 12:00 GMT:\n"
    )
    assert token.startswith("sdt_")
    assert len(token) > 40
    detector = Detector.objects.get(slug="payroll-ot")
    stored = ApiToken.objects.get(user=detector.user)
    assert stored.kind == TokenKind.DETECTOR
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert stored.prefix == token[:12]
    assert stored.revoked_at is None
    # Nowhere is the token itself kept: not in the row, its history, nor the audit log.
    assert token not in str(list(ApiToken.objects.values()))
    assert token not in str(list(ApiToken.history.values()))
    assert token not in str(list(AuditEvent.objects.values()))
    assert tail.actions() == [
        ("detector.registered", "flags.detector", str(detector.pk)),
        ("detector.token_issued", "tokens.apitoken", str(stored.pk)),
    ]
    events = tail.events()
    assert {(e.actor_username, e.actor_role) for e in events} == {("admin.one", Role.ADMINISTRATOR)}
    assert events[0].data == {"slug": "payroll-ot", "service_user": detector.user_id, "version": ""}
    assert events[1].data == {
        "user": detector.user_id,
        "prefix": token[:12],
        "expires_at": "2027-12-01T12:00:00+00:00",
    }


def test_a_detectors_token_lasts_the_longest_a_token_may_by_default(
    admin_actor: Actor, settings: Any
) -> None:
    settings.API_TOKEN_MAX_DAYS = 200

    detector, issued = register_detector("overtime", name="Overtime", actor=admin_actor)

    assert issued.record.expires_at - issued.record.created_at == timedelta(days=200)
    shorter = issue_detector_token(detector, actor=admin_actor, days=30)
    assert shorter.record.expires_at - shorter.record.created_at == timedelta(days=30)


@time_machine.travel(ISSUED_AT, tick=False)
def test_create_detector_takes_a_token_lifetime(admin_actor: Actor) -> None:
    _, err = create_detector("payroll-ot", "--name", "Overtime", "--token-days", "7")

    assert err.endswith("valid until 08 December 2026 at 12:00 GMT:\n")


@pytest.mark.parametrize("days", ["0", "366"])
def test_a_token_lifetime_beyond_the_maximum_registers_nothing(db: Any, days: str) -> None:
    with pytest.raises(CommandError) as refused:
        create_detector("payroll-ot", "--name", "Overtime", "--token-days", days)

    assert str(refused.value) == (
        f"A token lasts from 1 to 365 days (API_TOKEN_MAX_DAYS); {days} were asked for."
    )
    assert not Detector.objects.exists()
    assert not ApiToken.objects.exists()


def test_create_detector_records_the_version_it_is_given(admin_actor: Actor) -> None:
    create_detector("payroll-ot", "--name", "Overtime", "--detector-version", "2.1.0")

    detector = Detector.objects.get(slug="payroll-ot")
    assert detector.current_version == "2.1.0"
    registered = AuditEvent.objects.get(action="detector.registered")
    assert registered.data["version"] == "2.1.0"


def test_the_printed_token_authenticates_as_the_detectors_service_user(
    admin_actor: Actor,
) -> None:
    out, _ = create_detector("payroll-ot", "--name", "Overtime")
    detector = Detector.objects.get(slug="payroll-ot")

    response = post_flags(client_for(out.strip()), [WeakFlagItemFactory.build()])

    assert response.status_code == 200
    assert response.json()["created"] == 1
    assert detector.flags.count() == 1
    received = AuditEvent.objects.get(action="flag.received")
    assert (received.actor_user_id, received.actor_username) == (
        detector.user_id,
        "detector.payroll-ot",
    )


def test_the_service_user_cannot_sign_in(admin_actor: Actor) -> None:
    create_detector("payroll-ot", "--name", "Overtime")

    user = Detector.objects.get(slug="payroll-ot").user

    assert user.username == "detector.payroll-ot"
    assert not user.has_usable_password()
    assert not (user.is_staff or user.is_superuser)


def test_without_an_actor_the_system_registers_the_detector(db: Any) -> None:
    create_detector("payroll-ot", "--name", "Overtime")

    registered = AuditEvent.objects.get(action="detector.registered")
    assert (registered.actor_username, registered.actor_role) == (SYSTEM_USERNAME, Role.SYSTEM)
    history = Detector.history.get()
    assert history.history_user.username == SYSTEM_USERNAME


def test_a_second_detector_with_the_same_slug_is_refused(admin_actor: Actor) -> None:
    create_detector("payroll-ot", "--name", "Overtime")
    before = row_counts()

    with pytest.raises(CommandError) as refused:
        create_detector("payroll-ot", "--name", "Another")

    assert str(refused.value) == "A detector with slug 'payroll-ot' already exists."

    assert row_counts() == before


@pytest.mark.parametrize("slug", ["Not A Slug", "payroll/ot", "ot!"])
def test_a_slug_that_is_not_a_slug_is_refused(db: Any, slug: str) -> None:
    with pytest.raises(CommandError) as refused:
        create_detector(slug, "--name", "Overtime")

    assert str(refused.value).startswith(f"Slug {slug!r}: Enter a valid “slug”")

    assert not Detector.objects.exists()


def test_an_unknown_actor_is_refused(db: Any) -> None:
    with pytest.raises(CommandError) as refused:
        create_detector("payroll-ot", "--name", "Overtime", "--actor", "ghost")

    assert str(refused.value) == "No active user named 'ghost'."

    assert not Detector.objects.exists()


def test_an_inactive_actor_is_refused(db: Any) -> None:
    get_user_model().objects.create_user(username="gone", is_active=False)

    with pytest.raises(CommandError) as refused:
        create_detector("payroll-ot", "--name", "Overtime", "--actor", "gone")

    assert str(refused.value) == "No active user named 'gone'."
    assert not Detector.objects.exists()


def test_a_name_is_required(db: Any) -> None:
    with pytest.raises(CommandError, match="--name"):
        create_detector("payroll-ot")


def test_register_detector_refuses_a_taken_slug_without_writing(admin_actor: Actor) -> None:
    register_detector("overtime", name="Overtime", actor=admin_actor)
    before = row_counts()

    with pytest.raises(DetectorError):
        register_detector("overtime", name="Overtime again", actor=admin_actor)

    assert row_counts() == before


def test_tokens_are_random_and_hashed_with_sha256(
    detector_with_token: tuple[Detector, str], admin_actor: Actor
) -> None:
    detector, first = detector_with_token

    tokens = {first, *(issue_detector_token(detector, actor=admin_actor).token for _ in range(3))}

    assert len(tokens) == 4
    assert set(detector.user.api_tokens.values_list("token_hash", flat=True)) == {
        hash_token(token) for token in tokens
    }
    assert hash_token("sdt_x") == hashlib.sha256(b"sdt_x").hexdigest()


def test_issuing_a_token_is_audited_and_its_history_names_the_actor(
    detector_with_token: tuple[Detector, str], admin_actor: Actor
) -> None:
    detector = detector_with_token[0]
    tail = AuditTail()

    token = issue_detector_token(detector, actor=admin_actor).token

    stored = ApiToken.objects.get(token_hash=hash_token(token))
    assert tail.actions() == [("detector.token_issued", "tokens.apitoken", str(stored.pk))]
    assert stored.history.get().history_user == admin_actor.user


def test_revoking_a_token_stops_it_authenticating_and_is_audited(
    detector_with_token: tuple[Detector, str], admin_actor: Actor
) -> None:
    detector, token = detector_with_token
    stored = detector.user.api_tokens.get()
    tail = AuditTail()

    revoke_token(stored, actor=admin_actor)

    stored.refresh_from_db()
    assert stored.revoked_at is not None
    assert tail.actions() == [("detector.token_revoked", "tokens.apitoken", str(stored.pk))]
    assert tail.events()[0].data == {"user": detector.user_id, "prefix": token[:12]}
    latest = stored.history.latest("history_id")
    assert (latest.history_type, latest.history_user) == ("~", admin_actor.user)
    response = post_flags(client_for(token), [WeakFlagItemFactory.build()])
    assert response.status_code == 401


def test_a_token_cannot_be_revoked_twice(
    detector_with_token: tuple[Detector, str], admin_actor: Actor
) -> None:
    stored = detector_with_token[0].user.api_tokens.get()
    revoke_token(stored, actor=admin_actor)
    before = row_counts()

    with pytest.raises(TokenError, match="already revoked"):
        revoke_token(stored, actor=admin_actor)

    assert row_counts() == before

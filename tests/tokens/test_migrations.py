"""The upgrade from one token table per kind: every token, its hash and its history carried over
into ApiToken, still working, now with an expiry."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from tokens.models import ApiToken, TokenKind
from tokens.services import find_token, hash_token

BEFORE = [("accounts", "0001_initial"), ("flags", "0002_subject_user"), ("tokens", None)]
ISSUED = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
REVOKED = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)


def migrate(targets: list[tuple[str, str | None]]) -> Any:
    """Migrate to ``targets``; return the models as they are there."""
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    reached = [(app, name) for app, name in targets if name is not None]
    return executor.loader.project_state(reached).apps


def old_rows(apps: Any) -> dict[str, Any]:
    users = apps.get_model("auth", "User").objects
    admin = users.create(username="old.admin")
    person = users.create(username="old.reviewer")
    detector = apps.get_model("flags", "Detector").objects.create(
        slug="old", name="Old detector", user=users.create(username="detector.old")
    )
    personal = apps.get_model("accounts", "PersonalToken").objects.create(
        user=person,
        token_hash=hash_token("spt_old-person-token"),
        prefix="spt_old-pers",
        created_at=ISSUED,
        revoked_at=REVOKED,
    )
    detector_token = apps.get_model("flags", "DetectorToken").objects.create(
        detector=detector, token_hash=hash_token("sdt_old-detector-token"), prefix="sdt_old-dete"
    )
    for version, when, kind in ((personal, ISSUED, "+"), (personal, REVOKED, "~")):
        apps.get_model("accounts", "HistoricalPersonalToken").objects.create(
            id=version.pk,
            user_id=person.pk,
            token_hash=version.token_hash,
            prefix=version.prefix,
            created_at=version.created_at,
            revoked_at=None if kind == "+" else REVOKED,
            history_date=when,
            history_type=kind,
            history_user_id=admin.pk,
            history_change_reason=f"personal API token {'issued' if kind == '+' else 'revoked'}",
        )
    apps.get_model("flags", "HistoricalDetectorToken").objects.create(
        id=detector_token.pk,
        detector_id=detector.pk,
        token_hash=detector_token.token_hash,
        prefix=detector_token.prefix,
        created_at=detector_token.created_at,
        history_date=detector_token.created_at,
        history_type="+",
        history_user_id=admin.pk,
        history_change_reason="API token issued",
    )
    return {"personal": personal, "detector_token": detector_token, "detector": detector}


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_an_upgrade_carries_both_kinds_of_token_over_with_their_history(settings: Any) -> None:
    old = old_rows(migrate(BEFORE))

    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    upgraded_at = timezone.now()

    person = ApiToken.objects.get(kind=TokenKind.PERSON)
    assert (person.user.username, person.prefix) == ("old.reviewer", "spt_old-pers")
    assert (person.created_at, person.revoked_at) == (ISSUED, REVOKED)
    assert person.token_hash == hash_token("spt_old-person-token")
    detector = ApiToken.objects.get(kind=TokenKind.DETECTOR)
    assert detector.user.username == "detector.old"
    assert detector.created_at == old["detector_token"].created_at
    # Still working, and expiring a detector's maximum lifetime after the upgrade.
    assert find_token("sdt_old-detector-token") == detector
    assert abs(
        detector.expires_at - (upgraded_at + timedelta(days=settings.API_TOKEN_MAX_DAYS))
    ) < timedelta(minutes=5)
    assert abs(
        person.expires_at - (upgraded_at + timedelta(days=settings.API_TOKEN_DEFAULT_DAYS))
    ) < timedelta(minutes=5)
    history = list(
        person.history.order_by("history_id").values_list(
            "history_type", "history_user__username", "history_change_reason"
        )
    )
    assert history == [
        ("+", "old.admin", "personal API token issued"),
        ("~", "old.admin", "personal API token revoked"),
        (
            "~",
            "scrutiny.system",
            f"moved from accounts.PersonalToken {old['personal'].pk}; given an expiry",
        ),
    ]
    assert [v.history_date for v in person.history.order_by("history_id")][:2] == [
        ISSUED,
        REVOKED,
    ]
    assert list(detector.history.order_by("history_id").values_list("history_type", flat=True)) == [
        "+",
        "~",
    ]

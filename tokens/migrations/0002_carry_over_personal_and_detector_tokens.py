"""Move people's and detectors' tokens, each kind from its own table, into ApiToken.

Hashes, prefixes and the created and revoked times are kept, so every token works as before.
The tokens had no expiry: each now expires its kind's default number of days after the upgrade
(a person's API_TOKEN_DEFAULT_DAYS, a detector's API_TOKEN_MAX_DAYS), which gives their holders
time to rotate them and cuts none off at once. Each token's version history is copied under its
new id, and a last version, by the system user, records the move and the old table and id: that
is how the audit events written before the move (they name the old table and id) are tied to it.
"""

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import migrations
from django.utils import timezone

PERSON = "person"
DETECTOR = "detector"
# audit.actors.SYSTEM_USERNAME, as it was when this migration was written.
SYSTEM_USERNAME = "scrutiny.system"


def carry_over(apps: Any, schema_editor: Any) -> None:
    now = timezone.now()
    sources = [
        (
            PERSON,
            "accounts.PersonalToken",
            apps.get_model("accounts", "PersonalToken").objects.order_by("pk"),
            apps.get_model("accounts", "HistoricalPersonalToken"),
            now + timedelta(days=settings.API_TOKEN_DEFAULT_DAYS),
        ),
        (
            DETECTOR,
            "flags.DetectorToken",
            apps.get_model("flags", "DetectorToken").objects.select_related("detector").order_by("pk"),
            apps.get_model("flags", "HistoricalDetectorToken"),
            now + timedelta(days=settings.API_TOKEN_MAX_DAYS),
        ),
    ]
    for kind, label, old_tokens, old_history, expires_at in sources:
        for old in old_tokens:
            user_id = old.user_id if kind == PERSON else old.detector.user_id
            new = _copy_token(apps, old, kind=kind, user_id=user_id, expires_at=expires_at)
            moved = {"label": label, "at": now, "by": _system_user_id(apps)}
            _copy_history(apps, old_history, old, new, moved=moved)


def _system_user_id(apps: Any) -> int:
    """The system user, created as audit.actors.system_actor would: inactive, no password."""
    user, _ = apps.get_model("auth", "User").objects.get_or_create(
        username=SYSTEM_USERNAME,
        defaults={"is_active": False, "password": make_password(None)},
    )
    return int(user.pk)


def _copy_token(apps: Any, old: Any, *, kind: str, user_id: int, expires_at: Any) -> Any:
    return apps.get_model("tokens", "ApiToken").objects.create(
        user_id=user_id,
        kind=kind,
        token_hash=old.token_hash,
        prefix=old.prefix,
        created_at=old.created_at,
        expires_at=expires_at,
        revoked_at=old.revoked_at,
    )


def _copy_history(apps: Any, old_history: Any, old: Any, new: Any, *, moved: dict[str, Any]) -> None:
    historical = apps.get_model("tokens", "HistoricalApiToken")
    versions = [
        historical(
            id=new.pk,
            user_id=new.user_id,
            kind=new.kind,
            token_hash=version.token_hash,
            prefix=version.prefix,
            created_at=version.created_at,
            # The version as it was had no expiry; the one it now has is the nearest truth.
            expires_at=new.expires_at,
            revoked_at=version.revoked_at,
            history_date=version.history_date,
            history_change_reason=version.history_change_reason,
            history_type=version.history_type,
            history_user_id=version.history_user_id,
        )
        for version in old_history.objects.filter(id=old.pk).order_by("history_id")
    ]
    versions.append(
        historical(
            id=new.pk,
            user_id=new.user_id,
            kind=new.kind,
            token_hash=new.token_hash,
            prefix=new.prefix,
            created_at=new.created_at,
            expires_at=new.expires_at,
            revoked_at=new.revoked_at,
            history_date=moved["at"],
            history_change_reason=f"moved from {moved['label']} {old.pk}; given an expiry",
            history_type="~",
            history_user_id=moved["by"],
        )
    )
    historical.objects.bulk_create(versions)


class Migration(migrations.Migration):
    dependencies = [
        ("tokens", "0001_initial"),
        ("accounts", "0001_initial"),
        ("flags", "0002_subject_user"),
    ]

    operations = [migrations.RunPython(carry_over, migrations.RunPython.noop)]

"""manage.py set_password: where an administrator resets a password, audited, since the admin
changes none."""

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from audit.actors import Actor
from tests.db_writes import AuditTail, row_counts

pytestmark = pytest.mark.django_db

NEW = "a long and unusual passphrase 7"


@pytest.fixture
def password_file(tmp_path: Path) -> Path:
    path = tmp_path / "password"
    path.write_text(NEW + "\n", encoding="utf-8")
    return path


def test_an_administrator_resets_a_password_and_it_is_audited(
    admin_actor: Actor, people: dict[str, Any], password_file: Path
) -> None:
    tail = AuditTail()
    err = StringIO()
    call_command(
        "set_password",
        "rita.reviewer",
        "--password-file",
        str(password_file),
        "--actor",
        admin_actor.username,
        stderr=err,
    )

    assert get_user_model().objects.get(username="rita.reviewer").check_password(NEW)
    [event] = tail.events()
    assert (event.action, event.actor_username, event.target_id) == (
        "user.password_set",
        admin_actor.username,
        str(people["rita.reviewer"].pk),
    )
    assert NEW not in str(event.data) + event.reason
    assert err.getvalue().strip() == "Set the password of rita.reviewer."


@pytest.mark.parametrize(
    ("username", "contents", "actor", "message"),
    [
        ("nobody", NEW, "admin.one", "There is no user 'nobody'"),
        ("rita.reviewer", "", "admin.one", "The password file is empty"),
        ("rita.reviewer", "short", "admin.one", "too short"),
        ("rita.reviewer", NEW, "rita.reviewer", "is not an administrator"),
    ],
)
def test_bad_requests_are_refused_and_change_nothing(
    admin_actor: Actor,
    people: dict[str, Any],
    tmp_path: Path,
    username: str,
    contents: str,
    actor: str,
    message: str,
) -> None:
    path = tmp_path / "password"
    path.write_text(contents, encoding="utf-8")
    before = row_counts()
    hashed = get_user_model().objects.get(username="rita.reviewer").password

    with pytest.raises(CommandError, match=message):
        call_command("set_password", username, "--password-file", str(path), "--actor", actor)

    assert row_counts() == before
    assert get_user_model().objects.get(username="rita.reviewer").password == hashed

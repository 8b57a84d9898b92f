"""accounts: create_user (service and command), roles, and personal API tokens."""

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command

from accounts.roles import GROUP_ROLES, NoRole, actor_for, role_of
from accounts.services import AccountError, create_user, issue_personal_token
from audit.actors import Actor, Role
from tests.db_writes import AuditTail, row_counts
from tests.factories import SubjectFactory
from tokens.models import ApiToken, TokenKind
from tokens.services import TokenError, hash_token, live_token_with_prefix, revoke_token

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("create_user", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_every_role_a_person_can_hold_has_its_group() -> None:
    assert set(Group.objects.values_list("name", flat=True)) >= {r.value for r in GROUP_ROLES}
    assert Role.SYSTEM not in GROUP_ROLES
    assert Role.DETECTOR not in GROUP_ROLES


def test_the_command_creates_a_linked_user_with_a_role_and_a_token_shown_once(
    tmp_path: Path, admin_actor: Actor
) -> None:
    subject = SubjectFactory.create(staff_number="PS1001", unit="Professional Standards")
    password_file = tmp_path / "password"
    password_file.write_text("a long and unusual passphrase\n")
    tail = AuditTail()

    out, err = run(
        "rita",
        "--role",
        "reviewer",
        "--subject",
        "PS1001",
        "--password-file",
        str(password_file),
        "--token",
        "--actor",
        admin_actor.username,
    )

    user = get_user_model().objects.get(username="rita")
    token = out.strip()
    assert role_of(user) == Role.REVIEWER
    assert user.check_password("a long and unusual passphrase")
    subject.refresh_from_db()
    assert subject.user == user
    assert token.startswith("spt_")
    stored = ApiToken.objects.get(user=user)
    assert (stored.kind, stored.token_hash) == (TokenKind.PERSON, hash_token(token))
    assert token not in str(list(ApiToken.objects.values()))
    assert "shown once" in err
    assert [a for a, _, _ in tail.actions()] == [
        "user.created",
        "user.linked_to_subject",
        "personal_token.issued",
    ]
    assert all(e.actor_username == admin_actor.username for e in tail.events())
    assert subject.history.first().history_user == admin_actor.user


def test_without_a_password_the_account_cannot_sign_in(admin_actor: Actor) -> None:
    run("olive", "--role", "oversight")

    user = get_user_model().objects.get(username="olive")
    assert not user.has_usable_password()
    assert role_of(user) == Role.OVERSIGHT


def test_an_administrator_may_use_the_admin_site(admin_actor: Actor) -> None:
    run("alan", "--role", "administrator")

    assert get_user_model().objects.get(username="alan").is_staff


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["x", "--role", "reviewer", "--subject", "NOPE"], "No subject has staff number 'NOPE'"),
        (["admin.one", "--role", "oversight"], "already exists"),
        (["bad name!", "--role", "oversight"], "Enter a valid username"),
        (["rev", "--role", "reviewer"], "must be linked to their own record"),
        (["rev", "--role", "senior_reviewer"], "must be linked to their own record"),
        (["x", "--role", "reviewer", "--actor", "nobody"], "No active user named 'nobody'"),
    ],
)
def test_bad_requests_are_refused_clearly_and_write_nothing(
    admin_actor: Actor, args: list[str], message: str
) -> None:
    before = row_counts()
    users = get_user_model().objects.count()

    with pytest.raises(CommandError, match=message):
        run(*args)

    assert row_counts() == before
    assert get_user_model().objects.count() == users


def test_a_weak_password_is_refused(tmp_path: Path, admin_actor: Actor) -> None:
    password_file = tmp_path / "password"
    password_file.write_text("password\n")

    with pytest.raises(CommandError, match="too common"):
        run("weak", "--role", "oversight", "--password-file", str(password_file))
    assert not get_user_model().objects.filter(username="weak").exists()


def test_an_unknown_role_is_refused_by_the_command(admin_actor: Actor) -> None:
    with pytest.raises(CommandError, match="invalid choice"):
        run("x", "--role", "chief")


def test_a_subject_links_to_one_account_only(admin_actor: Actor) -> None:
    subject = SubjectFactory.create()
    create_user("first", role=Role.SUBJECT, subject=subject, actor=admin_actor)

    with pytest.raises(AccountError, match="already linked"):
        create_user("second", role=Role.SUBJECT, subject=subject, actor=admin_actor)


def test_system_and_detector_are_not_roles_for_people(admin_actor: Actor) -> None:
    with pytest.raises(AccountError, match="not a role a person can hold"):
        create_user("bot", role=Role.SYSTEM, actor=admin_actor)


def test_a_token_is_revoked_by_its_prefix(admin_actor: Actor) -> None:
    user = create_user("rita", role=Role.OVERSIGHT, actor=admin_actor)
    token = issue_personal_token(user, actor=admin_actor).token
    tail = AuditTail()
    err = StringIO()

    call_command("revoke_token", token[:10], "--actor", admin_actor.username, stderr=err)

    assert ApiToken.objects.get(user=user).revoked_at is not None
    assert err.getvalue() == f"Revoked {token[:12]}… of user rita.\n"
    assert [a for a, _, _ in tail.actions()] == ["personal_token.revoked"]
    with pytest.raises(CommandError, match="No live API token"):
        call_command("revoke_token", token[:10], stderr=StringIO())
    with pytest.raises(CommandError, match="at least the token's first 8"):
        call_command("revoke_token", "spt_", stderr=StringIO())


def test_a_user_in_two_role_groups_holds_no_role(people: dict[str, Any]) -> None:
    user = people["rita.reviewer"]
    user.groups.add(Group.objects.get(name="senior_reviewer"))
    fresh = get_user_model().objects.get(pk=user.pk)

    assert role_of(fresh) is None
    with pytest.raises(NoRole, match=r"more than one role in Scrutiny \(reviewer and senior"):
        actor_for(fresh)


def test_a_superuser_holds_no_role_by_being_one(people: dict[str, Any]) -> None:
    root = get_user_model().objects.create_superuser("root", password="x" * 20)

    assert role_of(root) is None
    with pytest.raises(NoRole, match="holds no role in Scrutiny"):
        actor_for(root)


def test_an_outsider_and_an_inactive_user_hold_no_role(people: dict[str, Any]) -> None:
    assert role_of(people["otto.outsider"]) is None
    people["sam.senior"].is_active = False
    people["sam.senior"].save(update_fields=["is_active"])
    assert role_of(get_user_model().objects.get(pk=people["sam.senior"].pk)) is None


def test_a_password_is_set_through_the_service_audited_and_validated(
    people: dict[str, Any], admin_actor: Actor
) -> None:
    from accounts.services import set_password

    user = people["rita.reviewer"]
    tail = AuditTail()

    with pytest.raises(AccountError, match="too common"):
        set_password(user, "password", actor=admin_actor, reason="reset")
    assert tail.actions() == []
    set_password(user, "a fresh and unusual passphrase", actor=admin_actor, reason="reset")

    assert get_user_model().objects.get(pk=user.pk).check_password("a fresh and unusual passphrase")
    [event] = tail.events()
    assert (event.action, event.reason) == ("user.password_set", "reset")
    assert "passphrase" not in str(event.data)


def test_an_ambiguous_prefix_or_an_inactive_user_is_refused(admin_actor: Actor) -> None:
    user = create_user("olive", role=Role.OVERSIGHT, actor=admin_actor)
    issue_personal_token(user, actor=admin_actor)
    issue_personal_token(user, actor=admin_actor)

    with pytest.raises(TokenError, match="Several live API tokens start with 'spt_'"):
        revoke_token(live_token_with_prefix("spt_"), actor=admin_actor)
    user.is_active = False
    user.save(update_fields=["is_active"])
    with pytest.raises(AccountError, match="is not active"):
        issue_personal_token(user, actor=admin_actor)

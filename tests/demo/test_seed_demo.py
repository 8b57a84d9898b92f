"""``manage.py seed_demo`` end to end: the force goes in through the HR import, the detectors'
flags through the real ingest API (in-process), and a second run changes nothing."""

import io
import json
import stat
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import override_settings

from audit.log import verify_stored_chain
from audit.models import AuditEvent
from demo.management.commands.seed_demo import api_host, in_process_api
from demo.models import SeededForce
from detectors.extracts import read_manifest
from detectors.reference import REFERENCE_DETECTORS
from detectors.runner import run_detector
from flags.models import EqualityProfile, Flag, Subject
from tokens.models import ApiToken

pytestmark = pytest.mark.django_db

SUBJECTS = 300


@pytest.fixture(autouse=True)
def demo_mode(settings: Any) -> None:
    """seed_demo runs only in development (DEBUG), as ``make demo`` runs it."""
    settings.DEBUG = True


def seed_demo(tmp_path: Path, **options: object) -> str:
    out = io.StringIO()
    options = {"subjects": SUBJECTS, "seed": 1, **options}
    call_command(
        "seed_demo",
        data_dir=tmp_path / "force",
        credentials_file=tmp_path / "credentials",
        stdout=out,
        **options,
    )
    return out.getvalue()


def password_in(path: Path) -> str:
    lines = dict(
        line.split("=", 1) for line in path.read_text(encoding="utf-8").splitlines() if "=" in line
    )
    assert lines["username"] == "admin"
    return lines["password"]


def test_the_demo_force_is_loaded_and_each_detector_posts_flags(tmp_path: Path) -> None:
    output = seed_demo(tmp_path, run_detectors=True)

    assert Subject.objects.count() == SUBJECTS
    assert EqualityProfile.objects.count() == SUBJECTS
    for detector in REFERENCE_DETECTORS:
        assert Flag.objects.filter(detector__slug=detector.slug).exists(), detector.slug
    # Each flag arrived through the API, recorded as the act of its detector's service user.
    received = AuditEvent.objects.filter(action="flag.received")
    assert received.count() == Flag.objects.count()
    assert set(received.values_list("actor_username", flat=True)) == {
        f"detector.{detector.slug}" for detector in REFERENCE_DETECTORS
    }
    assert verify_stored_chain().intact
    assert "cases opened" in output
    assert f"{Flag.objects.count():,} flags" in output


def test_running_again_changes_nothing_and_every_flag_is_a_duplicate(tmp_path: Path) -> None:
    seed_demo(tmp_path, run_detectors=True)
    flags, subjects = Flag.objects.count(), Subject.objects.count()

    output = seed_demo(tmp_path, run_detectors=True)

    assert "0 created, 0 updated" in output
    assert (Flag.objects.count(), Subject.objects.count()) == (flags, subjects)
    tokens = json.loads((tmp_path / "force" / "tokens.json").read_text(encoding="utf-8"))
    with in_process_api() as http:
        for detector in REFERENCE_DETECTORS:
            run = run_detector(detector, tmp_path / "force", http, tokens[detector.slug])
            assert run.flags > 0
            assert (run.summary.created, run.summary.rejected) == (0, 0), detector.slug
            assert run.summary.duplicate == run.flags
    assert verify_stored_chain().intact


def test_secrets_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    seed_demo(tmp_path)

    for path in (tmp_path / "credentials", tmp_path / "force" / "tokens.json"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser
    assert admin.check_password(password_in(tmp_path / "credentials"))


def test_a_second_run_keeps_the_admin_password_it_wrote(tmp_path: Path) -> None:
    seed_demo(tmp_path)
    password = password_in(tmp_path / "credentials")

    seed_demo(tmp_path)

    assert password_in(tmp_path / "credentials") == password
    assert get_user_model().objects.get(username="admin").check_password(password)


def test_a_lost_token_file_gets_new_working_tokens(tmp_path: Path) -> None:
    seed_demo(tmp_path)
    (tmp_path / "force" / "tokens.json").unlink()

    output = seed_demo(tmp_path, run_detectors=True)

    assert "new token issued" in output
    for detector in REFERENCE_DETECTORS:
        assert ApiToken.objects.filter(user__detector__slug=detector.slug).count() == 2
        assert Flag.objects.filter(detector__slug=detector.slug).exists()


def test_too_small_a_force_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="at least 50"):
        call_command("seed_demo", subjects=10, data_dir=tmp_path, stdout=io.StringIO())
    assert not Subject.objects.exists()


@override_settings(ALLOWED_HOSTS=[])
def test_running_detectors_needs_a_host_django_accepts() -> None:
    with pytest.raises(CommandError, match="ALLOWED_HOSTS is empty"):
        api_host()


@override_settings(ALLOWED_HOSTS=[".force.example", "other.example"])
def test_the_in_process_host_is_one_allowed_hosts_accepts() -> None:
    assert api_host() == "force.example"


def test_in_process_requests_leave_the_callers_database_connection_open() -> None:
    # Django closes the connection after each request; in-process, that connection is the
    # caller's (on PostgreSQL, closing it would end the caller's open transaction).
    with in_process_api():
        assert request_started.disconnect(close_old_connections) is False
        assert request_finished.disconnect(close_old_connections) is False
    assert request_started.disconnect(close_old_connections) is True
    assert request_finished.disconnect(close_old_connections) is True
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_seed_demo_refuses_to_run_outside_development(tmp_path: Path, settings: Any) -> None:
    settings.DEBUG = False

    with pytest.raises(CommandError, match="runs only with DEBUG=true"):
        seed_demo(tmp_path)

    assert not Subject.objects.exists()
    assert not get_user_model().objects.filter(username="admin").exists()


def test_creating_the_demo_administrator_is_audited(tmp_path: Path) -> None:
    seed_demo(tmp_path)

    admin = get_user_model().objects.get(username="admin")
    created = AuditEvent.objects.get(action="user.created")
    assert created.target_id == str(admin.pk)
    assert created.data == {"superuser": True, "role": "administrator"}


def test_the_demo_administrator_holds_the_administrator_role_and_starts_on_the_admin(
    tmp_path: Path,
) -> None:
    from django.test import Client

    from accounts.roles import role_of
    from audit.actors import Role

    seed_demo(tmp_path)

    admin = get_user_model().objects.get(username="admin")
    assert role_of(admin) == Role.ADMINISTRATOR
    client = Client()
    client.force_login(admin)
    assert client.get("/").headers["Location"] == "/admin/"


@pytest.mark.parametrize(
    ("seed", "subjects"), [(2, SUBJECTS), (1, SUBJECTS + 50)], ids=["seed", "size"]
)
def test_another_force_over_the_first_is_refused_and_nothing_changes(
    tmp_path: Path, seed: int, subjects: int
) -> None:
    seed_demo(tmp_path)
    events = AuditEvent.objects.count()

    with pytest.raises(CommandError) as refused:
        seed_demo(tmp_path, seed=seed, subjects=subjects)

    assert str(refused.value).startswith(
        f"This database holds the synthetic force of {SUBJECTS} people made with seed 1."
    )
    assert f"--seed 1 --subjects {SUBJECTS}" in str(refused.value)
    assert AuditEvent.objects.count() == events
    assert Subject.objects.count() == SUBJECTS
    # The extracts on disk are still the first force's.
    assert read_manifest(tmp_path / "force").seed == 1


def test_a_database_seeded_before_the_force_was_recorded_is_checked_against_its_extracts(
    tmp_path: Path,
) -> None:
    seed_demo(tmp_path)
    SeededForce.objects.all().delete()

    with pytest.raises(CommandError, match="made with seed 1"):
        seed_demo(tmp_path, seed=2)


def test_the_same_force_again_is_welcome_and_an_empty_database_takes_any(tmp_path: Path) -> None:
    seed_demo(tmp_path, seed=3)
    seed_demo(tmp_path, seed=3)

    force = SeededForce.objects.get()
    assert (force.seed, force.subjects) == (3, SUBJECTS)

"""The admin shows the operational models and changes none of them (governed writes go through
services), holds no person's data (that is read only in the logged reviewer pages), and shows no
secret's hash.

The write tests walk every URL the admin site serves rather than a list kept by hand, so a model
registered later, or a view a package adds, is covered the day it appears."""

import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, User
from django.db import models
from django.test import Client
from django.urls import NoReverseMatch, URLPattern, URLResolver, reverse
from django.utils.regex_helper import normalize

from accounts.services import issue_personal_token
from audit.actors import Actor
from audit.log import verify_stored_chain
from audit.models import AuditEvent
from casework.models import (
    Case,
    Decision,
    DeclaredConflict,
    PolicyStatus,
    ReferralResult,
    ThresholdPolicy,
)
from flags.models import Detector, EqualityProfile, EvidenceRecord, Flag, Subject
from flags.services import issue_detector_token
from tests.factories import StrongFlagItemFactory, SubjectFactory, WeakFlagItemFactory
from tests.ingest_client import client_for, post_flags
from tokens.models import ApiToken
from tokens.services import revoke_token

pytestmark = pytest.mark.django_db

MODELS = [Detector, ApiToken, ThresholdPolicy, AuditEvent]
PERSONAL = [
    Subject,
    EqualityProfile,
    EvidenceRecord,
    Flag,
    Case,
    Decision,
    DeclaredConflict,
    ReferralResult,
]
SIGN_IN_RECORDS = [AccessAttempt, AccessLog, AccessFailureLog]
OLD_PASSWORD = "x" * 20
NEW_PASSWORD = "a new password, chosen in the admin"
# Signing in and out are the admin's only writes: they touch the session, not governed data.
SESSION_VIEWS = {"login", "logout"}
# A control a person could change: a list, a text box, any input but a hidden one (CSRF token).
FORM_FIELD = re.compile(r'<select|<textarea|<input(?![^>]*type="hidden")')


@pytest.fixture
def superuser(db: Any) -> User:
    return get_user_model().objects.create_superuser("root", password=OLD_PASSWORD)


@pytest.fixture
def superuser_client(
    frozen_today: Any,
    superuser: User,
    detector_with_token: tuple[Detector, str],
    admin_actor: Actor,
) -> Client:
    """Something of every kind the admin shows: a detector whose first token is revoked and
    replaced, a policy that opened a case, audit events, a personal token, users and groups."""
    detector, token = detector_with_token
    subject = SubjectFactory.create()
    EqualityProfile.objects.create(subject=subject)
    post_flags(client_for(token), [StrongFlagItemFactory.build(subject=subject.staff_number)])
    assert Case.objects.exists()
    issue_detector_token(detector, actor=admin_actor)
    revoke_token(detector.user.api_tokens.earliest("pk"), actor=admin_actor)
    issue_personal_token(superuser, actor=admin_actor)
    client = Client()
    client.force_login(superuser)
    return client


# --- what the admin shows ---------------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__name__)
def test_each_model_is_listed_and_viewable_but_not_changeable(
    superuser_client: Client, model: Any
) -> None:
    meta = model._meta
    instance = model.objects.first()
    base = f"admin:{meta.app_label}_{meta.model_name}"

    listed = superuser_client.get(reverse(f"{base}_changelist"))
    shown = superuser_client.get(reverse(f"{base}_change", args=[instance.pk]))
    added = superuser_client.get(reverse(f"{base}_add"))
    deleted = superuser_client.post(reverse(f"{base}_delete", args=[instance.pk]), {"post": "yes"})

    assert listed.status_code == 200
    assert b'name="_selected_action"' not in listed.content
    assert shown.status_code == 200
    assert b'type="submit" value="Save"' not in shown.content
    assert added.status_code == 403
    assert deleted.status_code == 403
    assert model.objects.filter(pk=instance.pk).exists()


@pytest.mark.parametrize("model", PERSONAL, ids=lambda model: model.__name__)
def test_no_persons_data_is_in_the_admin(model: Any) -> None:
    assert not admin.site.is_registered(model)


@pytest.mark.parametrize("model", SIGN_IN_RECORDS, ids=lambda model: model.__name__)
def test_sign_in_records_are_not_in_the_admin(superuser_client: Client, model: Any) -> None:
    """They name people and their addresses, and deleting a lock-out would unlock an account
    with no audit event."""
    assert not admin.site.is_registered(model)
    assert superuser_client.get(f"/admin/{model._meta.app_label}/").status_code == 404


@pytest.mark.parametrize("model", [User, Group], ids=lambda model: model.__name__)
def test_accounts_are_shown_but_changed_only_through_create_user(
    superuser_client: Client, model: Any
) -> None:
    base = f"admin:auth_{model._meta.model_name}"

    assert superuser_client.get(reverse(f"{base}_changelist")).status_code == 200
    assert superuser_client.get(reverse(f"{base}_add")).status_code == 403


@pytest.mark.parametrize(
    "model", [m for m in MODELS if m is not AuditEvent], ids=lambda m: m.__name__
)
def test_each_governed_model_shows_its_history(superuser_client: Client, model: Any) -> None:
    meta = model._meta
    instance = model.objects.first()
    version = instance.history.earliest()
    base = f"admin:{meta.app_label}_{meta.model_name}"

    listed = superuser_client.get(reverse(f"{base}_history", args=[instance.pk]))
    shown = superuser_client.get(
        reverse(f"{base}_simple_history", args=[instance.pk, version.history_id])
    )

    assert listed.status_code == 200
    assert shown.status_code == 200
    # The past version is shown as text, with nothing to submit.
    content = shown.content.decode().split('id="content"')[1]
    assert 'type="submit"' not in content
    assert not FORM_FIELD.search(content)


def test_no_admin_page_shows_a_secrets_hash(superuser_client: Client) -> None:
    secrets = secret_hashes()
    assert secrets, "the fixture should hold tokens and passwords"

    pages = list(admin_urls())
    shown = [(url, superuser_client.get(url.path)) for url in pages]

    assert [(url.path, response.status_code) for url, response in shown if failed(response)] == []
    assert {url.path for url, response in shown if response.status_code == 200} >= {
        url.path for url in pages if is_read_page(url.name)
    }
    leaks = [
        (url.path, secret)
        for url, response in shown
        for secret in secrets
        if secret in response.content.decode()
    ]
    assert leaks == []


# --- what the admin refuses -------------------------------------------------------------------


def test_no_admin_url_accepts_a_write(superuser_client: Client) -> None:
    """Every admin URL, posted the values that restore an object's earliest version with its
    thresholds lowered, plus a bulk delete and a password change: each is refused, and not one
    row of any table changes."""
    pages = [url for url in admin_urls() if url.name not in SESSION_VIEWS]
    before, events = every_row(), AuditEvent.objects.count()

    answers = [(url, superuser_client.post(url.path, url.post_data)) for url in pages]

    assert [
        (url.path, r.status_code) for url, r in answers if r.status_code not in (403, 405)
    ] == []
    assert changed_tables(before, every_row()) == []
    assert AuditEvent.objects.count() == events
    assert verify_stored_chain().intact
    assert {url.model for url in pages} >= set(admin.site._registry)


def test_an_active_policy_cannot_be_rewritten_through_its_history_page(
    superuser_client: Client,
) -> None:
    policy = ThresholdPolicy.objects.get(status=PolicyStatus.ACTIVE)
    version = policy.history.earliest()
    in_force = policy.rules
    rules = json.loads(json.dumps(in_force))
    rules["system_misuse"].update(min_score=0.01, count=1)
    before = every_row()

    response = superuser_client.post(
        reverse("admin:casework_thresholdpolicy_simple_history", args=[policy.pk, version.pk]),
        {**form_values(version.instance), "rules": json.dumps(rules), "_change_history": "1"},
    )

    assert response.status_code == 403
    policy.refresh_from_db()
    assert policy.rules == in_force
    assert changed_tables(before, every_row()) == []


def test_a_revoked_token_cannot_be_restored_through_its_history_page(
    superuser_client: Client, detector_with_token: tuple[Detector, str]
) -> None:
    detector, token = detector_with_token
    revoked = detector.user.api_tokens.get(prefix=token[:12])
    live_version = revoked.history.filter(revoked_at=None).earliest()
    before = every_row()

    response = superuser_client.post(
        reverse("admin:tokens_apitoken_simple_history", args=[revoked.pk, live_version.pk]),
        form_values(live_version.instance),
    )

    assert response.status_code == 403
    revoked.refresh_from_db()
    assert revoked.revoked_at is not None
    assert changed_tables(before, every_row()) == []
    assert post_flags(client_for(token), [WeakFlagItemFactory.build()]).status_code == 401


def test_the_admin_offers_no_password_change(superuser_client: Client, superuser: User) -> None:
    """Passwords are set by accounts.services.set_password, which audits it."""
    change = {
        "old_password": OLD_PASSWORD,
        "new_password1": NEW_PASSWORD,
        "new_password2": NEW_PASSWORD,
        "password1": NEW_PASSWORD,
        "password2": NEW_PASSWORD,
        "usable_password": "true",
    }
    index = superuser_client.get(reverse("admin:index"))

    own = superuser_client.post("/admin/password_change/", change)
    users = superuser_client.post(
        reverse("admin:auth_user_password_change", args=[superuser.pk]), change
    )

    assert b"password_change" not in index.content
    assert b"Change password" not in index.content
    with pytest.raises(NoReverseMatch):
        reverse("admin:password_change")
    assert superuser_client.get("/admin/password_change/").status_code == 404
    assert (own.status_code, users.status_code) == (403, 403)
    superuser.refresh_from_db()
    assert superuser.check_password(OLD_PASSWORD)


def test_signing_out_of_the_admin_still_works(superuser_client: Client) -> None:
    response = superuser_client.post(reverse("admin:logout"))

    assert response.status_code == 200
    assert "_auth_user_id" not in superuser_client.session


# --- walking the admin ------------------------------------------------------------------------


@dataclass(frozen=True)
class AdminUrl:
    name: str
    path: str
    model: Any = None
    post_data: Any = None


def admin_urls() -> Iterator[AdminUrl]:
    """Every URL the admin site serves, its parameters filled from the data in the database:
    each model's views for its first and last object (and that object's earliest version), and
    the site's own views."""
    root = reverse("admin:index")
    for url in admin.site.get_urls():
        if isinstance(url, URLResolver):
            yield from model_urls(root + str(url.pattern), url.url_patterns)
        else:
            yield from filled(url, root, site_values(), None, {})


def model_urls(prefix: str, patterns: list[Any]) -> Iterator[AdminUrl]:
    app_label, model_name = prefix.strip("/").split("/")[-2:]
    model = apps.get_model(app_label, model_name)
    objects = model._default_manager.order_by("pk")
    assert objects.exists(), f"the fixture should hold a {model.__name__} for the admin to show"
    for obj in {objects.first(), objects.last()}:
        version = earliest_version(obj)
        values = {"object_id": [obj.pk], "id": [obj.pk], "_0": [obj.pk]}
        if version is not None:
            values["_1"] = [version.pk]
        data = tampered(form_values(version.instance if version else obj))
        data |= {"action": "delete_selected", "_selected_action": [obj.pk], "post": "yes"}
        for url in patterns:
            yield from filled(url, prefix, values, model, data)


def filled(
    url: URLPattern, prefix: str, values: dict[str, list[Any]], model: Any, data: dict[str, Any]
) -> Iterator[AdminUrl]:
    """The pattern with each parameter replaced by each of its values; a parameter the walk
    does not know fails the test, so that a new kind of admin URL is not silently skipped."""
    template, params = normalize(url.pattern.regex.pattern)[0]
    name = url.name or str(url.pattern)
    for combination in itertools.product(*(values[param] for param in params)):
        path = prefix + template % {p: str(v) for p, v in zip(params, combination, strict=True)}
        yield AdminUrl(name, path, model, data | WRITE_ANYTHING)


def site_values() -> dict[str, list[Any]]:
    detector = Detector.objects.first()
    return {
        "app_label": sorted({model._meta.app_label for model in admin.site._registry}),
        "content_type_id": [
            apps.get_model("contenttypes", "ContentType").objects.get_for_model(Detector).pk
        ],
        "object_id": [detector.pk if detector else 0],
        "url": ["no-such-page/"],
    }


# Fields that Django's and simple-history's forms act on: bulk actions, saving, reverting, and
# the password forms.
WRITE_ANYTHING = {
    "index": "0",
    "select_across": "1",
    "_save": "Save",
    "_change_history": "1",
    "old_password": OLD_PASSWORD,
    "new_password1": NEW_PASSWORD,
    "new_password2": NEW_PASSWORD,
    "password1": NEW_PASSWORD,
    "password2": NEW_PASSWORD,
    "usable_password": "true",
    "name": "a renamed thing",
}


def earliest_version(obj: models.Model) -> Any:
    history = getattr(type(obj), "history", None)
    if history is None:
        return None
    return history.filter(**{type(obj)._meta.pk.attname: obj.pk}).earliest()


def form_values(obj: models.Model) -> dict[str, Any]:
    """An admin form's fields for ``obj``'s values, as a browser would post them."""
    values: dict[str, Any] = {}
    for field in type(obj)._meta.concrete_fields:
        value = getattr(obj, field.attname)
        if isinstance(value, datetime):
            values[f"{field.name}_0"], values[f"{field.name}_1"] = value.date(), value.time()
        if isinstance(field, models.JSONField):
            value = json.dumps(value)
        if isinstance(value, bool):
            value = "on" if value else ""
        if isinstance(value, datetime | date):
            value = value.isoformat()
        values[field.name] = "" if value is None else value
    return values


def tampered(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with every threshold in a JSON field lowered to its least: the edit that once
    rewrote an active policy."""
    result = dict(values)
    for name, value in values.items():
        if isinstance(value, str) and value.startswith("{"):
            result[name] = json.dumps(lowered(json.loads(value)))
    return result


def lowered(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: lowered(item) for key, item in value.items()}
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    return 0.01 if isinstance(value, float) else 1


def every_row() -> dict[str, list[dict[str, Any]]]:
    return {
        model._meta.label: list(model._base_manager.order_by("pk").values())
        for model in apps.get_models(include_auto_created=True)
    }


def changed_tables(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return [label for label in before if before[label] != after[label]]


def secret_hashes() -> set[str]:
    """Every token's hash, from every table that holds one (their history tables too), and every
    stored password."""
    holders = [m for m in apps.get_models() if "token_hash" in {f.name for f in m._meta.fields}]
    hashes = {h for m in holders for h in m._base_manager.values_list("token_hash", flat=True)}
    passwords = get_user_model().objects.exclude(password="").values_list("password", flat=True)
    # A stored password is "algorithm$...$salt$hash": neither the whole nor its hash may show.
    return hashes | set(passwords) | {password.rsplit("$", 1)[-1] for password in passwords}


def is_read_page(name: str) -> bool:
    return name.endswith(("_changelist", "_history")) or (
        name.endswith("_change") and not name.endswith("password_change")
    )


def failed(response: Any) -> bool:
    return response.status_code >= 500

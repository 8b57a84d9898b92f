"""The admin shows the operational models and changes none of them (governed writes go through
services), and holds no person's data: that is read only in the logged reviewer pages."""

from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent
from casework.models import Case, Decision, DeclaredConflict, ThresholdPolicy
from flags.models import Detector, EqualityProfile, EvidenceRecord, Flag, Subject
from tests.factories import StrongFlagItemFactory, SubjectFactory
from tests.ingest_client import post_flags
from tokens.models import ApiToken

pytestmark = pytest.mark.django_db

MODELS = [Detector, ApiToken, ThresholdPolicy, AuditEvent]
PERSONAL = [Subject, EqualityProfile, EvidenceRecord, Flag, Case, Decision, DeclaredConflict]


@pytest.fixture
def superuser_client(detector_client: Any, frozen_today: Any) -> Client:
    subject = SubjectFactory.create()
    EqualityProfile.objects.create(subject=subject)
    post_flags(detector_client, [StrongFlagItemFactory.build(subject=subject.staff_number)])
    assert Case.objects.exists()
    user = get_user_model().objects.create_superuser("root", password="x" * 20)
    client = Client()
    client.force_login(user)
    return client


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
    assert shown.status_code == 200
    assert b'type="submit" value="Save"' not in shown.content
    assert added.status_code == 403
    assert deleted.status_code == 403
    assert model.objects.filter(pk=instance.pk).exists()


@pytest.mark.parametrize("model", PERSONAL, ids=lambda model: model.__name__)
def test_no_persons_data_is_in_the_admin(model: Any) -> None:
    assert not admin.site.is_registered(model)


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

    response = superuser_client.get(
        reverse(f"admin:{meta.app_label}_{meta.model_name}_history", args=[instance.pk])
    )

    assert response.status_code == 200
    assert model.history.filter(id=instance.pk).exists()

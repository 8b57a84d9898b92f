"""Fixtures shared by the whole suite: actors per role, detectors with tokens, a small force."""

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from audit.actors import Actor, Role, system_actor
from flags.models import Detector
from flags.services import register_detector
from tests.factories import SubjectFactory


@pytest.fixture
def admin_actor(db: Any) -> Actor:
    user = get_user_model().objects.create_user(username="admin.one", password="x" * 20)
    return Actor(user=user, role=Role.ADMINISTRATOR)


@pytest.fixture
def system(db: Any) -> Actor:
    return system_actor()


@pytest.fixture
def detector_with_token(admin_actor: Actor) -> tuple[Detector, str]:
    return register_detector("overtime", name="Overtime anomalies", actor=admin_actor)


@pytest.fixture
def detector_client(detector_with_token: tuple[Detector, str]) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {detector_with_token[1]}")
    return client


@pytest.fixture
def make_subject(db: Any) -> Callable[..., Any]:
    return SubjectFactory

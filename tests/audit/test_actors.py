"""audit.actors.command_actor: only an administrator may be named as a command's actor."""

import pytest
from django.contrib.auth import get_user_model

from audit.actors import SYSTEM_USERNAME, Role, UnknownActor, command_actor
from flags.models import Detector

pytestmark = pytest.mark.django_db


def test_no_name_means_the_system() -> None:
    actor = command_actor(None)

    assert (actor.username, actor.role) == (SYSTEM_USERNAME, Role.SYSTEM)


def test_a_staff_user_acts_as_administrator() -> None:
    get_user_model().objects.create_user("ops", is_staff=True)

    actor = command_actor("ops")

    assert (actor.username, actor.role) == ("ops", Role.ADMINISTRATOR)


@pytest.mark.parametrize(
    ("username", "message"),
    [
        ("nobody", "No active user named 'nobody'."),
        ("plain", "'plain' is not an administrator."),
        ("gone", "No active user named 'gone'."),
        ("detector.overtime", "'detector.overtime' is not an administrator."),
    ],
)
def test_anyone_else_is_refused(
    username: str, message: str, detector_with_token: tuple[Detector, str]
) -> None:
    users = get_user_model().objects
    users.create_user("plain")
    users.create_user("gone", is_staff=True, is_active=False)
    detector = detector_with_token[0]
    detector.user.is_staff = True  # even a staff flag does not make a service account an admin
    detector.user.save()

    with pytest.raises(UnknownActor) as refused:
        command_actor(username)

    assert str(refused.value) == message

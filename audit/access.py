"""Recording who viewed a person's data. Every page, API response or download that shows a
subject's personal data calls :func:`record_access` for each person shown."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from audit.actors import Actor
from audit.models import AccessEvent


@dataclass(frozen=True)
class Shown:
    """One item of a person's data on the screen: whose it is and what it is."""

    subject_id: int
    object_type: str
    object_id: Any


def record_access(
    shown: Iterable[Shown], *, actor: Actor, channel: str, view: str, purpose: str
) -> int:
    """Append one AccessEvent per item shown, in one insert. Returns how many."""
    now = timezone.now()
    on_behalf_of = actor.on_behalf_of.pk if actor.on_behalf_of is not None else None
    events = [
        AccessEvent(
            occurred_at=now,
            user_id=actor.user_id,
            username=actor.username,
            role=str(actor.role),
            on_behalf_of_user_id=on_behalf_of,
            subject_id=item.subject_id,
            object_type=item.object_type,
            object_id=str(item.object_id),
            channel=channel,
            view=view,
            purpose=purpose,
        )
        for item in shown
    ]
    AccessEvent.objects.bulk_create(events)
    return len(events)

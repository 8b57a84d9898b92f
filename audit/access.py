"""Recording who viewed a person's data. Every page, API response or download that shows a
subject's personal data calls :func:`record_access` for each person shown."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from audit import log
from audit.actors import Actor
from audit.models import AccessEvent
from audit.registry import register

ACCESS_RECORDED = register(
    "access.recorded", "Views of people's data were written to the access log (ids and a hash)."
)
# The key, in an access.recorded event's data, listing the access events it recorded.
ACCESS_EVENTS_KEY = "access_events"


@dataclass(frozen=True)
class Shown:
    """One item of a person's data on the screen: whose it is and what it is."""

    subject_id: int
    object_type: str
    object_id: Any


def record_access(
    shown: Iterable[Shown], *, actor: Actor, channel: str, view: str, purpose: str
) -> int:
    """Append one AccessEvent per item shown, in one insert, and one audit event listing their
    ids and the hash of their rows, so that a deleted or rewritten access event is found by
    ``verify_audit``. Returns how many. One audit event per call, not per item: a page of a
    hundred cases costs one link of the chain."""
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
    if not events:
        return 0
    with transaction.atomic():
        AccessEvent.objects.bulk_create(events)
        log.record(
            ACCESS_RECORDED,
            events[0],
            actor=actor,
            data={
                ACCESS_EVENTS_KEY: [event.pk for event in events],
                "row_hash": log.row_hash(events),
            },
            reason=view,
        )
    return len(events)

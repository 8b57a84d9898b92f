"""flags.signals.flags_stored is sent where its documentation says: after the flags are written,
before any audit event of the batch; the flags' events then precede the receivers' events."""

from typing import Any

import pytest

from audit.models import AuditEvent
from casework.models import Case
from flags.models import Flag
from flags.signals import flags_stored
from tests.factories import StrongFlagItemFactory, SubjectFactory
from tests.ingest_client import post_flags

pytestmark = pytest.mark.django_db


def test_the_signal_comes_before_the_batch_is_audited_and_the_events_follow_cause(
    detector_client: Any, frozen_today: Any
) -> None:
    subject = SubjectFactory.create()
    seen: dict[str, Any] = {}

    def look(sender: Any, *, flags: list[Any], **kwargs: Any) -> None:
        seen["stored"] = Flag.objects.filter(pk__in=[f.id for f in flags]).count()
        seen["audited"] = AuditEvent.objects.filter(action="flag.received").count()

    flags_stored.connect(look, dispatch_uid="test-look")
    try:
        post_flags(detector_client, [StrongFlagItemFactory.build(subject=subject.staff_number)])
    finally:
        flags_stored.disconnect(dispatch_uid="test-look")

    assert seen == {"stored": 1, "audited": 0}
    case = Case.objects.get(subject=subject)
    actions = list(
        AuditEvent.objects.filter(action__in=["flag.received", "case.opened"])
        .order_by("seq")
        .values_list("action", "target_id")
    )
    assert actions == [("flag.received", str(Flag.objects.get().pk)), ("case.opened", str(case.pk))]

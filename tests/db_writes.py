"""What an action wrote: the audit events appended since a mark, and row counts of every table
that a write could touch (governed models, their history, link tables and the audit log)."""

from typing import Any

from django.db.models import Max

from audit.models import AuditEvent
from casework.models import (
    Case,
    CaseFlag,
    Decision,
    Notification,
    ReferralResult,
    ThresholdPolicy,
)
from flags.models import (
    Detector,
    EqualityProfile,
    EvidenceRecord,
    Flag,
    FlagEvidence,
    Subject,
)
from tokens.models import ApiToken

HISTORIED = (
    Subject,
    EqualityProfile,
    Detector,
    EvidenceRecord,
    Flag,
    Case,
    ApiToken,
)
PLAIN = (
    FlagEvidence,
    CaseFlag,
    ThresholdPolicy,
    Decision,
    ReferralResult,
    Notification,
    AuditEvent,
)


def row_counts() -> dict[str, int]:
    counts = {model._meta.label: model._default_manager.count() for model in PLAIN}
    for model in HISTORIED:
        counts[model._meta.label] = model._default_manager.count()
        history: Any = model.history.model
        counts[history._meta.label] = history.objects.count()
    return counts


def head_seq() -> int:
    return int(AuditEvent.objects.aggregate(head=Max("seq"))["head"] or 0)


class AuditTail:
    """The audit events appended after the moment it was made."""

    def __init__(self) -> None:
        self.start = head_seq()

    def events(self) -> list[AuditEvent]:
        return list(AuditEvent.objects.filter(seq__gt=self.start).order_by("seq"))

    def actions(self) -> list[tuple[str, str, str]]:
        """``(action, target_type, target_id)`` for each new event, in order."""
        return [(e.action, e.target_type, e.target_id) for e in self.events()]

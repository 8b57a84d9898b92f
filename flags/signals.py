"""Signals flags sends, so that casework can act on new flags without flags importing casework.

``flags_stored`` is sent inside the ingest transaction, after the flags and their evidence links
are written and while the subjects' rows are locked, but before any audit event of the batch is
appended, with ``flags``, a list of StoredFlag. A receiver returns Consequences: the cases the
new flags joined, which the ingest response reports, and its audit events. Ingest then appends
the flags' own events and, after them, the receivers' events: appending is the transaction's last
step, so the audit chain's lock is held only for that step.

``cases_of_flags`` asks, with ``flag_ids``, which case each of those flags was last attached to:
a replayed flag's ingest answer names its case. A receiver returns ``{flag_id: case_id}``.
"""

from dataclasses import dataclass
from datetime import date

from django.dispatch import Signal

from audit.actors import Actor
from audit.log import Entry


@dataclass(frozen=True)
class StoredFlag:
    """What evaluation needs of a new flag, passed along so that it need not be read back."""

    id: int
    subject_id: int
    category: str
    score: float
    window_end: date


@dataclass(frozen=True)
class Consequences:
    """What a receiver did about new flags: the cases they joined, ``{flag_id: case_id}``, and
    the audit events the sender appends for it, as ``actor``, after its own."""

    cases: dict[int, int]
    audit_entries: list[Entry]
    actor: Actor


class EvaluationUnavailable(RuntimeError):
    """A receiver cannot evaluate new flags at all (no threshold policy is in force, say): the
    batch must not be stored unevaluated."""


flags_stored = Signal()

cases_of_flags = Signal()

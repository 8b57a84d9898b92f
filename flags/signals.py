"""Signals flags sends, so that casework can act on new flags without flags importing casework.

``flags_stored`` is sent inside the ingest transaction, after the flags and their audit events
are written and while the subjects' rows are locked, with ``flags``, a list of StoredFlag. A
receiver returns ``{flag_id: case_id}`` for the new flags it attached to a case; the ingest
response reports those case ids.
"""

from dataclasses import dataclass
from datetime import date

from django.dispatch import Signal


@dataclass(frozen=True)
class StoredFlag:
    """What evaluation needs of a new flag, passed along so that it need not be read back."""

    id: int
    subject_id: int
    category: str
    score: float
    window_end: date


flags_stored = Signal()

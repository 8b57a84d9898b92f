"""Signals flags sends, so that casework can act on new flags without flags importing casework.

``flags_stored`` is sent inside the ingest transaction, after the flags and their audit events
are written and while the subjects' rows are locked. A receiver returns ``{flag_id: case_id}``
for the new flags it attached to a case; the ingest response reports those case ids.
"""

from django.dispatch import Signal

flags_stored = Signal()

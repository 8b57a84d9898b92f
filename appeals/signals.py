"""Signals appeals sends, so that what is built on the data (reports) can follow a correction
without appeals importing it.

``data_corrected`` is sent inside the transaction of an upheld challenge that changed data: an
evidence record corrected or withdrawn (``evidence_ids``), or a decision set aside; with the
cases resting on it (``case_ids``), the challenge that caused it (``challenge``), and the cause
in words and as data (``cause``, ``cause_data``). A receiver writes what follows for it and
returns the audit entries to append, as the system, after the sender's own consequences.
"""

from django.dispatch import Signal

data_corrected = Signal()

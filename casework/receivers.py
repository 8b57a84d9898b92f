"""Casework's answer to new flags: evaluate their subjects against the threshold policy."""

from typing import Any

from audit.actors import Actor, system_actor
from casework.services import open_or_update_cases_for_new_flags
from flags.signals import Consequences, StoredFlag


def evaluate_new_flags(
    sender: Any, *, flags: list[StoredFlag], actor: Actor, **kwargs: Any
) -> Consequences:
    # Opening a case is the system's act, on the policy's authority: not the detector's.
    return open_or_update_cases_for_new_flags(flags, actor=system_actor())

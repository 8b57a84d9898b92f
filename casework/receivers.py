"""Casework's answer to new flags: evaluate their subjects against the threshold policy."""

from typing import Any

from audit.actors import Actor, system_actor
from casework.models import CaseFlag
from casework.services import open_or_update_cases_for_new_flags
from flags.signals import Consequences, StoredFlag


def evaluate_new_flags(
    sender: Any, *, flags: list[StoredFlag], actor: Actor, **kwargs: Any
) -> Consequences:
    # Opening a case is the system's act, on the policy's authority: not the detector's.
    return open_or_update_cases_for_new_flags(flags, actor=system_actor())


def latest_cases_of_flags(sender: Any, *, flag_ids: list[int], **kwargs: Any) -> dict[int, int]:
    """The case each flag was last attached to: later links overwrite earlier ones."""
    links = (
        CaseFlag.objects.filter(flag_id__any=flag_ids)
        .order_by("attached_at", "pk")
        .values_list("flag_id", "case_id")
    )
    return dict(links)

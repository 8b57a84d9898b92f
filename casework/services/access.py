"""The access log's record of who was shown which case."""

from collections.abc import Iterable

from audit.access import Shown, record_access
from audit.actors import Actor
from casework.models import Case


def record_case_views(
    cases: Iterable[Case], *, actor: Actor, channel: str, view: str, purpose: str = "case review"
) -> None:
    """Log that ``actor`` was shown these cases, each about a person (the access log)."""
    record_access(
        [Shown(case.subject_id, "casework.case", case.pk) for case in cases],
        actor=actor,
        channel=channel,
        view=view,
        purpose=purpose,
    )

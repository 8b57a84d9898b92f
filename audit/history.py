"""Saving a governed object so that its history row names who changed it, and why."""

from collections.abc import Sequence

from django.db import models

from audit.actors import Actor


def save_with_history(
    instance: models.Model,
    *,
    actor: Actor,
    reason: str,
    update_fields: Sequence[str] | None = None,
) -> None:
    """Save through django-simple-history with the actor and reason on the historical row.

    Services call this instead of ``save()``: a history row without its user is a gap in the
    record of who changed what.
    """
    instance._history_user = actor.user  # type: ignore[attr-defined]
    instance._change_reason = reason  # type: ignore[attr-defined]
    instance.save(update_fields=update_fields)

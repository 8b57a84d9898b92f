"""Declarations of a conflict of interest, which the conflict check then honours."""

from django.db import transaction
from django.utils import timezone

from audit import log
from audit.actors import Actor
from audit.history import save_with_history
from casework import audit_actions
from casework.models import DeclaredConflict
from flags.models import Subject


def declare_conflict(subject: Subject, *, actor: Actor) -> DeclaredConflict:
    """Record the actor's declaration that they must not act on cases about ``subject``.

    Anyone may declare; a repeated declaration changes nothing and returns the first.
    """
    with transaction.atomic():
        existing = DeclaredConflict.objects.filter(user=actor.user, subject=subject).first()
        if existing is not None:
            return existing
        declaration = DeclaredConflict(user=actor.user, subject=subject, declared_at=timezone.now())
        save_with_history(declaration, actor=actor, reason="conflict declared")
        log.record(
            audit_actions.CONFLICT_DECLARED,
            declaration,
            actor=actor,
            data={
                "user": actor.user_id,
                "subject": subject.pk,
                "declared_conflict": declaration.pk,
                "row_hash": log.row_hash(declaration),
            },
            reason="conflict of interest declared",
        )
    return declaration

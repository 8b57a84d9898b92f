from typing import Any

from django.db import models

from audit.chain import canonical_time


class AuditEvent(models.Model):
    """One link of the hash-chained audit log.

    Rows are written only by ``audit.log`` and never changed: database triggers refuse UPDATE and
    DELETE on both PostgreSQL and SQLite (migration 0002). ``seq`` is the primary key so that the
    chain order is the table order and a gap is visible.
    """

    seq = models.BigIntegerField(primary_key=True)
    occurred_at = models.DateTimeField()
    actor_user_id = models.BigIntegerField(null=True, blank=True)
    actor_username = models.CharField(max_length=150, blank=True)
    actor_role = models.CharField(max_length=40)
    on_behalf_of_user_id = models.BigIntegerField(null=True, blank=True)
    action = models.CharField(max_length=80, db_index=True)
    target_type = models.CharField(max_length=60)
    target_id = models.CharField(max_length=64)
    reason = models.CharField(max_length=300, blank=True)
    data = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["seq"]
        indexes = [models.Index(fields=["target_type", "target_id"], name="audit_target_idx")]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.target_type}:{self.target_id}"

    def chain_fields(self) -> dict[str, Any]:
        """The fields the hash covers, in their canonical form."""
        return {
            "seq": self.seq,
            "occurred_at": canonical_time(self.occurred_at),
            "actor_user_id": self.actor_user_id,
            "actor_username": self.actor_username,
            "actor_role": self.actor_role,
            "on_behalf_of_user_id": self.on_behalf_of_user_id,
            "action": self.action,
            "target_type": self.target_type,
            "target_id": self.target_id,
            "reason": self.reason,
            "data": self.data,
            "prev_hash": self.prev_hash,
        }

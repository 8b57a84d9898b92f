import json
from typing import Any

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.expressions import Expression

from audit.chain import canonical_json, canonical_time


class CanonicalJSONField(models.TextField):
    """JSON kept as the exact canonical text that was hashed.

    PostgreSQL's jsonb rewrites numbers (``-0.0`` becomes ``0``, ``1e20`` an integer), so an
    honest event read back from jsonb could fail verification. Text keeps the hashed bytes.
    """

    # Read by django-stubs: the Python type this field takes and gives.
    _pyi_private_set_type: Any
    _pyi_private_get_type: Any

    def get_prep_value(self, value: Any) -> Any:
        return None if value is None else self.to_copy_text(value)

    def to_copy_text(self, value: Any) -> str:
        return canonical_json(value).decode("utf-8")

    def from_db_value(
        self, value: str | None, expression: Expression, connection: BaseDatabaseWrapper
    ) -> Any:
        return None if value is None else json.loads(value)

    def to_python(self, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value


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
    action = models.CharField(max_length=80)
    target_type = models.CharField(max_length=60)
    target_id = models.CharField(max_length=64)
    reason = models.CharField(max_length=300, blank=True)
    data = CanonicalJSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    # No unique index on hash: the chain itself makes each hash unique, and verify_audit checks
    # it; an index would only slow every append.
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["seq"]
        indexes = [
            models.Index(fields=["target_type", "target_id"], name="audit_target_idx"),
            models.Index(fields=["action", "seq"], name="audit_action_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.target_type}:{self.target_id}"

    def chain_fields(self) -> dict[str, Any]:
        """The fields the hash covers, in their canonical form."""
        return canonical_fields({name: getattr(self, name) for name in CHAIN_FIELDS})


# The fields an event's hash covers: all but the hash itself.
CHAIN_FIELDS = (
    "seq",
    "occurred_at",
    "actor_user_id",
    "actor_username",
    "actor_role",
    "on_behalf_of_user_id",
    "action",
    "target_type",
    "target_id",
    "reason",
    "data",
    "prev_hash",
)


def canonical_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """An event's fields as read from the database, with its time made canonical (in place)."""
    fields["occurred_at"] = canonical_time(fields["occurred_at"])
    return fields


class AccessEvent(models.Model):
    """One view of a person's data: who looked, at what, when, through which door, and why.

    Append-only like the audit log (database triggers refuse UPDATE and DELETE), but not chained:
    reads are many and need no serialising. Written by ``audit.access.record_access``. The person
    viewed (``subject_id``) can be shown who looked at their record.
    """

    occurred_at = models.DateTimeField()
    user_id = models.BigIntegerField()
    username = models.CharField(max_length=150)
    role = models.CharField(max_length=40)
    on_behalf_of_user_id = models.BigIntegerField(null=True, blank=True)
    # Whose personal data was shown: an id in the workforce register.
    subject_id = models.BigIntegerField()
    # What was shown: a model label and id (a case, a flag) and the page or API route.
    object_type = models.CharField(max_length=60)
    object_id = models.CharField(max_length=64)
    channel = models.CharField(max_length=10)  # "page", "api" or "download"
    view = models.CharField(max_length=80)
    purpose = models.CharField(max_length=120)

    class Meta:
        ordering = ["-occurred_at", "-pk"]
        indexes = [
            models.Index(fields=["subject_id", "occurred_at"], name="access_subject_idx"),
            models.Index(fields=["user_id", "occurred_at"], name="access_user_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.username} viewed {self.object_type}:{self.object_id} ({self.view})"

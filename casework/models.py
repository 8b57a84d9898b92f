from typing import Any

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from flags.models import Flag, Subject


class PolicyStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    RETIRED = "retired", "Retired"


class ThresholdPolicy(models.Model):
    """The rules that turn flags into a case. Immutable once active: a change is a new version.

    ``rules`` maps a category to its rule (see ``casework.thresholds.CategoryRule``): the minimum
    score for a flag to count, the rolling window, and the count, summed score or single high
    score that opens a case.
    """

    version = models.PositiveIntegerField(unique=True)
    status = models.CharField(max_length=10, choices=PolicyStatus.choices)
    rules = models.JSONField()
    description = models.TextField(blank=True)
    proposed_at = models.DateTimeField()
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    activated_at = models.DateTimeField(null=True, blank=True)
    activated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["-version"]
        verbose_name_plural = "threshold policies"
        constraints = [
            # At most one policy is in force at a time.
            models.UniqueConstraint(
                fields=["status"],
                condition=models.Q(status="active"),
                name="one_active_threshold_policy",
            )
        ]

    def __str__(self) -> str:
        return f"Threshold policy v{self.version} ({self.status})"


class CaseStatus(models.TextChoices):
    OPEN = "open", "Open"
    IN_REVIEW = "in_review", "In review"
    AWAITING_SIGN_OFF = "awaiting_sign_off", "Awaiting sign-off"
    ON_HOLD = "on_hold", "On hold"
    CLOSED = "closed", "Closed"
    REFERRED = "referred", "Referred for misconduct investigation"
    WITHDRAWN = "withdrawn", "Withdrawn"


# The states in which a case is still live; a subject has at most one live case.
LIVE_STATUSES: tuple[str, ...] = (
    CaseStatus.OPEN,
    CaseStatus.IN_REVIEW,
    CaseStatus.AWAITING_SIGN_OFF,
    CaseStatus.ON_HOLD,
)


class Case(models.Model):
    """A subject's flags that met the threshold, for named humans to review."""

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="cases")
    status = models.CharField(max_length=30, choices=CaseStatus.choices)
    policy = models.ForeignKey(ThresholdPolicy, on_delete=models.PROTECT, related_name="cases")
    # Why the case opened, in a form a person can read: see casework.thresholds.Evaluation.
    trace = models.JSONField()
    flags = models.ManyToManyField(Flag, through="CaseFlag", related_name="cases")
    opened_at = models.DateTimeField()
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assigned_cases",
    )
    legal_hold = models.BooleanField(default=False)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["subject"],
                condition=models.Q(status__in=LIVE_STATUSES),
                name="one_live_case_per_subject",
            )
        ]
        indexes = [models.Index(fields=["status", "opened_at"], name="case_status_opened_idx")]

    def __str__(self) -> str:
        return f"Case {self.pk} ({self.status})"

    def trace_flag_ids(self) -> list[Any]:
        """The flags the opening evaluation counted, in the trace's order."""
        return [flag["id"] for item in self.trace["categories"] for flag in item["counted"]]


class AttachedVia(models.TextChoices):
    OPENING = "opening", "Counted in the evaluation that opened the case"
    JOINING = "joining", "A later flag that counts under the policy, joining the live case"


class CaseFlag(models.Model):
    """A flag attached to a case, when, and how: at opening (the trace says which categories
    were met) or joining later.

    Insert-only; attaching is audited as ``case.opened`` or ``case.flags_attached``.
    """

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="case_flags")
    flag = models.ForeignKey(Flag, on_delete=models.PROTECT, related_name="case_links")
    attached_at = models.DateTimeField()
    via = models.CharField(max_length=10, choices=AttachedVia.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["case", "flag"], name="case_flag_unique")]

    def __str__(self) -> str:
        return f"flag {self.flag_id} on case {self.case_id}"


class DeclaredConflict(models.Model):
    """A user's declaration that they must not act on cases about a person (a relative, a
    friend, a dispute). Insert-only: a declaration is never taken back silently."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="declared_conflicts"
    )
    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="+")
    declared_at = models.DateTimeField()
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "subject"], name="one_declaration_per_pair")
        ]

    def __str__(self) -> str:
        return f"user {self.user_id} declared a conflict with subject {self.subject_id}"

"""A requested PDF: a subject's disclosure pack, a case file, or an oversight report for a period.

A report is rendered by a Celery task from its parameters at a snapshot of the data (the audit
chain's head when rendering began): the same parameters at the same snapshot give the same bytes.
"""

import json
from datetime import date

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from casework.models import Case
from flags.models import Subject


class ReportKind(models.TextChoices):
    DISCLOSURE = "disclosure", "Disclosure pack"
    CASE_FILE = "case_file", "Case file"
    OVERSIGHT = "oversight", "Oversight report"


class ReportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RENDERING = "rendering", "Rendering"
    DONE = "done", "Ready"
    FAILED = "failed", "Failed"
    # Finished, but a correction has since touched data it was rendered from.
    SUPERSEDED = "superseded", "Superseded by a correction"


# A report in these states has a file to download.
FINISHED_STATUSES = (ReportStatus.DONE, ReportStatus.SUPERSEDED)


class Report(models.Model):
    kind = models.CharField(max_length=20, choices=ReportKind.choices)
    # The parameters as canonical JSON (RFC 8785): what the report is of, byte for byte.
    params = models.TextField()
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reports_requested"
    )
    requested_as = models.CharField(max_length=30)
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # Whose record a disclosure pack is of, or whose case a case file is of: what a correction
    # to their data supersedes, and whose access log records each download.
    subject = models.ForeignKey(
        Subject, null=True, blank=True, on_delete=models.PROTECT, related_name="report_files"
    )
    case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.PROTECT, related_name="report_files"
    )
    # An oversight report's period: what a correction to data of those days supersedes.
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=ReportStatus.choices)
    progress = models.PositiveSmallIntegerField(default=0)
    step = models.CharField(max_length=120, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    # The data it was rendered from: the audit chain's head when rendering began.
    snapshot_seq = models.BigIntegerField(null=True, blank=True)
    snapshot_hash = models.CharField(max_length=64, blank=True)
    # The finished file, in the "reports" storage, and what it is.
    stored_name = models.CharField(max_length=200, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    # Once superseded: the same report with the superseded banner on its first page, rendered
    # from the report's own HTML at its own snapshot; what a download then sends.
    marked_name = models.CharField(max_length=200, blank=True)
    marked_sha256 = models.CharField(max_length=64, blank=True)
    marked_size = models.PositiveBigIntegerField(null=True, blank=True)
    requested_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    superseded_at = models.DateTimeField(null=True, blank=True)
    # Progress is not history: it is written as rendering goes, outside the governed changes.
    history = HistoricalRecords(excluded_fields=["progress", "step"])

    class Meta:
        ordering = ["-requested_at", "-pk"]
        indexes = [
            models.Index(fields=["requested_by", "-requested_at"], name="report_requester_idx"),
            models.Index(fields=["subject", "status"], name="report_subject_idx"),
            models.Index(fields=["case", "status"], name="report_case_idx"),
            models.Index(fields=["kind", "status", "period_start"], name="report_period_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(progress__lte=100), name="report_progress_at_most_100"
            ),
        ]

    def __str__(self) -> str:
        return f"report {self.pk} ({self.kind}, {self.status})"

    @property
    def finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    def of_words(self) -> str:
        """What the report is of, in words: a period, a case, or a person's record by its
        number. Never a name: the pages that list reports show no one's personal data (the file
        does, and each download is logged)."""
        if self.kind == ReportKind.OVERSIGHT:
            params = json.loads(self.params)
            first, last = (date.fromisoformat(params[name]) for name in ("from", "to"))
            return f"{first.day} {first:%B %Y} to {last.day} {last:%B %Y}"
        if self.kind == ReportKind.CASE_FILE:
            return f"Case {self.case_id}"
        return f"Record {self.subject_id}"

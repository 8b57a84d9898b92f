from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from casework.models import Case, Decision
from flags.models import EvidenceRecord, Subject


class RepresentationStatus(models.TextChoices):
    PENDING = "pending", "Waiting for the representative to accept"
    ACTIVE = "active", "Accepted"
    DECLINED = "declined", "Declined by the representative"
    REVOKED = "revoked", "Revoked"
    EXPIRED = "expired", "Expired"


# A grant in these states still has a future; the others are over for good.
OPEN_GRANT_STATUSES = (RepresentationStatus.PENDING, RepresentationStatus.ACTIVE)


class Representation(models.Model):
    """A subject's grant to a representative (Police Federation or union) to see their record
    and act for them: for all their cases or one, until an expiry, revocable at any time.

    The grant is *live* only while it is accepted and its expiry has not passed: the expiry takes
    effect at its moment, whether or not the sweep that records it has run yet.
    """

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="representations")
    representative = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="representations"
    )
    # None: every case of the subject's, and their flags, challenges and access log.
    case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.PROTECT, related_name="representations"
    )
    status = models.CharField(max_length=20, choices=RepresentationStatus.choices)
    expires_at = models.DateTimeField()
    granted_at = models.DateTimeField()
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    accepted_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # Who revoked or declined it (the subject or the representative); the sweep for an expiry.
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["-granted_at", "-pk"]
        indexes = [
            # A representative's live grants, read on every page they open.
            models.Index(fields=["representative", "status", "expires_at"], name="grant_rep_idx"),
            models.Index(fields=["subject", "status"], name="grant_subject_idx"),
        ]

    def __str__(self) -> str:
        return f"grant {self.pk}: subject {self.subject_id} to user {self.representative_id}"


class ChallengeKind(models.TextChoices):
    INACCURATE = "inaccurate", "This is wrong"
    LACKS_CONTEXT = "lacks_context", "This is true but misleading without its context"
    NOT_MINE = "not_mine", "This is not mine"
    DECISION = "decision", "A decision on my case is wrong"


DATA_CHALLENGES = frozenset(
    {ChallengeKind.INACCURATE, ChallengeKind.LACKS_CONTEXT, ChallengeKind.NOT_MINE}
)


class ChallengeStatus(models.TextChoices):
    SUBMITTED = "submitted", "Submitted"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    UPHELD = "upheld", "Upheld"
    PARTLY_UPHELD = "partly_upheld", "Partly upheld"
    REJECTED = "rejected", "Rejected"
    ESCALATED = "escalated", "Escalated to a senior reviewer"


OPEN_CHALLENGE_STATUSES = (
    ChallengeStatus.SUBMITTED,
    ChallengeStatus.ACKNOWLEDGED,
    ChallengeStatus.ESCALATED,
)


class Finding(models.TextChoices):
    UPHELD = "upheld", "Upheld"
    PARTLY_UPHELD = "partly_upheld", "Partly upheld"
    REJECTED = "rejected", "Rejected"


class Remedy(models.TextChoices):
    NONE = "", "Nothing changed"
    CORRECTED = "corrected", "The record was corrected"
    WITHDRAWN = "withdrawn", "The record was withdrawn"
    SET_ASIDE = "set_aside", "The decision was set aside"


class Challenge(models.Model):
    """A subject's challenge (filed by them or their representative) to an evidence record or to
    a decision on their case, and its adjudication: acknowledged and decided by a data steward,
    and, once rejected, escalated at most once to a senior reviewer whose decision is final.

    Each milestone has its own ``*_at``/``*_by`` pair; deadlines are in working days.
    """

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="challenges")
    kind = models.CharField(max_length=20, choices=ChallengeKind.choices)
    evidence = models.ForeignKey(
        EvidenceRecord,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="challenges",
    )
    decision = models.ForeignKey(
        Decision, null=True, blank=True, on_delete=models.PROTECT, related_name="challenges"
    )
    # The case the challenge was filed from: the decision's case, or the subject's case whose
    # flags rest on the record (None for a record under no case).
    case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.PROTECT, related_name="challenges"
    )
    # The subject's grounds; for "lacks context", their account of the context, which the
    # reviewers see beside the evidence whatever the outcome.
    grounds = models.TextField()
    # For "this is wrong": what the subject says the record should say.
    proposed_correction = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=ChallengeStatus.choices)

    filed_at = models.DateTimeField()
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    filed_role = models.CharField(max_length=30)
    # The subject's account, when their representative filed it for them.
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The record's status when the challenge was filed: a dispute that changes nothing returns it.
    evidence_status_before = models.CharField(max_length=20, blank=True)
    acknowledge_due = models.DateField()
    decide_due = models.DateField()

    acknowledged_at = models.DateTimeField(null=True, blank=True)
    adjudicator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    finding = models.CharField(max_length=20, choices=Finding.choices, blank=True)
    reasons = models.TextField(blank=True)
    remedy = models.CharField(max_length=20, choices=Remedy.choices, blank=True)
    escalation_due = models.DateField(null=True, blank=True)

    escalated_at = models.DateTimeField(null=True, blank=True)
    escalated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    escalation_grounds = models.TextField(blank=True)
    escalation_decide_due = models.DateField(null=True, blank=True)
    escalation_taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    escalation_decided_at = models.DateTimeField(null=True, blank=True)
    escalation_finding = models.CharField(max_length=20, choices=Finding.choices, blank=True)
    escalation_reasons = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-filed_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(kind="decision", decision__isnull=False, evidence__isnull=True)
                    | (
                        ~models.Q(kind="decision")
                        & models.Q(evidence__isnull=False, decision__isnull=True)
                    )
                ),
                name="challenge_has_one_target",
            ),
            # One open challenge per record and per decision: a second is refused, pointing to
            # the first (the database keeps the rule when two are filed at once).
            models.UniqueConstraint(
                fields=["evidence"],
                condition=models.Q(status__in=OPEN_CHALLENGE_STATUSES),
                name="one_open_challenge_per_record",
            ),
            models.UniqueConstraint(
                fields=["decision"],
                condition=models.Q(status__in=OPEN_CHALLENGE_STATUSES),
                name="one_open_challenge_per_decision",
            ),
        ]
        indexes = [
            # The steward's queue: open challenges by due date.
            models.Index(fields=["status", "decide_due"], name="challenge_queue_idx"),
        ]

    def __str__(self) -> str:
        return f"challenge {self.pk} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_CHALLENGE_STATUSES

    @property
    def is_final(self) -> bool:
        """Decided on escalation: nothing further can happen to it in Scrutiny."""
        return self.escalation_decided_at is not None


class ChallengeAttachment(models.Model):
    """A file filed with a challenge: PDF, PNG or JPEG, its type checked from its content, kept in
    private storage and served only as a download. Insert-only; named, with its hash, by the
    ``challenge.filed`` event."""

    challenge = models.ForeignKey(Challenge, on_delete=models.PROTECT, related_name="attachments")
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=120)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    stored_name = models.CharField(max_length=200, unique=True)
    uploaded_at = models.DateTimeField()

    class Meta:
        ordering = ["challenge", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["challenge", "position"], name="one_attachment_per_position"
            )
        ]

    def __str__(self) -> str:
        return f"attachment {self.position} of challenge {self.challenge_id}"


class AppealNoticeKind(models.TextChoices):
    GRANT_MADE = "grant_made", "You were asked to act as a representative"
    GRANT_ACCEPTED = "grant_accepted", "Your representative accepted"
    GRANT_DECLINED = "grant_declined", "Your representative declined"
    GRANT_REVOKED = "grant_revoked", "A grant of representation was revoked"
    GRANT_EXPIRED = "grant_expired", "A grant of representation expired"
    CHALLENGE_FILED = "challenge_filed", "A challenge was filed"
    CHALLENGE_ACKNOWLEDGED = "challenge_acknowledged", "A data steward took the challenge"
    CHALLENGE_DECIDED = "challenge_decided", "The challenge was decided"
    CHALLENGE_ESCALATED = "challenge_escalated", "The challenge was escalated"
    ESCALATION_DECIDED = "escalation_decided", "The escalated challenge was decided"
    REPORT_SUPERSEDED = (
        "report_superseded",
        "A correction changed data a report of this record was made from",
    )


class AppealNotice(models.Model):
    """A notice about a grant or a challenge, to the subject or their representative: shown in
    the app, and e-mailed after commit where the person has an address."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="appeal_notices"
    )
    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=30, choices=AppealNoticeKind.choices)
    representation = models.ForeignKey(
        Representation, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    challenge = models.ForeignKey(
        Challenge, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()
    emailed_at = models.DateTimeField(null=True, blank=True)
    email_attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["recipient", "created_at"], name="appeal_notice_idx")]

    def __str__(self) -> str:
        return f"{self.kind} to user {self.recipient_id}"

from datetime import datetime

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from audit.models import CanonicalJSONField


class Rank(models.TextChoices):
    CONSTABLE = "constable", "Constable"
    SERGEANT = "sergeant", "Sergeant"
    INSPECTOR = "inspector", "Inspector"
    CHIEF_INSPECTOR = "chief_inspector", "Chief inspector"
    SUPERINTENDENT = "superintendent", "Superintendent"
    CHIEF_SUPERINTENDENT = "chief_superintendent", "Chief superintendent"
    ASSISTANT_CHIEF_CONSTABLE = "assistant_chief_constable", "Assistant chief constable"
    DEPUTY_CHIEF_CONSTABLE = "deputy_chief_constable", "Deputy chief constable"
    CHIEF_CONSTABLE = "chief_constable", "Chief constable"
    STAFF = "staff", "Police staff (no rank)"


class EmploymentType(models.TextChoices):
    OFFICER = "officer", "Police officer"
    STAFF = "staff", "Police staff"
    PCSO = "pcso", "Police community support officer"
    SPECIAL = "special_constable", "Special constable"


class WorkingPattern(models.TextChoices):
    FULL_TIME = "full_time", "Full time"
    PART_TIME = "part_time", "Part time"
    COMPRESSED = "compressed_hours", "Compressed hours"
    JOB_SHARE = "job_share", "Job share"


class Subject(models.Model):
    """A member of the workforce, as the HR register knows them."""

    staff_number = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=200)
    rank = models.CharField(max_length=40, choices=Rank.choices)
    role = models.CharField(max_length=100)
    unit = models.CharField(max_length=100, db_index=True)
    # The chain of command is walked through line_manager for conflict checks.
    line_manager = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reports"
    )
    working_pattern = models.CharField(max_length=20, choices=WorkingPattern.choices)
    employment_type = models.CharField(max_length=20, choices=EmploymentType.choices)
    active = models.BooleanField(default=True)
    # Reviewers are staff too: a user account may belong to a person in the register, which is
    # how the conflict check knows whom a reviewer manages and who manages them.
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="subject",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["staff_number"]

    def __str__(self) -> str:
        return f"{self.staff_number} {self.name}"


class NotRecorded(models.TextChoices):
    NOT_RECORDED = "not_recorded", "Not recorded"


class Sex(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    OTHER = "other", "Other"
    PREFER_NOT_TO_SAY = "prefer_not_to_say", "Prefer not to say"
    NOT_RECORDED = "not_recorded", "Not recorded"


class Ethnicity(models.TextChoices):
    ASIAN = "asian", "Asian or Asian British"
    BLACK = "black", "Black, Black British, Caribbean or African"
    MIXED = "mixed", "Mixed or multiple ethnic groups"
    WHITE = "white", "White"
    OTHER = "other", "Other ethnic group"
    PREFER_NOT_TO_SAY = "prefer_not_to_say", "Prefer not to say"
    NOT_RECORDED = "not_recorded", "Not recorded"


class YesNo(models.TextChoices):
    YES = "yes", "Yes"
    NO = "no", "No"
    PREFER_NOT_TO_SAY = "prefer_not_to_say", "Prefer not to say"
    NOT_RECORDED = "not_recorded", "Not recorded"


class AgeBand(models.TextChoices):
    UNDER_25 = "under_25", "Under 25"
    FROM_25_TO_34 = "25_34", "25 to 34"
    FROM_35_TO_44 = "35_44", "35 to 44"
    FROM_45_TO_54 = "45_54", "45 to 54"
    OVER_55 = "55_plus", "55 and over"
    NOT_RECORDED = "not_recorded", "Not recorded"


class EqualityProfile(models.Model):
    """Protected characteristics, held apart from the Subject and read only by fairness queries."""

    subject = models.OneToOneField(Subject, on_delete=models.PROTECT, related_name="equality")
    sex = models.CharField(max_length=20, choices=Sex.choices, default=Sex.NOT_RECORDED)
    ethnicity = models.CharField(
        max_length=20, choices=Ethnicity.choices, default=Ethnicity.NOT_RECORDED
    )
    disability = models.CharField(max_length=20, choices=YesNo.choices, default=YesNo.NOT_RECORDED)
    age_band = models.CharField(
        max_length=20, choices=AgeBand.choices, default=AgeBand.NOT_RECORDED
    )
    long_term_sickness = models.CharField(
        max_length=20, choices=YesNo.choices, default=YesNo.NOT_RECORDED
    )
    history = HistoricalRecords()

    def __str__(self) -> str:
        return f"Equality profile of subject {self.subject_id}"


class Detector(models.Model):
    """An analytics system allowed to submit flags. It acts through its own service user."""

    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=200)
    owner = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    current_version = models.CharField(max_length=60, blank=True)
    active = models.BooleanField(default=True)
    # Below this measured precision a detector is suspended from opening cases.
    precision_floor = models.FloatField(null=True, blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="detector"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class Category(models.TextChoices):
    OVERTIME_FRAUD = "overtime_fraud", "Overtime fraud"
    ATTENDANCE = "attendance", "Attendance"
    SYSTEM_MISUSE = "system_misuse", "System misuse"
    ABUSE_OF_POSITION = "abuse_of_position", "Abuse of position"
    UNDECLARED_CONFLICT = "undeclared_conflict", "Undeclared conflict"
    COMPLAINTS_PATTERN = "complaints_pattern", "Complaints pattern"
    OTHER = "other", "Other"


class RecordType(models.TextChoices):
    SICKNESS = "sickness", "Sickness"
    OVERTIME = "overtime", "Overtime"
    ACCESS_LOG = "access_log", "Access log"
    COMPLAINT = "complaint", "Complaint"
    DISCIPLINE = "discipline", "Discipline"
    ROSTER = "roster", "Roster"
    DECLARATION = "declaration", "Declaration"


class EvidenceStatus(models.TextChoices):
    AS_RECEIVED = "as_received", "As received"
    DISPUTED = "disputed", "Disputed"
    CORRECTED = "corrected", "Corrected"
    WITHDRAWN = "withdrawn", "Withdrawn"


def stands_for(status: str, corrected_at: datetime | None, flag_received_at: datetime) -> bool:
    """Whether an evidence record still stands for a flag: it is not withdrawn, and it was not
    corrected after the flag was raised on its earlier content. A disputed record stands until
    the dispute is decided."""
    if status == EvidenceStatus.WITHDRAWN:
        return False
    return corrected_at is None or flag_received_at > corrected_at


class EvidenceRecord(models.Model):
    """A snapshot of one source-system record, as a detector sent it."""

    source_system = models.CharField(max_length=60)
    record_type = models.CharField(max_length=20, choices=RecordType.choices)
    record_id = models.CharField(max_length=120)
    occurred_at = models.DateTimeField()
    summary = models.CharField(max_length=500)
    # Canonical text, not jsonb, so that content_hash can be recomputed from what is stored.
    payload = CanonicalJSONField(default=dict)
    content_hash = models.CharField(max_length=64)
    status = models.CharField(
        max_length=20, choices=EvidenceStatus.choices, default=EvidenceStatus.AS_RECEIVED
    )
    received_at = models.DateTimeField()
    # When a data steward last corrected the record. A flag received before then was raised on
    # content that is no longer held: it does not rest on the corrected record.
    corrected_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source_system", "record_id"], name="evidence_unique_source_record"
            )
        ]

    def __str__(self) -> str:
        return f"{self.source_system}:{self.record_id}"


class FlagStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    WITHDRAWN = "withdrawn", "Withdrawn"
    EXPIRED = "expired", "Expired"


class Flag(models.Model):
    """A detector's claim that a subject's records look like a category of misconduct.

    A flag is not proof: it is input to a threshold, and every case built on it is decided by
    people.
    """

    # No single-column indexes on detector and subject: the unique (detector, external_id) and
    # the (subject, category, window_end) index lead with them and serve the same lookups.
    detector = models.ForeignKey(
        Detector, on_delete=models.PROTECT, related_name="flags", db_index=False
    )
    external_id = models.CharField(max_length=120)
    detector_version = models.CharField(max_length=60)
    subject = models.ForeignKey(
        Subject, on_delete=models.PROTECT, related_name="flags", db_index=False
    )
    category = models.CharField(max_length=30, choices=Category.choices)
    rule = models.CharField(max_length=120)
    score = models.FloatField()
    explanation = models.TextField()
    factors = models.JSONField(default=list)
    window_start = models.DateField()
    window_end = models.DateField()
    evidence = models.ManyToManyField(EvidenceRecord, through="FlagEvidence", related_name="flags")
    content_hash = models.CharField(max_length=64)
    received_at = models.DateTimeField()
    status = models.CharField(max_length=20, choices=FlagStatus.choices, default=FlagStatus.ACTIVE)
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["detector", "external_id"], name="flag_unique_detector_external_id"
            ),
            models.CheckConstraint(
                condition=models.Q(score__gte=0) & models.Q(score__lte=1), name="flag_score_0_1"
            ),
            models.CheckConstraint(
                condition=models.Q(window_start__lte=models.F("window_end")),
                name="flag_window_ordered",
            ),
        ]
        indexes = [
            # Serves threshold evaluation: a subject's active flags by category within a window.
            models.Index(
                fields=["subject", "category", "window_end"], name="flag_subject_category_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.detector_id}:{self.external_id}"


class FlagEvidence(models.Model):
    """Which evidence records a flag rests on. Insert-only: a flag's evidence never changes."""

    # The unique (flag, evidence) constraint's index serves lookups by flag.
    flag = models.ForeignKey(Flag, on_delete=models.PROTECT, db_index=False)
    evidence = models.ForeignKey(EvidenceRecord, on_delete=models.PROTECT)
    position = models.PositiveSmallIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["flag", "evidence"], name="flag_evidence_unique")
        ]

    def __str__(self) -> str:
        return f"flag {self.flag_id} rests on evidence {self.evidence_id}"


class EvidenceContext(models.Model):
    """A person's account of the context of an evidence record about them ("this is true, but
    misleading without ..."), given with a challenge. Whatever the challenge's outcome, the
    reviewers of the person's cases see it beside the record and in the case's history, so that
    nobody decides without having read it. Insert-only; named, with its hash, by the
    ``evidence.context_given`` event."""

    evidence = models.ForeignKey(
        EvidenceRecord, on_delete=models.PROTECT, related_name="context_accounts"
    )
    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="+")
    account = models.TextField()
    given_at = models.DateTimeField()
    given_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Where it was given, in words ("challenge 12").
    given_with = models.CharField(max_length=100)

    class Meta:
        ordering = ["given_at", "pk"]

    def __str__(self) -> str:
        return f"context for evidence {self.evidence_id} from subject {self.subject_id}"

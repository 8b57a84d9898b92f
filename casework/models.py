from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from audit.actors import Role
from flags.models import Category, Flag, Subject


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


class Outcome(models.TextChoices):
    NO_FURTHER_ACTION = "no_further_action", "No further action"
    MANAGEMENT_ADVICE = "management_advice", "Management advice"
    WELFARE_SUPPORT = "welfare_support", "Welfare support"
    REFERRAL = "referral", "Referral for misconduct investigation"


NON_ADVERSE_OUTCOMES = frozenset(
    {Outcome.NO_FURTHER_ACTION, Outcome.MANAGEMENT_ADVICE, Outcome.WELFARE_SUPPORT}
)
ADVERSE_OUTCOMES = frozenset({Outcome.REFERRAL})

# Who reviews cases, and who alone signs referrals, defers notices and assigns cases.
REVIEWERS = frozenset({Role.REVIEWER, Role.SENIOR_REVIEWER})
SENIOR = frozenset({Role.SENIOR_REVIEWER})


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
    # When the case last changed state: the queue's "days waiting" counts from here.
    status_changed_at = models.DateTimeField()
    # When a review should be finished by; set at opening from CASE_REVIEW_DUE_DAYS.
    due_on = models.DateField()
    review_started_at = models.DateTimeField(null=True, blank=True)
    review_started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recommended_at = models.DateTimeField(null=True, blank=True)
    recommended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recommended_outcome = models.CharField(max_length=30, choices=Outcome.choices, blank=True)
    # Closed, referred or withdrawn: when, by whom (the deciding signer), and with what outcome.
    concluded_at = models.DateTimeField(null=True, blank=True)
    concluded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    outcome = models.CharField(max_length=30, choices=Outcome.choices, blank=True)
    # The state a case on hold returns to when the hold is released.
    held_from = models.CharField(max_length=30, choices=CaseStatus.choices, blank=True)
    # Set when a correction took away data a concluded case's outcome rested on: the reviewers
    # reconsider it (and, for a referral, tell the body it went to).
    reconsider_since = models.DateTimeField(null=True, blank=True)
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
        indexes = [
            models.Index(fields=["status", "opened_at"], name="case_status_opened_idx"),
            # The work queue: live cases by state, longest waiting first.
            models.Index(fields=["status", "status_changed_at"], name="case_queue_idx"),
            # The queue's default view (every live case, longest waiting first) and its sort by
            # due date read these in order and stop after a page; subject_id is carried so the
            # conflict filter needs no table visit.
            models.Index(
                fields=["status_changed_at", "id", "subject"],
                condition=models.Q(status__in=LIVE_STATUSES),
                name="case_live_waiting_idx",
            ),
            models.Index(
                fields=["due_on", "status_changed_at", "id", "subject"],
                condition=models.Q(status__in=LIVE_STATUSES),
                name="case_live_due_idx",
            ),
            # The counts per state: an index-only scan, whatever the width of the rows.
            models.Index(fields=["status", "subject"], name="case_status_subject_idx"),
        ]

    def __str__(self) -> str:
        return f"Case {self.pk} ({self.status})"

    def days_waiting(self, now: datetime) -> int:
        """Whole days since the case last changed state, as the queue counts them."""
        return (now - self.status_changed_at).days

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
    # The flag's category, copied when it is attached (a flag's category never changes), so the
    # work queue filters by category without reading a million flags.
    category = models.CharField(max_length=30, choices=Category.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["case", "flag"], name="case_flag_unique")]
        indexes = [models.Index(fields=["case", "category"], name="caseflag_case_category_idx")]

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


class DecisionKind(models.TextChoices):
    TRIAGE = "triage", "Review started"
    RECOMMENDATION = "recommendation", "Recommendation"
    SIGN_OFF = "sign_off", "Sign-off"
    SECOND_SIGNATURE = "second_signature", "Second signature"
    RETURN_FOR_CORRECTION = "return_for_correction", "Returned for correction"
    NOTIFICATION_DEFERRAL = "notification_deferral", "Notification deferred"
    HOLD = "hold", "Put on hold"
    RELEASE = "release", "Released from hold"
    WITHDRAWAL = "withdrawal", "Withdrawal"
    ASSIGNMENT = "assignment", "Assignment"
    SET_ASIDE = "set_aside", "Decision set aside"


# Decisions a subject may challenge: a recommendation, or a signature on an outcome.
CHALLENGEABLE_DECISIONS = frozenset(
    {DecisionKind.RECOMMENDATION, DecisionKind.SIGN_OFF, DecisionKind.SECOND_SIGNATURE}
)


class Decision(models.Model):
    """One decision about a case, by a named person in the role they held at the time.

    Insert-only (database triggers refuse UPDATE and DELETE): the record of who decided what, on
    which evidence and under which policy, is never rewritten. A correction is a later decision.
    """

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="decisions")
    kind = models.CharField(max_length=30, choices=DecisionKind.choices)
    outcome = models.CharField(max_length=30, choices=Outcome.choices, blank=True)
    rationale = models.TextField()
    made_at = models.DateTimeField()
    made_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    role = models.CharField(max_length=30)
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The decider's declaration, made with this decision, that they have no conflict of interest.
    no_conflict_declared = models.BooleanField()
    status_before = models.CharField(max_length=30, choices=CaseStatus.choices)
    status_after = models.CharField(max_length=30, choices=CaseStatus.choices)
    # What the decision was made on: the policy version the case opened under, and the content
    # hashes of the evidence behind the case's flags at that moment, sorted.
    policy_version = models.PositiveIntegerField()
    evidence_hashes = models.JSONField(default=list)
    # For a notification deferral: the subject is told on this date at the latest.
    deferred_until = models.DateField(null=True, blank=True)
    # For an assignment: the reviewer the case was given to.
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # For a setting aside: the decision an upheld challenge set aside. That decision stays as it
    # was, and this one says it no longer stands.
    sets_aside = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="set_aside_by"
    )

    class Meta:
        ordering = ["made_at", "pk"]
        indexes = [models.Index(fields=["case", "made_at"], name="decision_case_idx")]

    def __str__(self) -> str:
        return f"{self.kind} on case {self.case_id} by user {self.made_by_id}"


class NotificationKind(models.TextChoices):
    CASE_OPENED = "case_opened", "A case about you has been opened"
    ADVERSE_OUTCOME_PENDING = (
        "adverse_outcome_pending",
        "A referral for misconduct investigation is being signed",
    )
    CASE_CONCLUDED = "case_concluded", "A case about you has been decided"
    REFERRAL_CONCLUDED = (
        "referral_concluded",
        "The investigation a case about you was referred to has concluded",
    )


class Notification(models.Model):
    """A notice to the person a case is about: shown in the app, and e-mailed where the person
    has an account with an address.

    A case-opened notice is due a short while after opening (SUBJECT_NOTICE_DELAY_HOURS), so that
    a senior reviewer can defer it with reasons; the notice before an adverse outcome is never
    deferred.
    """

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="notifications")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="notifications")
    kind = models.CharField(max_length=30, choices=NotificationKind.choices)
    created_at = models.DateTimeField()
    due_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    # E-mail attempts: how many, when the latest began, whether one is under way now, and when
    # they were given up (see casework.services.notices).
    email_attempts = models.PositiveSmallIntegerField(default=0)
    email_attempted_at = models.DateTimeField(null=True, blank=True)
    email_sending = models.BooleanField(default=False)
    email_abandoned_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["case", "kind"], name="one_notification_per_kind")
        ]
        indexes = [
            models.Index(
                fields=["due_at"], condition=models.Q(sent_at=None), name="notification_due_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} to subject {self.subject_id} about case {self.case_id}"


class Consequence(models.TextChoices):
    WITHDRAWN = "withdrawn", "Withdrawn: the data that still stands no longer meets the threshold"
    RELEASED = "released", "Released from hold: the data that still stands meets the threshold"
    STILL_HELD = "still_held", "Still on hold: another challenge to its data is open"
    UNCHANGED = "unchanged", "Unchanged: the data that still stands meets the threshold"
    RECONSIDER = "reconsider", "Concluded on data since corrected: for the reviewers to reconsider"
    REFERRAL_FLAGGED = (
        "referral_flagged",
        "Referred on data since corrected: the investigating body is to be told",
    )


class CaseReevaluation(models.Model):
    """A case evaluated again, under the policy version it opened under, after data it rested on
    was corrected or withdrawn: the new trace beside the original, and what followed.

    Insert-only; each row is named, with its hash, by the ``case.reevaluated`` event recording it.
    """

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="reevaluations")
    evaluated_at = models.DateTimeField()
    # What caused it, in words a reviewer reads ("challenge 17 upheld").
    cause = models.CharField(max_length=200)
    policy_version = models.PositiveIntegerField()
    trace = models.JSONField()
    met = models.BooleanField()
    consequence = models.CharField(max_length=20, choices=Consequence.choices)

    class Meta:
        ordering = ["evaluated_at", "pk"]

    def __str__(self) -> str:
        return f"re-evaluation of case {self.case_id}: {self.consequence}"


class ReferralResultKind(models.TextChoices):
    """What the investigating body concluded about a referred case."""

    MISCONDUCT_FOUND = "misconduct_found", "Misconduct found"
    GROSS_MISCONDUCT_FOUND = "gross_misconduct_found", "Gross misconduct found"
    NO_CASE_TO_ANSWER = "no_case_to_answer", "No case to answer"
    WITHDRAWN_BY_INVESTIGATOR = (
        "withdrawn_by_investigator",
        "Withdrawn by the investigating body",
    )


class ReferralResult(models.Model):
    """The result of a referral for misconduct investigation, as the investigating body concluded
    it, recorded afterwards by a senior reviewer: what was found, the day the body concluded, and
    the reasons, with who recorded it in what role.

    One per referral, insert-only: a result is never rewritten or taken back. Its
    ``case.referral_result_recorded`` event carries its id and row hash. A case referred again
    after an upheld challenge set its referral aside has a result for each referral; only the one
    for the referral that stands is the case's current result (``selectors.referral_results_of``),
    the others are its history. What the current result makes of the case for the figures
    (confirmed, wrong, ...) is said once, in ``casework.outcomes``.
    """

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="referral_results")
    # The decision that referred the case, the referral's second senior signature: it has at most
    # one result.
    referral = models.OneToOneField(
        Decision, on_delete=models.PROTECT, related_name="referral_result"
    )
    result = models.CharField(max_length=30, choices=ReferralResultKind.choices)
    # The day the investigating body concluded: never in the future, never before the referral.
    concluded_on = models.DateField()
    reasons = models.TextField()
    recorded_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    role = models.CharField(max_length=30)
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The recorder's declaration, made with the result, that they have no conflict of interest.
    no_conflict_declared = models.BooleanField()

    def __str__(self) -> str:
        return f"{self.result} on case {self.case_id}"

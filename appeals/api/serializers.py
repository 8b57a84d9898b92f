"""Every body the appeals API reads and writes. The output serializers read the models (and the
selectors' SubjectRecord); what they need beside a model comes in the context: ``now`` for
deadlines, ``request`` for links, ``case_ids`` for the cases the viewer may see."""

from datetime import datetime
from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from appeals.api.errors import MAX_ROW_ID
from appeals.deadlines import deadline_met
from appeals.models import (
    AppealNoticeKind,
    Challenge,
    ChallengeAttachment,
    ChallengeKind,
    ChallengeStatus,
    Finding,
    Remedy,
    Representation,
    RepresentationStatus,
)
from casework.api import ReevaluationOut as CaseReevaluationOut
from casework.api import ReferralResultOut
from casework.models import Case
from casework.selectors import ReferralResults, split_referral_results
from config.api_pages import page_serializer
from flags.models import EvidenceRecord, EvidenceStatus, Flag, stands_for

# --- the people and the data ---------------------------------------------------------------------


class SubjectBrief(serializers.Serializer[Any]):
    """Whose record: enough to tell two people apart."""

    id = serializers.IntegerField()
    staff_number = serializers.CharField()
    name = serializers.CharField()


class SubjectOut(SubjectBrief):
    rank = serializers.CharField(source="get_rank_display")
    role = serializers.CharField()
    unit = serializers.CharField()


class EvidenceRecordOut(serializers.Serializer[Any]):
    """An evidence record as it stands now (corrected content, where it was corrected)."""

    id = serializers.IntegerField(help_text="The record's id: name it to challenge the record.")
    source_system = serializers.CharField()
    record_type = serializers.CharField()
    record_id = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    summary = serializers.CharField()
    payload = serializers.JSONField()
    content_hash = serializers.CharField()
    status = serializers.ChoiceField(choices=EvidenceStatus.choices)
    corrected_at = serializers.DateTimeField(allow_null=True)


class FlagEvidenceOut(EvidenceRecordOut):
    """An evidence record under one flag; ``flag_received_at`` comes in the context."""

    stands = serializers.SerializerMethodField(
        help_text="Whether the flag still rests on it: not withdrawn, and not corrected since the "
        "flag was raised on its earlier content."
    )

    @extend_schema_field(serializers.BooleanField())
    def get_stands(self, record: EvidenceRecord) -> bool:
        return stands_for(record.status, record.corrected_at, self.context["flag_received_at"])


class RecordFlagOut(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    detector = serializers.CharField(source="detector.slug")
    detector_version = serializers.CharField()
    category = serializers.CharField()
    rule = serializers.CharField()
    score = serializers.FloatField()
    explanation = serializers.CharField()
    factors = serializers.JSONField()
    window_start = serializers.DateField()
    window_end = serializers.DateField()
    received_at = serializers.DateTimeField()
    status = serializers.CharField(help_text="active, withdrawn or expired.")
    cases = serializers.SerializerMethodField(help_text="The cases it is part of.")
    evidence = serializers.SerializerMethodField()

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_cases(self, flag: Flag) -> list[int]:
        shown: frozenset[int] = self.context["case_ids"]
        return sorted({link.case_id for link in flag.case_links.all() if link.case_id in shown})

    @extend_schema_field(FlagEvidenceOut(many=True))
    def get_evidence(self, flag: Flag) -> list[Any]:
        context = {"flag_received_at": flag.received_at}
        return [
            FlagEvidenceOut(link.evidence, context=context).data
            for link in flag.flagevidence_set.all()
        ]


class RecordDecisionOut(serializers.Serializer[Any]):
    """A decision on a case: who made it, in what role, for whom, when and why."""

    id = serializers.IntegerField()
    kind = serializers.CharField()
    outcome = serializers.CharField(allow_blank=True)
    rationale = serializers.CharField()
    made_at = serializers.DateTimeField()
    made_by = serializers.CharField(source="made_by.username")
    role = serializers.CharField()
    on_behalf_of = serializers.CharField(source="on_behalf_of.username", allow_null=True)
    status_before = serializers.CharField()
    status_after = serializers.CharField()
    sets_aside = serializers.IntegerField(
        source="sets_aside_id",
        allow_null=True,
        help_text="For a decision setting another aside: the decision it sets aside, which stays.",
    )


class ReevaluationOut(CaseReevaluationOut):
    """The case evaluated again after data it rested on was corrected or withdrawn, as the
    reviewers see it, with the new trace's summary in words."""

    summary = serializers.SerializerMethodField()

    class Meta:
        ref_name = "RecordReevaluation"

    @extend_schema_field(serializers.CharField())
    def get_summary(self, reevaluation: Any) -> str:
        return _trace_summary(reevaluation.trace)


class CaseNoticeOut(serializers.Serializer[Any]):
    """A notice about the case sent to the person."""

    kind = serializers.CharField()
    title = serializers.CharField(source="get_kind_display")
    sent_at = serializers.DateTimeField()
    read_at = serializers.DateTimeField(allow_null=True)


class TraceCategoryOut(serializers.Serializer[Any]):
    category = serializers.CharField()
    met = serializers.BooleanField()
    explanation = serializers.CharField(help_text="The category's rule and its values, in words.")


class CaseOut(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    status = serializers.CharField()
    opened_at = serializers.DateTimeField()
    policy_version = serializers.IntegerField(source="policy.version")
    why_opened = serializers.SerializerMethodField(help_text="The threshold trace, in words.")
    categories = serializers.SerializerMethodField()
    trace = serializers.JSONField(help_text="The threshold trace as it was stored at opening.")
    outcome = serializers.CharField(allow_blank=True)
    concluded_at = serializers.DateTimeField(allow_null=True)
    reconsider_since = serializers.DateTimeField(
        allow_null=True,
        help_text="When data its outcome rested on was corrected: for the reviewers to reconsider.",
    )
    decisions = RecordDecisionOut(many=True, source="decisions.all")
    reevaluations = ReevaluationOut(many=True, source="reevaluations.all")
    referral_result = serializers.SerializerMethodField(
        help_text="For a referred case: what the investigating body concluded about the referral "
        "that stands, once a senior reviewer has recorded it; null until then, and null where "
        "no referral stands."
    )
    earlier_referral_results = serializers.SerializerMethodField(
        help_text="Results recorded for referrals of the case that no longer stand (an upheld "
        "challenge set aside the referral or a decision it rested on), oldest first: history, "
        "not the case's result."
    )
    notices = CaseNoticeOut(many=True, source="notifications.all")

    @extend_schema_field(ReferralResultOut(allow_null=True))
    def get_referral_result(self, case: Case) -> Any:
        found = _referral_results(case).current
        return None if found is None else ReferralResultOut(found).data

    @extend_schema_field(ReferralResultOut(many=True))
    def get_earlier_referral_results(self, case: Case) -> Any:
        return ReferralResultOut(_referral_results(case).earlier, many=True).data

    @extend_schema_field(serializers.CharField())
    def get_why_opened(self, case: Case) -> str:
        return _trace_summary(case.trace)

    @extend_schema_field(TraceCategoryOut(many=True))
    def get_categories(self, case: Case) -> list[Any]:
        categories = case.trace.get("categories", []) if isinstance(case.trace, dict) else []
        return [
            TraceCategoryOut(
                {
                    "category": item.get("category", ""),
                    "met": bool(item.get("met")),
                    "explanation": item.get("explanation", ""),
                }
            ).data
            for item in categories
            if isinstance(item, dict)
        ]


def _trace_summary(trace: Any) -> str:
    return str(trace.get("summary", "")) if isinstance(trace, dict) else ""


# --- challenges ----------------------------------------------------------------------------------


class AttachmentOut(serializers.Serializer[Any]):
    position = serializers.IntegerField()
    name = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField(help_text="In bytes.")
    sha256 = serializers.CharField()
    url = serializers.SerializerMethodField(help_text="Where to download it.")

    @extend_schema_field(serializers.URLField())
    def get_url(self, attachment: ChallengeAttachment) -> str:
        path = reverse(
            "api-challenge-attachment", args=[attachment.challenge_id, attachment.position]
        )
        return str(self.context["request"].build_absolute_uri(path))


class DeadlineOut(serializers.Serializer[Any]):
    due_on = serializers.DateField(help_text="In working days, England and Wales.")
    done_at = serializers.DateTimeField(allow_null=True)
    met = serializers.BooleanField(
        allow_null=True,
        help_text="True: done in time; false: done late, or not done and past due; null: not "
        "done and still in time.",
    )


class DeadlinesOut(serializers.Serializer[Any]):
    acknowledge = DeadlineOut()
    decide = DeadlineOut()
    decide_escalation = DeadlineOut(allow_null=True, help_text="Once escalated.")


class ChallengedDecisionOut(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    case = serializers.IntegerField(source="case_id")
    kind = serializers.CharField()
    outcome = serializers.CharField(allow_blank=True)
    rationale = serializers.CharField()
    made_at = serializers.DateTimeField()
    made_by = serializers.CharField(source="made_by.username")
    role = serializers.CharField()


class ChallengeOut(serializers.Serializer[Any]):
    """A challenge and where it stands. Reads a Challenge with its attachments; ``now`` and
    ``request`` come in the context."""

    id = serializers.IntegerField()
    subject = SubjectBrief()
    kind = serializers.ChoiceField(choices=ChallengeKind.choices)
    status = serializers.ChoiceField(choices=ChallengeStatus.choices)
    case = serializers.IntegerField(source="case_id", allow_null=True)
    evidence = EvidenceRecordOut(allow_null=True, help_text="The record challenged.")
    decision = ChallengedDecisionOut(allow_null=True, help_text="The decision challenged.")
    grounds = serializers.CharField()
    proposed_correction = serializers.CharField(allow_blank=True)
    filed_at = serializers.DateTimeField()
    filed_by = serializers.CharField(source="filed_by.username")
    filed_role = serializers.CharField()
    on_behalf_of = serializers.CharField(source="on_behalf_of.username", allow_null=True)
    deadlines = serializers.SerializerMethodField()
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    adjudicator = serializers.CharField(source="adjudicator.username", allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    finding = serializers.ChoiceField(choices=Finding.choices, allow_blank=True)
    reasons = serializers.CharField(allow_blank=True)
    remedy = serializers.ChoiceField(choices=Remedy.choices, allow_blank=True)
    escalate_until = serializers.DateField(
        source="escalation_due",
        allow_null=True,
        help_text="Once rejected: the last day it may be escalated (once).",
    )
    escalated_at = serializers.DateTimeField(allow_null=True)
    escalated_by = serializers.CharField(source="escalated_by.username", allow_null=True)
    escalation_grounds = serializers.CharField(allow_blank=True)
    escalation_taken_by = serializers.CharField(
        source="escalation_taken_by.username", allow_null=True
    )
    escalation_decided_at = serializers.DateTimeField(allow_null=True)
    escalation_finding = serializers.ChoiceField(choices=Finding.choices, allow_blank=True)
    escalation_reasons = serializers.CharField(allow_blank=True)
    final = serializers.BooleanField(
        source="is_final",
        help_text="Decided on escalation: final in Scrutiny, nothing further can happen to it.",
    )
    attachments = AttachmentOut(many=True, source="attachments.all")

    @extend_schema_field(DeadlinesOut())
    def get_deadlines(self, challenge: Challenge) -> Any:
        now: datetime = self.context["now"]

        def deadline(due: Any, done_at: datetime | None) -> dict[str, Any]:
            return {"due_on": due, "done_at": done_at, "met": deadline_met(due, done_at, now)}

        escalation = challenge.escalation_decide_due
        return DeadlinesOut(
            {
                "acknowledge": deadline(challenge.acknowledge_due, challenge.acknowledged_at),
                "decide": deadline(challenge.decide_due, challenge.decided_at),
                "decide_escalation": (
                    deadline(escalation, challenge.escalation_decided_at)
                    if escalation is not None
                    else None
                ),
            }
        ).data


ChallengePage = page_serializer("ChallengePage", ChallengeOut, counted="Challenges matching")


# --- grants --------------------------------------------------------------------------------------


class GrantOut(serializers.Serializer[Any]):
    """A grant of representation."""

    id = serializers.IntegerField()
    subject = SubjectBrief()
    representative = serializers.CharField(source="representative.username")
    case = serializers.IntegerField(
        source="case_id", allow_null=True, help_text="The one case it covers; null: every case."
    )
    scope = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=RepresentationStatus.choices)
    live = serializers.SerializerMethodField(
        help_text="Accepted and not past its expiry: the representative may act on it now."
    )
    expires_at = serializers.DateTimeField()
    granted_at = serializers.DateTimeField()
    granted_by = serializers.CharField(source="granted_by.username")
    accepted_at = serializers.DateTimeField(allow_null=True)
    ended_at = serializers.DateTimeField(allow_null=True)
    ended_by = serializers.CharField(source="ended_by.username", allow_null=True)

    @extend_schema_field(serializers.ChoiceField(choices=["all_cases", "one_case"]))
    def get_scope(self, grant: Representation) -> str:
        return "all_cases" if grant.case_id is None else "one_case"

    @extend_schema_field(serializers.BooleanField())
    def get_live(self, grant: Representation) -> bool:
        return grant.status == RepresentationStatus.ACTIVE and grant.expires_at > timezone.now()


class GrantLists(serializers.Serializer[Any]):
    made = GrantOut(many=True, help_text="Grants the caller made about their own record.")
    received = GrantOut(many=True, help_text="Grants made to the caller as a representative.")


class RepresentedOut(serializers.Serializer[Any]):
    """A person a representative's live grant covers. Reads a live Representation."""

    subject = SubjectBrief()
    grant = serializers.IntegerField(source="pk")
    scope = serializers.SerializerMethodField()
    case = serializers.IntegerField(source="case_id", allow_null=True)
    expires_at = serializers.DateTimeField()
    record = serializers.SerializerMethodField(help_text="Where to read their record.")

    @extend_schema_field(serializers.ChoiceField(choices=["all_cases", "one_case"]))
    def get_scope(self, grant: Representation) -> str:
        return "all_cases" if grant.case_id is None else "one_case"

    @extend_schema_field(serializers.URLField())
    def get_record(self, grant: Representation) -> str:
        path = reverse("api-record", args=[grant.subject_id])
        return str(self.context["request"].build_absolute_uri(path))


# --- the record ----------------------------------------------------------------------------------


class AppealNoticeOut(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=AppealNoticeKind.choices)
    title = serializers.CharField(source="get_kind_display")
    representation = serializers.IntegerField(source="representation_id", allow_null=True)
    challenge = serializers.IntegerField(source="challenge_id", allow_null=True)
    created_at = serializers.DateTimeField()
    emailed_at = serializers.DateTimeField(allow_null=True)


class AccessOut(serializers.Serializer[Any]):
    """One view of the record: who, in what role, for whom, when, through which door, and why.
    ``usernames`` (user id to username) comes in the context."""

    occurred_at = serializers.DateTimeField()
    username = serializers.CharField()
    role = serializers.CharField()
    on_behalf_of = serializers.SerializerMethodField()
    channel = serializers.CharField(help_text="page, api or download.")
    view = serializers.CharField()
    purpose = serializers.CharField()
    object_type = serializers.CharField()
    object_id = serializers.CharField()

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_on_behalf_of(self, event: Any) -> str | None:
        if event.on_behalf_of_user_id is None:
            return None
        usernames: dict[int, str] = self.context["usernames"]
        return usernames.get(event.on_behalf_of_user_id)


AccessLogPage = page_serializer("AccessLogPage", AccessOut, counted="Views recorded")


class RecordOut(serializers.Serializer[Any]):
    """What the caller may see of one person's record (built by appeals.api.record)."""

    subject = SubjectOut()
    representing = serializers.BooleanField(
        help_text="The caller reads this as the person's representative: every use is recorded "
        "as on the person's behalf."
    )
    whole_record = serializers.BooleanField(
        help_text="False under a grant for one case: only that case, and what concerns it."
    )
    flags = RecordFlagOut(many=True)
    cases = CaseOut(many=True)
    challenges = ChallengeOut(many=True)
    notices = AppealNoticeOut(
        many=True, help_text="Notices to the caller about grants and challenges on this record."
    )
    grants = GrantOut(
        many=True,
        help_text="The person's grants of representation; for a representative, their own.",
    )
    access_log = AccessLogPage(help_text="Who viewed the record, newest first, 25 a page.")


class MeOut(serializers.Serializer[Any]):
    username = serializers.CharField()
    role = serializers.CharField()
    record = RecordOut(allow_null=True, help_text="The caller's own record, if they have one.")
    represents = RepresentedOut(many=True, help_text="For a representative: their live grants.")
    pending_grants = GrantOut(
        many=True, help_text="For a representative: grants waiting for them to accept."
    )


# --- what the API reads --------------------------------------------------------------------------


class RecordQuery(serializers.Serializer[Any]):
    access_page = serializers.IntegerField(
        required=False, min_value=1, max_value=2**31, help_text="The page of the access log."
    )


CHALLENGE_LIST_STATUSES = [
    ("open", "Open: submitted, acknowledged or escalated"),
    ("decided", "Decided"),
    ("all", "All"),
]


class ChallengeQuery(serializers.Serializer[Any]):
    status = serializers.ChoiceField(
        choices=CHALLENGE_LIST_STATUSES, required=False, help_text="open by default."
    )
    page = serializers.IntegerField(required=False, min_value=1, max_value=2**31)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=100)


def row_id(**options: Any) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=1, max_value=MAX_ROW_ID, **options)


class GrantIn(serializers.Serializer[Any]):
    representative = serializers.CharField(
        max_length=150,
        allow_blank=True,
        help_text="The username of a registered representative.",
    )
    case = row_id(
        required=False,
        allow_null=True,
        help_text="One of your cases, for a grant on that case alone; null or absent: every case.",
    )
    expires_on = serializers.DateField(
        help_text="The last day the grant runs: after today, and within REPRESENTATION_MAX_DAYS."
    )


GRANT_ACTIONS = [
    ("accept", "Accept a grant made to you"),
    ("decline", "Decline a grant made to you"),
    ("revoke", "End a grant you made or received, now"),
]


class GrantTransitionIn(serializers.Serializer[Any]):
    action = serializers.ChoiceField(choices=GRANT_ACTIONS)


class ChallengeIn(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=ChallengeKind.choices)
    evidence = row_id(
        required=False,
        allow_null=True,
        help_text="For inaccurate, lacks_context and not_mine: the evidence record challenged.",
    )
    decision = row_id(
        required=False, allow_null=True, help_text="For decision: the decision challenged."
    )
    grounds = serializers.CharField(
        allow_blank=True,
        trim_whitespace=False,
        help_text="Why, in your own words (for lacks_context, the context), at most "
        "CHALLENGE_GROUNDS_MAX_CHARS characters.",
    )
    proposed_correction = serializers.CharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        default="",
        help_text="For inaccurate: what the record should say.",
    )
    subject = row_id(
        required=False,
        allow_null=True,
        help_text="A representative: the id of the person you act for. Absent: your own record.",
    )


class ChallengeUpload(ChallengeIn):
    """A challenge as a multipart form, with its files."""

    attachments = serializers.ListField(
        child=serializers.FileField(allow_empty_file=True, use_url=False),
        required=False,
        help_text="PDF, PNG or JPEG files, typed by their content, at most "
        "CHALLENGE_ATTACHMENT_MAX_COUNT of at most CHALLENGE_ATTACHMENT_MAX_BYTES each.",
    )


class AwareDateTimeField(serializers.DateTimeField):
    """A date and time that names its offset: a record's time is never guessed."""

    def to_internal_value(self, value: Any) -> datetime:
        if isinstance(value, str):
            try:
                found = parse_datetime(value.strip())
            except ValueError:
                found = None  # out of range: the parent field says so
            if found is not None and timezone.is_naive(found):
                raise serializers.ValidationError(
                    "Give the date and time with its offset, e.g. 2026-03-02T09:00:00+00:00."
                )
        parsed: datetime = super().to_internal_value(value)
        return parsed


class CorrectedIn(serializers.Serializer[Any]):
    summary = serializers.CharField(allow_blank=True, trim_whitespace=False)
    payload = serializers.JSONField(help_text="The record's corrected fields: a JSON object.")
    occurred_at = AwareDateTimeField()


CHALLENGE_ACTIONS = [
    ("acknowledge", "A data steward takes the challenge"),
    ("decide", "The data steward who took it decides it"),
    ("escalate", "The person or their representative escalates a rejected challenge"),
    ("decide_escalation", "A senior reviewer decides an escalated challenge"),
]


class ChallengeTransitionIn(serializers.Serializer[Any]):
    action = serializers.ChoiceField(choices=CHALLENGE_ACTIONS)
    no_conflict_declared = serializers.BooleanField(
        required=False,
        default=False,
        help_text="To acknowledge or decide: your declaration of no conflict of interest with "
        "the person.",
    )
    finding = serializers.ChoiceField(choices=Finding.choices, required=False, allow_blank=True)
    reasons = serializers.CharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        default="",
        help_text="To decide: at least CHALLENGE_REASONS_MIN_CHARS characters.",
    )
    remedy = serializers.ChoiceField(
        choices=Remedy.choices,
        required=False,
        allow_blank=True,
        default="",
        help_text="What the finding does; which are allowed depends on the kind and finding.",
    )
    corrected = CorrectedIn(
        required=False, allow_null=True, help_text="For the remedy corrected: the new content."
    )
    grounds = serializers.CharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        default="",
        help_text="To escalate: why the rejection is wrong.",
    )


def _referral_results(case: Case) -> ReferralResults:
    # Read with the case, its decisions and results (appeals.selectors.cases_in_scope): no query.
    return split_referral_results(case.decisions.all(), case.referral_results.all())

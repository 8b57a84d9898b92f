"""The case API: the work queue, one case with everything a reviewer needs, and its actions.

The same selectors and the same service as the pages, so the same rules: a case the caller may
not see answers 404 exactly as a case that does not exist, an action the workflow refuses
answers 409, an unacceptable decision 422 (the error rule of config/api_errors.py). The
serializers read the models and produce every answer, and the schema is generated from them.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import rules
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import actor_for, require_role
from casework import selectors
from casework.conflicts import conflict_for_request
from casework.models import Case, CaseStatus, Consequence, Outcome, ReferralResultKind
from casework.outcomes import OutcomeClass, outcome_class
from casework.services import (
    DecisionRequest,
    ReferralResultRequest,
    act_on_case,
    next_steps,
    record_case_views,
    record_referral_result,
)
from casework.workflow import (
    CASE_ACTIONS,
    Action,
    CaseActionError,
    ConflictOfInterest,
    InvalidDecision,
)
from config.api_errors import ApiError, FieldErrors, InvalidQuery, field_messages
from config.api_pages import one_page, page_serializer
from config.parsers import json_object
from flags.models import Category, EvidenceStatus, FlagEvidence
from tokens.authentication import ApiTokenAuthentication


class IsReviewer(BasePermission):
    """By the role held, never by superuser status: a person with no role, or several, is told
    so (``no_role``)."""

    message = "Only reviewers and senior reviewers may use the case API."

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.user is None:
            return False  # not authenticated: REST framework answers 401
        require_role(request.user)
        return bool(rules.has_perm("casework.view_queue", request.user))


class CaseRefused(exceptions.APIException):
    status_code: int = status.HTTP_409_CONFLICT
    default_code = "refused"

    def __init__(self, error: CaseActionError) -> None:
        super().__init__(str(error), code="refused")
        self.status_code = error.status_code


class SubjectSummary(serializers.Serializer[Any]):
    staff_number = serializers.CharField()
    name = serializers.CharField()
    rank = serializers.CharField(source="get_rank_display")
    role = serializers.CharField()
    unit = serializers.CharField()


class CaseListItem(serializers.Serializer[Any]):
    """A case in the queue. Reads a Case; the page's categories come in the context
    (``categories``: case id to its categories), as does ``now`` for the days waiting."""

    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=CaseStatus.choices)
    subject = SubjectSummary()
    categories = serializers.SerializerMethodField()
    opened_at = serializers.DateTimeField()
    status_changed_at = serializers.DateTimeField()
    days_waiting = serializers.SerializerMethodField()
    due_on = serializers.DateField()
    assignee = serializers.CharField(source="assignee.username", allow_null=True)

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_categories(self, case: Case) -> list[str]:
        categories: dict[int, list[str]] = self.context["categories"]
        return categories.get(case.pk, [])

    @extend_schema_field(serializers.IntegerField())
    def get_days_waiting(self, case: Case) -> int:
        return case.days_waiting(self.context["now"])


CasePage = page_serializer(
    "CasePage", CaseListItem, counted="Cases matching", doc="One page of the queue."
)


class ContextAccountOut(serializers.Serializer[Any]):
    """Reads an EvidenceContext: the subject's account of a record's context."""

    account = serializers.CharField()
    given_at = serializers.DateTimeField()
    given_by = serializers.CharField(source="given_by.username")
    on_behalf_of = serializers.CharField(
        source="on_behalf_of.username",
        allow_null=True,
        help_text="The subject, when their representative gave it for them.",
    )
    given_with = serializers.CharField(help_text='Where it was given ("challenge 12").')


class EvidenceOut(serializers.Serializer[Any]):
    """Reads a FlagEvidence link: the record as it stands, and the case's subject's accounts of
    its context (from the context's ``context_accounts``: evidence id to accounts)."""

    source_system = serializers.CharField(source="evidence.source_system")
    record_type = serializers.CharField(source="evidence.record_type")
    record_id = serializers.CharField(source="evidence.record_id")
    occurred_at = serializers.DateTimeField(source="evidence.occurred_at")
    summary = serializers.CharField(source="evidence.summary")
    payload = serializers.JSONField(source="evidence.payload")
    content_hash = serializers.CharField(source="evidence.content_hash")
    status = serializers.ChoiceField(
        source="evidence.status",
        choices=EvidenceStatus.choices,
        help_text="`disputed` while a challenge to it is open; `corrected` or `withdrawn` after "
        "an upheld one.",
    )
    context_accounts = serializers.SerializerMethodField(
        help_text="The subject's own accounts of this record's context, given with their "
        "challenges, whatever the challenges' outcome: read them before deciding."
    )

    @extend_schema_field(ContextAccountOut(many=True))
    def get_context_accounts(self, link: FlagEvidence) -> Any:
        accounts = self.context["context_accounts"].get(link.evidence_id, [])
        return ContextAccountOut(accounts, many=True).data


class FlagOut(serializers.Serializer[Any]):
    """Reads a CaseFlag link: the flag, how it came to the case, and its evidence."""

    id = serializers.IntegerField(source="flag.pk")
    detector = serializers.CharField(source="flag.detector.slug")
    detector_version = serializers.CharField(source="flag.detector_version")
    category = serializers.CharField(source="flag.category")
    rule = serializers.CharField(source="flag.rule")
    score = serializers.FloatField(source="flag.score")
    explanation = serializers.CharField(source="flag.explanation")
    factors = serializers.JSONField(source="flag.factors")
    window_start = serializers.DateField(source="flag.window_start")
    window_end = serializers.DateField(source="flag.window_end")
    status = serializers.CharField(source="flag.status")
    attached = serializers.CharField(source="via")
    evidence = EvidenceOut(many=True, source="flag.flagevidence_set.all")


class DecisionOut(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    outcome = serializers.CharField(allow_blank=True)
    rationale = serializers.CharField()
    made_at = serializers.DateTimeField()
    made_by = serializers.CharField(source="made_by.username")
    role = serializers.CharField()
    no_conflict_declared = serializers.BooleanField()
    status_before = serializers.CharField()
    status_after = serializers.CharField()
    policy_version = serializers.IntegerField()
    evidence_hashes = serializers.ListField(child=serializers.CharField())
    deferred_until = serializers.DateField(allow_null=True)
    assigned_to = serializers.CharField(source="assigned_to.username", allow_null=True)
    sets_aside = serializers.IntegerField(
        source="sets_aside_id",
        allow_null=True,
        help_text="For a decision set aside by an upheld challenge: the id of the decision it "
        "sets aside, which stays in the list as it was.",
    )


class ReevaluationOut(serializers.Serializer[Any]):
    """Reads a CaseReevaluation: the case evaluated again after data it rested on changed."""

    evaluated_at = serializers.DateTimeField()
    cause = serializers.CharField(help_text='What caused it ("challenge 17 upheld").')
    policy_version = serializers.IntegerField(help_text="The version the case opened under.")
    met = serializers.BooleanField(help_text="Whether the data that still stands meets it.")
    consequence = serializers.ChoiceField(choices=Consequence.choices)
    trace = serializers.JSONField(help_text="The new trace, beside the case's original one.")


class ReferralResultOut(serializers.Serializer[Any]):
    """Reads a ReferralResult: what the investigating body concluded, and who recorded it."""

    id = serializers.IntegerField()
    result = serializers.ChoiceField(choices=ReferralResultKind.choices)
    concluded_on = serializers.DateField(help_text="The day the investigating body concluded.")
    reasons = serializers.CharField()
    referral = serializers.IntegerField(
        source="referral_id",
        help_text="The decision that referred the case, its second signature: the referral this "
        "is the result of.",
    )
    recorded_at = serializers.DateTimeField()
    recorded_by = serializers.CharField(source="recorded_by.username")
    role = serializers.CharField()
    on_behalf_of = serializers.CharField(source="on_behalf_of.username", allow_null=True)
    no_conflict_declared = serializers.BooleanField()


class NextStepOut(serializers.Serializer[Any]):
    action = serializers.ChoiceField(choices=Action.choices)
    title = serializers.CharField(source="label", help_text="The action, in words.")
    who = serializers.CharField()
    precondition = serializers.CharField()
    available = serializers.BooleanField(help_text="Whether the caller may take it now.")
    refusal = serializers.CharField(help_text="Why not, when it is not available.")


class CaseDetail(CaseListItem):
    """One case. Reads a Case; its flags, decisions and next steps come in the context
    (``links``, ``decisions``, ``steps``), read by the same selectors as the case page."""

    policy_version = serializers.IntegerField(source="policy.version")
    trace = serializers.JSONField()
    recommended_outcome = serializers.CharField(allow_blank=True)
    outcome = serializers.CharField(allow_blank=True)
    reconsider_since = serializers.DateTimeField(
        allow_null=True,
        help_text="Set when data a concluded case rested on was since corrected or withdrawn: "
        "reconsider the case (for a referral, tell the body it was referred to).",
    )
    flags = serializers.SerializerMethodField()
    decisions = serializers.SerializerMethodField()
    reevaluations = serializers.SerializerMethodField()
    referral_result = serializers.SerializerMethodField(
        help_text="For a referred case: what the investigating body concluded about the referral "
        "that stands, once a senior reviewer has recorded it "
        "(`POST /api/v1/cases/{id}/referral-result/`); null until then, and null where no "
        "referral stands."
    )
    earlier_referral_results = serializers.SerializerMethodField(
        help_text="Results recorded for referrals of the case that no longer stand (an upheld "
        "challenge set aside the referral or a decision it rested on), oldest first: history, "
        "not the case's result, and counted nowhere."
    )
    outcome_class = serializers.SerializerMethodField(
        help_text="What the case counts as in the figures (casework.outcomes): `pending` while "
        "it is live or the referral that stands has no result."
    )
    next_steps = serializers.SerializerMethodField()

    @extend_schema_field(FlagOut(many=True))
    def get_flags(self, case: Case) -> Any:
        return FlagOut(self.context["links"], many=True, context=self.context).data

    @extend_schema_field(DecisionOut(many=True))
    def get_decisions(self, case: Case) -> Any:
        return DecisionOut(self.context["decisions"], many=True).data

    @extend_schema_field(ReevaluationOut(many=True))
    def get_reevaluations(self, case: Case) -> Any:
        return ReevaluationOut(self.context["reevaluations"], many=True).data

    @extend_schema_field(ReferralResultOut(allow_null=True))
    def get_referral_result(self, case: Case) -> Any:
        found = self.context["referral_results"].current
        return None if found is None else ReferralResultOut(found).data

    @extend_schema_field(ReferralResultOut(many=True))
    def get_earlier_referral_results(self, case: Case) -> Any:
        return ReferralResultOut(self.context["referral_results"].earlier, many=True).data

    @extend_schema_field(serializers.ChoiceField(choices=OutcomeClass.choices))
    def get_outcome_class(self, case: Case) -> str:
        found = self.context["referral_results"].current
        return outcome_class(case.status, case.outcome, found.result if found else None)

    @extend_schema_field(NextStepOut(many=True))
    def get_next_steps(self, case: Case) -> Any:
        return NextStepOut(self.context["steps"], many=True).data


class TransitionIn(serializers.Serializer[Any]):
    action = serializers.ChoiceField(choices=CASE_ACTIONS)
    rationale = serializers.CharField(trim_whitespace=False, allow_blank=True, max_length=10000)
    no_conflict_declared = serializers.BooleanField()
    outcome = serializers.ChoiceField(choices=Outcome.choices, required=False, allow_blank=True)
    deferred_until = serializers.DateField(required=False, allow_null=True)
    expected_status = serializers.ChoiceField(choices=CaseStatus.choices, required=False)
    assign_to = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=150,
        help_text="For assign: the username of the reviewer the case is given to.",
    )
    recommendation = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=2**63 - 1,
        help_text="On a signature: the id of the recommendation decision you read; the signature "
        "is refused if a newer recommendation has replaced it.",
    )


class ReferralResultIn(serializers.Serializer[Any]):
    result = serializers.ChoiceField(choices=ReferralResultKind.choices)
    concluded_on = serializers.DateField(
        help_text="The day the investigating body concluded: not in the future, not before the "
        "referral was signed."
    )
    reasons = serializers.CharField(
        trim_whitespace=False,
        allow_blank=True,
        max_length=10000,
        help_text="The body's reasons, as far as they may be told to the person; at least "
        "DECISION_RATIONALE_MIN_CHARS characters.",
    )
    no_conflict_declared = serializers.BooleanField()


class ReferralResultAnswer(serializers.Serializer[Any]):
    """Reads ``{"referral_result": ReferralResult, "case": Case}``, with CaseDetail's context."""

    referral_result = ReferralResultOut()
    case = CaseDetail()


class TransitionOut(serializers.Serializer[Any]):
    """Reads ``{"decision": Decision, "case": Case}``, with CaseDetail's context."""

    decision = DecisionOut()
    case = CaseDetail()


def case_context(case: Case, request: Request) -> dict[str, Any]:
    """What CaseDetail reads beside the case itself, from the selectors the case page uses."""
    links = selectors.flags_of_case(case)
    steps = next_steps(
        case,
        actor_for(request.user),
        conflict_for_request(request.user, case.subject),  # type: ignore[arg-type]
    )
    decisions = selectors.decisions_of_case(case)
    return {
        "now": timezone.now(),
        "categories": {case.pk: sorted({link.flag.category for link in links})},
        "links": links,
        "decisions": decisions,
        "context_accounts": selectors.context_accounts_of_case(case),
        "reevaluations": selectors.reevaluations_of_case(case),
        "referral_results": selectors.referral_results_of(case, decisions),
        "steps": steps,
    }


class QueueQuery(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=selectors.QUEUE_STATUS_CHOICES, required=False)
    category = serializers.ChoiceField(choices=Category.choices, required=False)
    unit = serializers.CharField(required=False, max_length=100)
    due_before = serializers.DateField(required=False)
    assigned_to_me = serializers.BooleanField(required=False, default=False)
    sort = serializers.ChoiceField(choices=selectors.QueueSort.choices, required=False)
    page = serializers.IntegerField(required=False, min_value=1)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=100)


UNAUTHENTICATED = OpenApiResponse(
    ApiError, "No token, or a token not recognised, revoked or expired."
)
NOT_A_REVIEWER = OpenApiResponse(
    ApiError,
    "`no_role`: the caller holds no role, or several; `permission_denied`: the caller's role is "
    "not reviewer or senior reviewer.",
)
NOT_FOUND = OpenApiResponse(
    ApiError,
    "No such case, or a case the caller may not see (the conflict check): the two are answered "
    "alike, so that the answer does not tell which cases exist.",
)


class CaseListView(APIView):
    authentication_classes = [ApiTokenAuthentication]
    permission_classes = [IsReviewer]

    @extend_schema(
        operation_id="list_cases",
        summary="The work queue",
        description=(
            "The cases the caller may see (never one the conflict check bars them from), live "
            "states by default, filtered and sorted like the queue page. Paginated."
        ),
        parameters=[QueueQuery],
        responses={
            200: CasePage,
            400: OpenApiResponse(ApiError, "`invalid_query`: a filter value is not valid."),
            401: UNAUTHENTICATED,
            403: NOT_A_REVIEWER,
            404: OpenApiResponse(ApiError, "A page number past the last page."),
        },
    )
    def get(self, request: Request) -> Response:
        query = QueueQuery(data=request.query_params)
        if not query.is_valid():
            raise InvalidQuery(field_messages(query.errors))
        filters = selectors.QueueFilters.from_data(query.validated_data)
        page, body = one_page(
            selectors.work_queue(request.user, filters),  # type: ignore[arg-type]
            request,
            self,
        )
        record_case_views(page, actor=actor_for(request.user), channel="api", view="list_cases")
        context = {"categories": selectors.categories_of(case.pk for case in page)}
        return Response(CasePage(body, context={**context, "now": timezone.now()}).data)


class CaseDetailView(APIView):
    authentication_classes = [ApiTokenAuthentication]
    permission_classes = [IsReviewer]

    @extend_schema(
        operation_id="get_case",
        summary="One case",
        description=(
            "Why the case opened (the threshold trace), each flag with its detector, version, "
            "explanation, factors and evidence (each record's status, and the subject's "
            "accounts of its context), every decision (one set aside by an upheld challenge "
            "stays, and the decision setting it aside names it), each evaluation since the "
            "case opened after data it rested on was corrected or withdrawn, and what can "
            "happen next: each step with who may take it and whether the caller may take it "
            "now."
        ),
        responses={200: CaseDetail, 401: UNAUTHENTICATED, 403: NOT_A_REVIEWER, 404: NOT_FOUND},
    )
    def get(self, request: Request, case_id: int) -> Response:
        case = selectors.case_for_review(case_id, request.user)  # type: ignore[arg-type]
        record_case_views([case], actor=actor_for(request.user), channel="api", view="get_case")
        return Response(CaseDetail(case, context=case_context(case, request)).data)


class CaseTransitionView(APIView):
    authentication_classes = [ApiTokenAuthentication]
    permission_classes = [IsReviewer]
    # A decision is a few fields and at most 10,000 characters of reasons.
    max_body_size = 64 * 1024

    @extend_schema(
        operation_id="act_on_case",
        summary="Take an action on a case",
        description=(
            "Start review, recommend, sign off, sign a referral, return for correction, hold, "
            "withdraw or defer the subject's notice. Every action needs a rationale and the "
            "caller's fresh declaration of no conflict. Send `expected_status` (the state you "
            "saw) to be refused rather than act on a case someone else has moved on. The body "
            "is a JSON object of at most 64 KiB."
        ),
        request=TransitionIn,
        responses={
            201: TransitionOut,
            400: OpenApiResponse(
                ApiError, "`parse_error`: the body is not JSON; `invalid_body`: not an object."
            ),
            401: UNAUTHENTICATED,
            403: NOT_A_REVIEWER,
            404: NOT_FOUND,
            409: OpenApiResponse(ApiError, "`refused`: the workflow does not allow this now."),
            413: OpenApiResponse(ApiError, "`body_too_large`: the body is over 64 KiB."),
            415: OpenApiResponse(ApiError, "`unsupported_media_type`: the body is not JSON."),
            422: OpenApiResponse(
                ApiError,
                "`invalid`: a field is missing or not acceptable (no action, no rationale or one "
                "too short, no declaration, an unknown outcome, a bad date); `fields` names each.",
            ),
        },
    )
    def post(self, request: Request, case_id: int) -> Response:
        case = selectors.case_for_review(case_id, request.user)  # type: ignore[arg-type]
        body = TransitionIn(data=json_object(request))
        body.is_valid(raise_exception=True)
        data = body.validated_data
        decision_request = DecisionRequest(
            action=data["action"],
            rationale=data["rationale"],
            outcome=data.get("outcome") or "",
            no_conflict_declared=data["no_conflict_declared"],
            deferred_until=data.get("deferred_until"),
            expected_status=data.get("expected_status"),
            recommendation_id=data.get("recommendation"),
            assign_to=data.get("assign_to", ""),
        )
        with case_refusals(case_id):
            decision = act_on_case(case.pk, decision_request, actor=actor_for(request.user))
        case = selectors.case_for_review(case.pk, request.user)  # type: ignore[arg-type]
        record_case_views([case], actor=actor_for(request.user), channel="api", view="act_on_case")
        answer = TransitionOut(
            {"decision": decision, "case": case}, context=case_context(case, request)
        )
        return Response(answer.data, status=status.HTTP_201_CREATED)


@contextmanager
def case_refusals(case_id: int) -> Iterator[None]:
    """Answer a casework service's refusal by the one error rule: a conflict declared since the
    case was read as a missing case, a field at fault 422, a step the workflow refuses 409."""
    try:
        yield
    except ConflictOfInterest as exc:
        # Barred since the case was read: answered as any case the caller may not see.
        raise Http404(selectors.no_such_case(case_id)) from exc
    except InvalidDecision as exc:
        fields = {field or "body": [message] for field, message in exc.problems.items()}
        raise FieldErrors(fields, str(exc)) from exc
    except CaseActionError as exc:
        raise CaseRefused(exc) from exc
    except DjangoValidationError as exc:  # a value the database cannot hold
        problems = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        raise FieldErrors(field_messages(problems)) from exc


class ReferralResultView(APIView):
    authentication_classes = [ApiTokenAuthentication]
    permission_classes = [IsReviewer]
    max_body_size = 64 * 1024

    @extend_schema(
        operation_id="record_referral_result",
        summary="Record the result of a referral",
        description=(
            "What the investigating body concluded about a referred case: misconduct found, "
            "gross misconduct found, no case to answer, or withdrawn by the investigating body; "
            "the day it concluded and the reasons. For a senior reviewer who passes the conflict "
            "check, with their fresh declaration of no conflict. A case has one result, never "
            "rewritten: a second is refused (409), naming the first. The person the case is "
            "about is told, if they have been told of the case. The body is a JSON object of at "
            "most 64 KiB."
        ),
        request=ReferralResultIn,
        responses={
            201: ReferralResultAnswer,
            400: OpenApiResponse(
                ApiError, "`parse_error`: the body is not JSON; `invalid_body`: not an object."
            ),
            401: UNAUTHENTICATED,
            403: NOT_A_REVIEWER,
            404: NOT_FOUND,
            409: OpenApiResponse(
                ApiError,
                "`refused`: the case is not referred, a result is already recorded (the detail "
                "names it), or the caller is not a senior reviewer.",
            ),
            413: OpenApiResponse(ApiError, "`body_too_large`: the body is over 64 KiB."),
            415: OpenApiResponse(ApiError, "`unsupported_media_type`: the body is not JSON."),
            422: OpenApiResponse(
                ApiError,
                "`invalid`: a field is missing or not acceptable (an unknown result, a day in "
                "the future or before the referral, reasons too short or holding a NUL "
                "character, no declaration); `fields` names each.",
            ),
        },
    )
    def post(self, request: Request, case_id: int) -> Response:
        case = selectors.case_for_review(case_id, request.user)  # type: ignore[arg-type]
        body = ReferralResultIn(data=json_object(request))
        body.is_valid(raise_exception=True)
        data = body.validated_data
        asked = ReferralResultRequest(
            result=data["result"],
            concluded_on=data["concluded_on"],
            reasons=data["reasons"],
            no_conflict_declared=data["no_conflict_declared"],
        )
        with case_refusals(case_id):
            row = record_referral_result(case.pk, asked, actor=actor_for(request.user))
        case = selectors.case_for_review(case.pk, request.user)  # type: ignore[arg-type]
        record_case_views(
            [case], actor=actor_for(request.user), channel="api", view="record_referral_result"
        )
        answer = ReferralResultAnswer(
            {"referral_result": row, "case": case}, context=case_context(case, request)
        )
        return Response(answer.data, status=status.HTTP_201_CREATED)

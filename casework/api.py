"""The case API: the work queue, one case with everything a reviewer needs, and its actions.

The same selectors and the same service as the pages, so the same rules: a case the caller may
not see answers 403, an action the workflow refuses answers 409, an unacceptable decision 422.
"""

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import actor_for
from casework import selectors
from casework.conflicts import conflict_for_request
from casework.models import Case, CaseStatus, Outcome
from casework.services import DecisionRequest, act_on_case, next_steps, record_case_views
from casework.workflow import Action, CaseActionError, ConflictOfInterest
from flags.ingest_schema import ApiError
from flags.models import Category
from tokens.authentication import ApiTokenAuthentication


class IsReviewer(BasePermission):
    message = "Only reviewers and senior reviewers may use the case API."

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user and request.user.has_perm("casework.view_queue"))


class CaseRefused(exceptions.APIException):
    status_code: int = status.HTTP_409_CONFLICT
    default_code = "refused"

    def __init__(self, error: CaseActionError) -> None:
        super().__init__(str(error), code=_CODES.get(error.status_code, "refused"))
        self.status_code = error.status_code


_CODES = {403: "not_permitted", 409: "refused", 422: "invalid_decision"}


class SubjectSummary(serializers.Serializer[Any]):
    staff_number = serializers.CharField()
    name = serializers.CharField()
    rank = serializers.CharField()
    role = serializers.CharField()
    unit = serializers.CharField()


class CaseListItem(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=CaseStatus.choices)
    subject = SubjectSummary()
    categories = serializers.ListField(child=serializers.CharField())
    opened_at = serializers.DateTimeField()
    status_changed_at = serializers.DateTimeField()
    days_waiting = serializers.IntegerField()
    due_on = serializers.DateField()
    assignee = serializers.CharField(allow_null=True)


class EvidenceOut(serializers.Serializer[Any]):
    source_system = serializers.CharField()
    record_type = serializers.CharField()
    record_id = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    summary = serializers.CharField()
    payload = serializers.JSONField()
    content_hash = serializers.CharField()
    status = serializers.CharField()


class FlagOut(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    detector = serializers.CharField()
    detector_version = serializers.CharField()
    category = serializers.CharField()
    rule = serializers.CharField()
    score = serializers.FloatField()
    explanation = serializers.CharField()
    factors = serializers.JSONField()
    window_start = serializers.DateField()
    window_end = serializers.DateField()
    status = serializers.CharField()
    attached = serializers.CharField()
    evidence = EvidenceOut(many=True)


class DecisionOut(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    outcome = serializers.CharField(allow_blank=True)
    rationale = serializers.CharField()
    made_at = serializers.DateTimeField()
    made_by = serializers.CharField()
    role = serializers.CharField()
    no_conflict_declared = serializers.BooleanField()
    status_before = serializers.CharField()
    status_after = serializers.CharField()
    policy_version = serializers.IntegerField()
    evidence_hashes = serializers.ListField(child=serializers.CharField())
    deferred_until = serializers.DateField(allow_null=True)
    assigned_to = serializers.CharField(allow_null=True)


class NextStepOut(serializers.Serializer[Any]):
    action = serializers.ChoiceField(choices=Action.choices)
    title = serializers.CharField(help_text="The action, in words.")
    who = serializers.CharField()
    precondition = serializers.CharField()
    available = serializers.BooleanField(help_text="Whether the caller may take it now.")
    refusal = serializers.CharField(help_text="Why not, when it is not available.")


class CaseDetail(CaseListItem):
    policy_version = serializers.IntegerField()
    trace = serializers.JSONField()
    recommended_outcome = serializers.CharField(allow_blank=True)
    outcome = serializers.CharField(allow_blank=True)
    flags = FlagOut(many=True)
    decisions = DecisionOut(many=True)
    next_steps = NextStepOut(many=True)


class TransitionIn(serializers.Serializer[Any]):
    action = serializers.ChoiceField(choices=Action.choices)
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
        help_text="On a signature: the id of the recommendation decision you read; the signature "
        "is refused if a newer recommendation has replaced it.",
    )


class TransitionOut(serializers.Serializer[Any]):
    decision = DecisionOut()
    case = CaseDetail()


def list_item(case: Case, categories: list[str]) -> dict[str, Any]:
    subject = case.subject
    return {
        "id": case.pk,
        "status": case.status,
        "subject": {
            "staff_number": subject.staff_number,
            "name": subject.name,
            "rank": subject.get_rank_display(),
            "role": subject.role,
            "unit": subject.unit,
        },
        "categories": categories,
        "opened_at": case.opened_at,
        "status_changed_at": case.status_changed_at,
        "days_waiting": case.days_waiting(timezone.now()),
        "due_on": case.due_on,
        "assignee": case.assignee.get_username() if case.assignee else None,
    }


def case_detail(case: Case, request: Request) -> dict[str, Any]:
    links = selectors.flags_of_case(case)
    flags = [
        {
            "id": link.flag.pk,
            "detector": link.flag.detector.slug,
            "detector_version": link.flag.detector_version,
            "category": link.flag.category,
            "rule": link.flag.rule,
            "score": link.flag.score,
            "explanation": link.flag.explanation,
            "factors": link.flag.factors,
            "window_start": link.flag.window_start,
            "window_end": link.flag.window_end,
            "status": link.flag.status,
            "attached": link.via,
            "evidence": [
                {
                    "source_system": item.evidence.source_system,
                    "record_type": item.evidence.record_type,
                    "record_id": item.evidence.record_id,
                    "occurred_at": item.evidence.occurred_at,
                    "summary": item.evidence.summary,
                    "payload": item.evidence.payload,
                    "content_hash": item.evidence.content_hash,
                    "status": item.evidence.status,
                }
                for item in link.flag.flagevidence_set.all()
            ],
        }
        for link in links
    ]
    categories = sorted({flag["category"] for flag in flags})
    steps = next_steps(
        case,
        actor_for(request.user),
        conflict_for_request(request.user, case.subject),  # type: ignore[arg-type]
    )
    return {
        **list_item(case, categories),
        "policy_version": case.policy.version,
        "trace": case.trace,
        "recommended_outcome": case.recommended_outcome,
        "outcome": case.outcome,
        "flags": flags,
        "decisions": [decision_out(d) for d in selectors.decisions_of_case(case)],
        "next_steps": [
            {
                "action": step.action,
                "title": step.label,
                "who": step.who,
                "precondition": step.precondition,
                "available": step.available,
                "refusal": step.refusal,
            }
            for step in steps
        ],
    }


def decision_out(decision: Any) -> dict[str, Any]:
    return {
        "id": decision.pk,
        "kind": decision.kind,
        "outcome": decision.outcome,
        "rationale": decision.rationale,
        "made_at": decision.made_at,
        "made_by": decision.made_by.get_username(),
        "role": decision.role,
        "no_conflict_declared": decision.no_conflict_declared,
        "status_before": decision.status_before,
        "status_after": decision.status_after,
        "policy_version": decision.policy_version,
        "evidence_hashes": decision.evidence_hashes,
        "deferred_until": decision.deferred_until,
        "assigned_to": decision.assigned_to.get_username() if decision.assigned_to else None,
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


class QueuePagination(PageNumberPagination):
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100


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
            200: CaseListItem(many=True),
            400: OpenApiResponse(ApiError, "A filter value is not valid."),
            401: OpenApiResponse(ApiError, "No token, or a token not recognised or revoked."),
            403: OpenApiResponse(ApiError, "The caller is not a reviewer."),
        },
    )
    def get(self, request: Request) -> Response:
        query = QueueQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        filters = selectors.QueueFilters.from_data(data)
        paginator = QueuePagination()
        cases = paginator.paginate_queryset(
            selectors.work_queue(request.user, filters),  # type: ignore[arg-type]
            request,
            view=self,
        )
        page = list(cases or [])
        categories = selectors.categories_of(case.pk for case in page)
        record_case_views(page, actor=actor_for(request.user), channel="api", view="list_cases")
        items = [list_item(case, categories.get(case.pk, [])) for case in page]
        return paginator.get_paginated_response(CaseListItem(items, many=True).data)


class CaseDetailView(APIView):
    authentication_classes = [ApiTokenAuthentication]
    permission_classes = [IsReviewer]

    @extend_schema(
        operation_id="get_case",
        summary="One case",
        description=(
            "Why the case opened (the threshold trace), each flag with its detector, version, "
            "explanation, factors and evidence, every decision, and what can happen next: "
            "each step with who may take it and whether the caller may take it now."
        ),
        responses={
            200: CaseDetail,
            401: OpenApiResponse(ApiError, "No token, or a token not recognised or revoked."),
            403: OpenApiResponse(ApiError, "Not a reviewer, or barred by the conflict check."),
            404: OpenApiResponse(ApiError, "No such case."),
        },
    )
    def get(self, request: Request, case_id: int) -> Response:
        case = selectors.case_for_review(case_id, request.user)  # type: ignore[arg-type]
        record_case_views([case], actor=actor_for(request.user), channel="api", view="get_case")
        return Response(CaseDetail(case_detail(case, request)).data)


class CaseTransitionView(APIView):
    authentication_classes = [ApiTokenAuthentication]
    permission_classes = [IsReviewer]

    @extend_schema(
        operation_id="act_on_case",
        summary="Take an action on a case",
        description=(
            "Start review, recommend, sign off, sign a referral, return for correction, hold, "
            "withdraw or defer the subject's notice. Every action needs a rationale and the "
            "caller's fresh declaration of no conflict. Send `expected_status` (the state you "
            "saw) to be refused rather than act on a case someone else has moved on."
        ),
        request=TransitionIn,
        responses={
            201: TransitionOut,
            400: OpenApiResponse(ApiError, "The body is malformed."),
            401: OpenApiResponse(ApiError, "No token, or a token not recognised or revoked."),
            403: OpenApiResponse(ApiError, "Not a reviewer, or barred by the conflict check."),
            404: OpenApiResponse(ApiError, "No such case."),
            409: OpenApiResponse(ApiError, "The workflow does not allow this action now."),
            422: OpenApiResponse(ApiError, "No rationale, no declaration, or a bad outcome."),
        },
    )
    def post(self, request: Request, case_id: int) -> Response:
        case = selectors.case_for_review(case_id, request.user)  # type: ignore[arg-type]
        body = TransitionIn(data=request.data)
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
        try:
            decision = act_on_case(case.pk, decision_request, actor=actor_for(request.user))
        except ConflictOfInterest as exc:
            raise exceptions.PermissionDenied(str(exc)) from exc
        except CaseActionError as exc:
            raise CaseRefused(exc) from exc
        except DjangoValidationError as exc:  # a value the database cannot hold
            raise exceptions.ValidationError(exc.messages) from exc
        case = selectors.case_for_review(case.pk, request.user)  # type: ignore[arg-type]
        record_case_views([case], actor=actor_for(request.user), channel="api", view="act_on_case")
        body_out = {"decision": decision_out(decision), "case": case_detail(case, request)}
        return Response(TransitionOut(body_out).data, status=status.HTTP_201_CREATED)

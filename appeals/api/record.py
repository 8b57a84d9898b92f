"""A person's record: their own (``/me/``), or one person's as their representative reads it
(``/records/{subject_id}/``). Both read appeals.selectors.subject_record, the page's selector, so
a deferred case is absent from both alike, and nothing of anyone else appears."""

from typing import Any

from django.contrib.auth.models import User
from django.core.paginator import EmptyPage, Paginator
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import APIView

from accounts.roles import require_role
from appeals.api.access import (
    HoldsAPersonsRole,
    View,
    caller,
    grants_shown,
    record_views,
    scope_viewer,
)
from appeals.api.errors import (
    BAD_QUERY,
    NO_ROLE,
    UNAUTHENTICATED,
    appeal_refusals,
    existing_id,
    not_found,
)
from appeals.api.serializers import MeOut, RecordOut, RecordQuery
from appeals.models import AppealNotice, Representation, RepresentationStatus
from appeals.selectors import (
    ACCESS_LOG_PAGE_SIZE,
    NO_SUCH_RECORD,
    SubjectRecord,
    live_grants,
    own_subject,
    scope_for,
    subject_record,
)
from audit.access import Shown
from audit.actors import Role
from config.api_errors import InvalidQuery, field_messages
from tokens.authentication import ApiTokenAuthentication

GRANT_RELATED = (
    "subject",
    "subject__user",
    "representative",
    "case",
    "granted_by",
    "ended_by",
)


def access_page_number(request: Request) -> int:
    query = RecordQuery(data=request.query_params)
    if not query.is_valid():
        raise InvalidQuery(field_messages(query.errors))
    return int(query.validated_data.get("access_page", 1))


def record_answer(
    record: SubjectRecord, request: Request, page_number: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """What RecordOut reads (the record, the caller's notices about it, the access log's page),
    and its context."""
    scope = record.scope
    paginator = Paginator(record.access_log, ACCESS_LOG_PAGE_SIZE)
    try:
        page = paginator.page(page_number)
    except EmptyPage as exc:
        raise exceptions.NotFound(f"The access log has no page {page_number}.") from exc
    events = list(page.object_list)
    behalf = {event.on_behalf_of_user_id for event in events if event.on_behalf_of_user_id}
    url = request.build_absolute_uri()
    body = {
        "subject": scope.subject,
        "representing": not scope.is_own,
        "whole_record": scope.whole_record,
        "flags": record.flags,
        "cases": record.cases,
        "challenges": record.challenges,
        "notices": list(
            AppealNotice.objects.filter(recipient=scope.actor.user, subject=scope.subject)
        ),
        "grants": record.grants,
        "access_log": {
            "count": paginator.count,
            "next": (
                replace_query_param(url, "access_page", page_number + 1)
                if page.has_next()
                else None
            ),
            "previous": _previous(url, page_number) if page.has_previous() else None,
            "results": events,
        },
    }
    context = {
        "request": request,
        "now": timezone.now(),
        "case_ids": scope.case_ids,
        "usernames": dict(User.objects.filter(pk__in=behalf).values_list("pk", "username")),
    }
    return body, context


def _previous(url: str, page_number: int) -> str:
    if page_number == 2:
        return str(remove_query_param(url, "access_page"))
    return str(replace_query_param(url, "access_page", page_number - 1))


def record_shown(record: SubjectRecord) -> list[View]:
    """The whole record is one thing shown; under a one-case grant, each case shown is."""
    scope = record.scope
    actor, purpose = scope_viewer(scope)
    subject_id = scope.subject.pk
    if scope.whole_record or not scope.case_ids:
        return [(actor, purpose, Shown(subject_id, "flags.subject", subject_id))]
    return [
        (actor, purpose, Shown(subject_id, "casework.case", case_id))
        for case_id in sorted(scope.case_ids)
    ]


NO_RECORD = not_found(
    "No record the caller may see (no record of their own; another person's without a live "
    "grant), or an access log page past the last"
)


class MeView(APIView):
    authentication_classes = [ApiTokenAuthentication]
    permission_classes = [HoldsAPersonsRole]

    @extend_schema(
        operation_id="get_my_record",
        summary="Your record, and whom you represent",
        description=(
            "For someone whose account is linked to their own record: every flag about them with "
            "its evidence, every case they have been told of with why it opened, its decisions "
            "(who, in what role, for whom, why), re-evaluations, a referral's result once "
            "recorded, and notices; their challenges "
            "with each deadline and whether it was met; the grants of representation they made; "
            "the notices sent to them; and who viewed their record (`?access_page=N`, 25 a "
            "page, newest first). A case whose notice has been deferred is not shown until the "
            "notice is sent. For a representative: `represents`, the people their live grants "
            "cover (read each at `/api/v1/records/{subject_id}/`), and the grants waiting for "
            "them to accept. Anyone else: 404."
        ),
        parameters=[RecordQuery],
        responses={
            200: MeOut,
            400: BAD_QUERY,
            401: UNAUTHENTICATED,
            403: NO_ROLE,
            404: NO_RECORD,
        },
    )
    def get(self, request: Request) -> Response:
        user = caller(request)
        page_number = access_page_number(request)
        role = require_role(user)
        own = own_subject(user)
        if own is None and role != Role.REPRESENTATIVE:
            raise exceptions.NotFound(NO_SUCH_RECORD)
        views: list[View] = []
        body: dict[str, Any] = {
            "username": user.get_username(),
            "role": role,
            "record": None,
            "represents": [],
            "pending_grants": [],
        }
        context: dict[str, Any] = {"request": request, "now": timezone.now()}
        if own is not None:
            with appeal_refusals():
                record = subject_record(scope_for(user))
            body["record"], context = record_answer(record, request, page_number)
            views += record_shown(record)
        if role == Role.REPRESENTATIVE:
            body["represents"] = list(live_grants(user).order_by("subject__staff_number", "pk"))
            body["pending_grants"] = list(_pending_grants(user))
            views += grants_shown(user, body["represents"] + body["pending_grants"])
        record_views(views, view="get_my_record")
        return Response(MeOut(body, context=context).data)


def _pending_grants(user: User) -> Any:
    return (
        Representation.objects.filter(
            representative=user,
            status=RepresentationStatus.PENDING,
            expires_at__gt=timezone.now(),
        )
        .select_related(*GRANT_RELATED)
        .order_by("-granted_at", "-pk")
    )


class RecordView(APIView):
    authentication_classes = [ApiTokenAuthentication]
    permission_classes = [HoldsAPersonsRole]

    @extend_schema(
        operation_id="get_record",
        summary="One person's record, as their representative",
        description=(
            "How a representative reads the record of a person whose live grant they hold: the "
            "same body as the `record` of `/api/v1/me/`, narrowed to the granted case for a "
            "one-case grant. Everything read here is recorded in the person's access log as "
            "done on their behalf. An expired, revoked, declined or pending grant, or none, is "
            "answered 404 at once, as a person who does not exist is. (The person may read their "
            "own record here too.)"
        ),
        parameters=[RecordQuery],
        responses={
            200: RecordOut,
            400: BAD_QUERY,
            401: UNAUTHENTICATED,
            403: NO_ROLE,
            404: NO_RECORD,
        },
    )
    def get(self, request: Request, subject_id: int) -> Response:
        page_number = access_page_number(request)
        existing_id(subject_id, NO_SUCH_RECORD)
        with appeal_refusals():
            record = subject_record(scope_for(caller(request), subject_id))
        body, context = record_answer(record, request, page_number)
        record_views(record_shown(record), view="get_record")
        return Response(RecordOut(body, context=context).data)

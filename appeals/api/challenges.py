"""Challenges: the caller's, or their work queue; filing one, as JSON or as a multipart form with
its files; one challenge; each step taken on it; and its attachments, as downloads.

Who may see a challenge is appeals.selectors.challenge_for's to say, and what each step allows is
the service's: this module checks only that the step is one the caller's role takes at all, so
that a person trying to decide their own challenge is told so rather than told it is missing.
"""

import logging
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import Case as Choose
from django.db.models import IntegerField, QuerySet, Value, When
from django.http import FileResponse, QueryDict
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import actor_for, require_role
from appeals import services
from appeals.api.access import (
    PURPOSES,
    HoldsAPersonsRole,
    caller,
    challenge_viewer,
    record_views,
    scope_viewer,
)
from appeals.api.errors import (
    BAD_BODY,
    BAD_QUERY,
    NO_ROLE,
    NOT_JSON,
    UNAUTHENTICATED,
    appeal_refusals,
    existing_id,
    invalid,
    not_found,
)
from appeals.api.serializers import (
    ChallengeIn,
    ChallengeOut,
    ChallengePage,
    ChallengeQuery,
    ChallengeTransitionIn,
    ChallengeUpload,
)
from appeals.attachments import attachment_response
from appeals.errors import AppealNotFound
from appeals.models import OPEN_CHALLENGE_STATUSES, Challenge, ChallengeAttachment
from appeals.selectors import (
    CHALLENGE_RELATED,
    RecordScope,
    challenge_for,
    challenges_in_scope,
    escalation_queue,
    no_such_challenge,
    own_subject,
    represented_subjects,
    scope_for,
    steward_queue,
)
from audit.access import Shown
from audit.actors import Actor, Role
from config.api_errors import ApiError, FieldErrors, InvalidQuery, field_messages
from config.api_pages import one_page
from config.parsers import StrictJSONParser, StrictMultiPartParser, json_object
from tokens.authentication import ApiTokenAuthentication

logger = logging.getLogger(__name__)

# What a multipart form carries beyond its files: the fields, and each part's headers.
FORM_ALLOWANCE = 256 * 1024


def challenge_answer(
    request: Request, challenge: Challenge, *, view: str, status_code: int = status.HTTP_200_OK
) -> Response:
    actor, purpose = challenge_viewer(caller(request), challenge)
    record_views(
        [(actor, purpose, Shown(challenge.subject_id, "appeals.challenge", challenge.pk))],
        view=view,
    )
    context = {"request": request, "now": timezone.now()}
    return Response(ChallengeOut(challenge, context=context).data, status=status_code)


def visible_challenge(user: User, challenge_id: int) -> Challenge:
    existing_id(challenge_id, no_such_challenge(challenge_id))
    with appeal_refusals():
        return challenge_for(user, challenge_id)


# --- the list ------------------------------------------------------------------------------------

Viewer = Callable[[Challenge], tuple[Actor, str]]


def person_scopes(user: User, role: Role) -> list[RecordScope]:
    """The records whose challenges the caller follows: their own, and each person a live grant
    of theirs covers."""
    scopes = []
    if own_subject(user) is not None:
        scopes.append(scope_for(user))
    if role == Role.REPRESENTATIVE:
        scopes += [scope_for(user, subject.pk) for subject in represented_subjects(user)]
    return scopes


def listed_challenges(user: User, role: Role) -> tuple[QuerySet[Challenge], Viewer]:
    """The challenges the caller's list holds, in its order, and as whom they see each."""
    if role == Role.DATA_STEWARD:
        return in_queue_order(steward_queue(user), "decide_due"), staff_viewer(user, role)
    if role == Role.SENIOR_REVIEWER:
        queue = escalation_queue(user)
        return in_queue_order(queue, "escalation_decide_due"), staff_viewer(user, role)
    scopes = {scope.subject.pk: scope for scope in person_scopes(user, role)}
    ids = [challenge.pk for scope in scopes.values() for challenge in challenges_in_scope(scope)]
    challenges = Challenge.objects.filter(pk__in=ids).select_related(*CHALLENGE_RELATED)

    def viewer(challenge: Challenge) -> tuple[Actor, str]:
        return scope_viewer(scopes[challenge.subject_id])

    return challenges.order_by("-filed_at", "-pk"), viewer


def in_queue_order(queue: QuerySet[Challenge], due: str) -> QuerySet[Challenge]:
    """Open challenges first, by the day their decision is due; then the decided ones."""
    open_first = Choose(
        When(status__in=OPEN_CHALLENGE_STATUSES, then=Value(0)),
        default=Value(1),
        output_field=IntegerField(),
    )
    return queue.alias(open_first=open_first).order_by("open_first", due, "pk")


def staff_viewer(user: User, role: Role) -> Viewer:
    seen_as = (actor_for(user), PURPOSES[role])
    return lambda challenge: seen_as


def with_status(challenges: QuerySet[Challenge], wanted: str) -> QuerySet[Challenge]:
    if wanted == "open":
        return challenges.filter(status__in=OPEN_CHALLENGE_STATUSES)
    if wanted == "decided":
        return challenges.exclude(status__in=OPEN_CHALLENGE_STATUSES)
    return challenges


# --- filing --------------------------------------------------------------------------------------


def challenge_body(request: Request) -> tuple[Any, bool]:
    """The body as fields, and whether it came as a multipart form."""
    if request.stream is None:
        raise exceptions.ParseError(
            "The body is empty: send a JSON object, or a multipart form with files."
        )
    data = request.data
    if isinstance(data, QueryDict):
        return data, True
    return json_object(request), False


def stray_files(request: Request) -> dict[str, list[str]]:
    return {
        name: ["Send files only as attachments."]
        for name in sorted(request.FILES)
        if name != "attachments"
    }


EXAMPLE_CHALLENGE = OpenApiExample(
    "Inaccurate",
    value={
        "kind": "inaccurate",
        "evidence": 42,
        "grounds": "I was on annual leave that week: the claim was not made by me.",
        "proposed_correction": "No overtime claimed in that week.",
    },
    request_only=True,
)


class ChallengeListView(APIView):
    authentication_classes = [ApiTokenAuthentication]
    permission_classes = [HoldsAPersonsRole]
    # Multipart is read here and nowhere else: this is the one endpoint that takes files.
    parser_classes = [StrictJSONParser, StrictMultiPartParser]
    # A challenge in JSON is a few fields and at most a few thousand characters of grounds.
    max_body_size = 64 * 1024

    @property
    def max_upload_size(self) -> int:
        """A form with as many files as a challenge may carry, each as large as one may be."""
        files = settings.CHALLENGE_ATTACHMENT_MAX_COUNT * settings.CHALLENGE_ATTACHMENT_MAX_BYTES
        return int(files + FORM_ALLOWANCE)

    @extend_schema(
        operation_id="list_challenges",
        summary="Your challenges, or your queue",
        description=(
            "A data steward: the challenges they may take or decide (never one the conflict "
            "check bars them from), open ones first by the day their decision is due. A senior "
            "reviewer: the escalated challenges, likewise by due day. Anyone else: the "
            "challenges on their own record and on the records their live grants cover, newest "
            "first. `status`: open (the default), decided or all. Paginated."
        ),
        parameters=[ChallengeQuery],
        responses={
            200: ChallengePage,
            400: BAD_QUERY,
            401: UNAUTHENTICATED,
            403: NO_ROLE,
            404: OpenApiResponse(ApiError, "A page number past the last page."),
        },
    )
    def get(self, request: Request) -> Response:
        query = ChallengeQuery(data=request.query_params)
        if not query.is_valid():
            raise InvalidQuery(field_messages(query.errors))
        user = caller(request)
        challenges, viewer = listed_challenges(user, require_role(user))
        challenges = with_status(challenges, query.validated_data.get("status", "open"))
        page, body = one_page(challenges.prefetch_related("attachments"), request, self)
        views = []
        for challenge in page:
            actor, purpose = viewer(challenge)
            views.append(
                (actor, purpose, Shown(challenge.subject_id, "appeals.challenge", challenge.pk))
            )
        record_views(views, view="list_challenges")
        return Response(
            ChallengePage(body, context={"request": request, "now": timezone.now()}).data
        )

    @extend_schema(
        operation_id="file_challenge",
        summary="Challenge a record or a decision",
        description=(
            "Challenge an evidence record on your record (`inaccurate`, with the correction you "
            "say is right; `lacks_context`, with the context; `not_mine`) or a decision on your "
            "case (`decision`). A representative names the person (`subject`) and needs a live "
            "grant covering the record or case. The record is marked disputed and every live "
            "case resting on it is put on hold until the challenge is decided. Send JSON (at "
            "most 64 KiB), or a multipart form with the same fields and the files as "
            "`attachments`: PDF, PNG or JPEG, typed by their content, at most "
            "CHALLENGE_ATTACHMENT_MAX_COUNT (5) of at most CHALLENGE_ATTACHMENT_MAX_BYTES (10 "
            "MiB) each; the whole form may be that many files' worth and 256 KiB more."
        ),
        request={"application/json": ChallengeIn, "multipart/form-data": ChallengeUpload},
        examples=[EXAMPLE_CHALLENGE],
        responses={
            201: ChallengeOut,
            400: OpenApiResponse(
                ApiError,
                "`parse_error`: the body is empty, not JSON, or a multipart form that cannot be "
                "read (no boundary, cut short, too many parts); `invalid_body`: JSON that is not "
                "an object.",
            ),
            401: UNAUTHENTICATED,
            403: NO_ROLE,
            404: not_found(
                "No record, evidence record or decision the caller may challenge (another "
                "person's; a case they have not been told of; no live grant)"
            ),
            409: OpenApiResponse(
                ApiError,
                "`refused`: a challenge to the same record or decision is already open (the "
                "detail names it), or the record has been withdrawn.",
            ),
            413: OpenApiResponse(
                ApiError, "`body_too_large`: over 64 KiB of JSON, or a form over its limit."
            ),
            415: OpenApiResponse(
                ApiError,
                "`unsupported_media_type`: neither JSON nor multipart/form-data, or not UTF-8.",
            ),
            422: invalid(
                "no kind, no record or decision named, grounds missing, over the length limit "
                "or with NUL characters, a representative naming no one, or a refused "
                "attachment (too many, empty, too large, not a PDF, PNG or JPEG, or named for "
                "another type than its content)"
            ),
        },
    )
    def post(self, request: Request) -> Response:
        fields, is_form = challenge_body(request)
        body = ChallengeUpload(data=fields)
        problems = stray_files(request) if is_form else {}
        if not body.is_valid():
            problems = field_messages(body.errors) | problems
        if problems:
            raise FieldErrors(problems)
        data = body.validated_data
        user = caller(request)
        if data.get("subject") is None and own_subject(user) is None:
            raise FieldErrors(
                {
                    "subject": [
                        "Name the person you act for: the subject id of someone your live "
                        "grant covers (GET /api/v1/me/ lists them)."
                    ]
                }
            )
        challenge_request = services.ChallengeRequest(
            kind=data["kind"],
            grounds=data["grounds"],
            evidence=data.get("evidence"),
            decision=data.get("decision"),
            proposed_correction=data["proposed_correction"],
            subject=data.get("subject"),
        )
        with appeal_refusals():
            filed = services.file_challenge(
                challenge_request, actor=actor_for(user), files=data.get("attachments", [])
            )
            challenge = challenge_for(user, filed.pk)
        return challenge_answer(
            request, challenge, view="file_challenge", status_code=status.HTTP_201_CREATED
        )


# --- one challenge -------------------------------------------------------------------------------

NO_SUCH_CHALLENGE = not_found(
    "No such challenge, or one the caller may not see (another person's; for a data steward, "
    "one the conflict check bars them from)"
)


class ChallengeDetailView(APIView):
    authentication_classes = [ApiTokenAuthentication]
    permission_classes = [HoldsAPersonsRole]

    @extend_schema(
        operation_id="get_challenge",
        summary="One challenge",
        description=(
            "The challenge, what it is about, each deadline and whether it was met, its "
            "decision and any escalation, and its attachments with where to download each. "
            "For the person and their representative, a data steward who passes the conflict "
            "check, a senior reviewer once it is escalated, and a reviewer who may see its case."
        ),
        responses={200: ChallengeOut, 401: UNAUTHENTICATED, 403: NO_ROLE, 404: NO_SUCH_CHALLENGE},
    )
    def get(self, request: Request, challenge_id: int) -> Response:
        challenge = visible_challenge(caller(request), challenge_id)
        return challenge_answer(request, challenge, view="get_challenge")


def _check_role_takes(user: User, role: Role, challenge: Challenge, action: str) -> None:
    """403 for a step the caller's role never takes; whether it may be taken now is the
    service's to say."""
    if action in ("acknowledge", "decide") and role != Role.DATA_STEWARD:
        raise PermissionDenied("Only a data steward acknowledges and decides a challenge.")
    if action == "decide_escalation" and role != Role.SENIOR_REVIEWER:
        raise PermissionDenied("Only a senior reviewer decides an escalated challenge.")
    if action == "escalate":
        own = own_subject(user)
        if role != Role.REPRESENTATIVE and (own is None or own.pk != challenge.subject_id):
            raise PermissionDenied(
                "Only the person the challenge is about, or their representative, escalates it."
            )


def _adjudication(data: dict[str, Any]) -> services.Adjudication:
    corrected = data.get("corrected")
    return services.Adjudication(
        finding=data.get("finding") or "",
        reasons=data["reasons"],
        remedy=data["remedy"],
        correction=services.CorrectedContent(**corrected) if corrected else None,
        no_conflict_declared=data["no_conflict_declared"],
    )


def take_step(challenge_id: int, data: dict[str, Any], actor: Actor) -> None:
    action = data["action"]
    if action == "acknowledge":
        services.acknowledge_challenge(
            challenge_id, actor=actor, no_conflict_declared=data["no_conflict_declared"]
        )
    elif action == "decide":
        services.decide_challenge(challenge_id, _adjudication(data), actor=actor)
    elif action == "escalate":
        services.escalate_challenge(challenge_id, actor=actor, grounds=data["grounds"])
    else:
        services.decide_escalation(challenge_id, _adjudication(data), actor=actor)


class ChallengeTransitionView(APIView):
    authentication_classes = [ApiTokenAuthentication]
    permission_classes = [HoldsAPersonsRole]
    # A decision: reasons, and a corrected record's summary and details.
    max_body_size = 256 * 1024

    @extend_schema(
        operation_id="act_on_challenge",
        summary="Take a step on a challenge",
        description=(
            "`acknowledge`: a data steward takes a submitted challenge, declaring no conflict "
            "of interest. `decide`: the steward who took it finds it upheld, partly upheld or "
            "rejected, with reasons of at least CHALLENGE_REASONS_MIN_CHARS (40) characters and "
            "the remedy the finding allows (`corrected`, with the corrected record; "
            "`withdrawn`; `set_aside` for a decision); a correction or withdrawal re-evaluates "
            "every case resting on the record, in the same transaction. `escalate`: the person "
            "or their representative, once, within CHALLENGE_ESCALATION_WINDOW_WORKING_DAYS (10) "
            "working days of a rejection, with grounds. `decide_escalation`: a senior reviewer "
            "who took no part in the case or the challenge; final. The body is a JSON object of "
            "at most 256 KiB."
        ),
        request=ChallengeTransitionIn,
        responses={
            200: ChallengeOut,
            400: BAD_BODY,
            401: UNAUTHENTICATED,
            403: OpenApiResponse(
                ApiError,
                "`no_role`: the caller holds no role, or several; `permission_denied`: a step "
                "the caller's role never takes (a person deciding, a steward escalating), or a "
                "detector's token.",
            ),
            404: NO_SUCH_CHALLENGE,
            409: OpenApiResponse(
                ApiError,
                "`refused`: not possible in the challenge's state (already taken or decided, "
                "taken by another steward, a second escalation, the escalation window over, a "
                "senior reviewer who took part).",
            ),
            413: OpenApiResponse(ApiError, "`body_too_large`: the body is over 256 KiB."),
            415: NOT_JSON,
            422: invalid(
                "no declaration of no conflict, no finding, reasons missing or too short, a "
                "remedy the finding does not allow, a corrected record missing or not "
                "acceptable (`corrected.summary`, `corrected.payload`, `corrected.occurred_at`), "
                "grounds missing or too long"
            ),
        },
    )
    def post(self, request: Request, challenge_id: int) -> Response:
        user = caller(request)
        # A body that cannot be read is refused before anything is looked up.
        body = ChallengeTransitionIn(data=json_object(request))
        challenge = visible_challenge(user, challenge_id)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        _check_role_takes(user, require_role(user), challenge, data["action"])
        with appeal_refusals():
            take_step(challenge.pk, data, actor_for(user))
            challenge = challenge_for(user, challenge.pk)
        return challenge_answer(request, challenge, view="act_on_challenge")


# --- attachments ---------------------------------------------------------------------------------


class DownloadNegotiation(DefaultContentNegotiation):
    """A download is the file whatever the Accept header asks for (a client fetching a PDF may
    well ask for one); a refusal is JSON, as every API error is."""

    def select_renderer(
        self,
        request: Request,
        renderers: Iterable[BaseRenderer],
        format_suffix: str | None = None,
    ) -> tuple[BaseRenderer, str]:
        first = next(iter(renderers))
        return first, str(first.media_type)


def no_such_attachment(challenge_id: int, position: int) -> str:
    return f"There is no attachment {position} of challenge {challenge_id} that you may see."


DOWNLOAD = "The file, as a download (`Content-Disposition: attachment`, `nosniff`)."


class ChallengeAttachmentView(APIView):
    authentication_classes = [ApiTokenAuthentication]
    permission_classes = [HoldsAPersonsRole]
    content_negotiation_class = DownloadNegotiation

    @extend_schema(
        operation_id="get_challenge_attachment",
        summary="Download an attachment",
        description=(
            "Attachment `position` (from 1) of a challenge the caller may see, as a download of "
            "the type its content was checked to be: never shown inline, never sniffed as "
            "another type, never cached. Each download is recorded in the person's access log."
        ),
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, DOWNLOAD),
            (200, "image/png"): OpenApiResponse(OpenApiTypes.BINARY, DOWNLOAD),
            (200, "image/jpeg"): OpenApiResponse(OpenApiTypes.BINARY, DOWNLOAD),
            401: UNAUTHENTICATED,
            403: NO_ROLE,
            404: not_found(
                "No such challenge or attachment, or a challenge the caller may not see"
            ),
        },
    )
    def get(self, request: Request, challenge_id: int, position: int) -> FileResponse:
        words = no_such_attachment(challenge_id, position)
        existing_id(challenge_id, words)
        existing_id(position, words)
        user = caller(request)
        try:
            challenge = challenge_for(user, challenge_id)
        except AppealNotFound as exc:
            raise exceptions.NotFound(words) from exc
        attachment = ChallengeAttachment.objects.filter(
            challenge=challenge, position=position
        ).first()
        if attachment is None:
            raise exceptions.NotFound(words)
        try:
            response = attachment_response(
                attachment.stored_name,
                filename=attachment.name,
                content_type=attachment.content_type,
            )
        except FileNotFoundError as exc:
            logger.error("Attachment %s is missing from storage", attachment.pk, exc_info=True)
            raise exceptions.NotFound(
                f"The file of attachment {position} of challenge {challenge_id} is missing from "
                "storage: ask the administrators."
            ) from exc
        try:
            actor, purpose = challenge_viewer(user, challenge)
            shown = Shown(challenge.subject_id, "appeals.challengeattachment", attachment.pk)
            record_views([(actor, purpose, shown)], view="get_challenge_attachment")
        except BaseException:
            response.close()  # the open file, which Django would close once it was sent
            raise
        return response

"""Grants of representation: the caller's (made by them, or made to them), a new one, and
accepting, declining or revoking one, through appeals.services.representation."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import actor_for
from appeals import services
from appeals.api.access import HoldsAPersonsRole, caller, grants_shown, record_views
from appeals.api.errors import (
    BAD_BODY,
    NO_ROLE,
    NOT_JSON,
    REFUSED,
    TOO_LARGE,
    UNAUTHENTICATED,
    appeal_refusals,
    existing_id,
    invalid,
    not_found,
)
from appeals.api.record import GRANT_RELATED
from appeals.api.serializers import GrantIn, GrantLists, GrantOut, GrantTransitionIn
from appeals.models import Representation
from appeals.selectors import own_subject
from appeals.services.representation import no_such_grant
from config.parsers import json_object
from tokens.authentication import ApiTokenAuthentication


def grant_answer(request: Request, grant_id: int, *, view: str, status_code: int) -> Response:
    grant = Representation.objects.select_related(*GRANT_RELATED).get(pk=grant_id)
    record_views(grants_shown(caller(request), [grant]), view=view)
    return Response(GrantOut(grant).data, status=status_code)


class GrantListView(APIView):
    authentication_classes = [ApiTokenAuthentication]
    permission_classes = [HoldsAPersonsRole]
    # A grant is three short fields.
    max_body_size = 64 * 1024

    @extend_schema(
        operation_id="list_representations",
        summary="Your grants of representation",
        description=(
            "The grants you made about your own record, and the grants made to you as a "
            "representative, newest first, whatever their state."
        ),
        responses={200: GrantLists, 401: UNAUTHENTICATED, 403: NO_ROLE},
    )
    def get(self, request: Request) -> Response:
        user = caller(request)
        own = own_subject(user)
        grants = Representation.objects.select_related(*GRANT_RELATED).order_by(
            "-granted_at", "-pk"
        )
        made = list(grants.filter(subject=own)) if own is not None else []
        received = list(grants.filter(representative=user))
        record_views(grants_shown(user, made + received), view="list_representations")
        return Response(GrantLists({"made": made, "received": received}).data)

    @extend_schema(
        operation_id="grant_representation",
        summary="Appoint a representative",
        description=(
            "Ask a registered representative (by username) to act for you on every case, or on "
            "one, until the end of `expires_on`: at most REPRESENTATION_MAX_DAYS (365) days "
            "away. The grant is pending until they accept; you may revoke it at any time. Only "
            "the person themselves may appoint, for their own record. The body is a JSON object "
            "of at most 64 KiB."
        ),
        request=GrantIn,
        responses={
            201: GrantOut,
            400: BAD_BODY,
            401: UNAUTHENTICATED,
            403: NO_ROLE,
            404: not_found("No record of the caller's own"),
            409: REFUSED,
            413: TOO_LARGE,
            415: NOT_JSON,
            422: invalid(
                "no such representative, a case not yours, an expiry not after today or too far "
                "away"
            ),
        },
    )
    def post(self, request: Request) -> Response:
        body = GrantIn(data=json_object(request))
        body.is_valid(raise_exception=True)
        data = body.validated_data
        with appeal_refusals():
            grant = services.grant_representation(
                actor=actor_for(caller(request)),
                representative=data["representative"],
                case_id=data.get("case"),
                expires_on=data["expires_on"],
            )
        return grant_answer(
            request, grant.pk, view="grant_representation", status_code=status.HTTP_201_CREATED
        )


class GrantTransitionView(APIView):
    authentication_classes = [ApiTokenAuthentication]
    permission_classes = [HoldsAPersonsRole]
    max_body_size = 64 * 1024

    @extend_schema(
        operation_id="act_on_representation",
        summary="Accept, decline or revoke a grant",
        description=(
            "`accept` or `decline`: the representative a pending grant was made to. `revoke`: "
            "the person who made the grant, or the representative it was made to, pending or "
            "accepted; it takes effect at once, for every token already issued. The body is a "
            "JSON object of at most 64 KiB."
        ),
        request=GrantTransitionIn,
        responses={
            200: GrantOut,
            400: BAD_BODY,
            401: UNAUTHENTICATED,
            403: NO_ROLE,
            404: not_found("No such grant, or one the caller neither made nor received"),
            409: REFUSED,
            413: TOO_LARGE,
            415: NOT_JSON,
            422: invalid("no action, or an unknown one"),
        },
    )
    def post(self, request: Request, grant_id: int) -> Response:
        existing_id(grant_id, no_such_grant(grant_id))
        body = GrantTransitionIn(data=json_object(request))
        body.is_valid(raise_exception=True)
        step = STEPS[body.validated_data["action"]]
        with appeal_refusals():
            step(grant_id, actor=actor_for(caller(request)))
        return grant_answer(
            request, grant_id, view="act_on_representation", status_code=status.HTTP_200_OK
        )


STEPS: dict[str, Any] = {
    "accept": services.accept_representation,
    "decline": services.decline_representation,
    "revoke": services.revoke_representation,
}

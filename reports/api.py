"""The reports API: ask for a report, follow its rendering, download it.

    POST /api/v1/reports/              {"kind": ..., "params": {...}}  -> 202, the report
    GET  /api/v1/reports/              the caller's reports, newest first
    GET  /api/v1/reports/{id}/         one of them: status, progress, the file's hash
    GET  /api/v1/reports/{id}/file     the PDF, to someone still allowed to have it

The permission rules are the pages' (reports.access), checked in the services. A report, or a
record, the caller may not have is answered 404, in the words a missing one gets.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.http import FileResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from appeals.api.access import HoldsAPersonsRole, caller
from appeals.api.challenges import DownloadNegotiation
from appeals.api.errors import (
    BAD_BODY,
    NO_ROLE,
    NOT_JSON,
    TOO_LARGE,
    UNAUTHENTICATED,
    Refused,
    existing_id,
    invalid,
    not_found,
)
from config.api_errors import ApiError, FieldErrors
from config.api_pages import one_page, page_serializer
from config.parsers import json_object
from reports import services
from reports.downloads import report_response
from reports.errors import ReportError, ReportForbidden, ReportInvalid, ReportNotFound
from reports.models import Report, ReportKind, ReportStatus
from tokens.authentication import ApiTokenAuthentication

logger = logging.getLogger(__name__)


@contextmanager
def report_refusals() -> Iterator[None]:
    """Answer a reports service's refusal by the one error rule."""
    try:
        yield
    except ReportNotFound as exc:
        raise exceptions.NotFound(str(exc)) from exc
    except ReportForbidden as exc:
        raise exceptions.PermissionDenied(str(exc)) from exc
    except ReportInvalid as exc:
        raise FieldErrors({name: [message] for name, message in exc.problems.items()}) from exc
    except ReportError as exc:
        raise Refused(str(exc)) from exc


class ReportIn(serializers.Serializer[Any]):
    """What to render (documents the body; the services read it strictly)."""

    kind = serializers.ChoiceField(choices=ReportKind.choices)
    params = serializers.DictField(
        help_text=(
            '`disclosure`: `{"subject": id}`; `case_file`: `{"case": id}`; `oversight`: '
            '`{"from": "YYYY-MM-DD", "to": "YYYY-MM-DD"}`.'
        )
    )


class ReportOut(serializers.Serializer[Any]):
    """A report asked for, and how far its rendering has got."""

    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=ReportKind.choices)
    params = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=ReportStatus.choices)
    progress = serializers.IntegerField(help_text="0 to 100.")
    step = serializers.CharField(help_text="What rendering is doing now, in words.")
    requested_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    superseded_at = serializers.DateTimeField(
        allow_null=True,
        help_text="When a correction touched data it was rendered from; it stays downloadable.",
    )
    sha256 = serializers.CharField(
        allow_null=True, help_text="The file's SHA-256, once rendered: the download's too."
    )
    size = serializers.IntegerField(allow_null=True, help_text="The file's size in bytes.")
    snapshot = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()
    status_url = serializers.SerializerMethodField()
    file_url = serializers.SerializerMethodField()

    def get_params(self, report: Report) -> dict[str, Any]:
        return services.params_of(report)

    def get_snapshot(self, report: Report) -> dict[str, Any] | None:
        if report.snapshot_seq is None:
            return None
        return {"seq": report.snapshot_seq, "hash": report.snapshot_hash}

    def get_error(self, report: Report) -> str | None:
        if report.status != ReportStatus.FAILED:
            return None
        return (
            "It could not be rendered; ask for it again, and tell an administrator if it fails "
            "again."
        )

    def get_status_url(self, report: Report) -> str:
        return self.context["request"].build_absolute_uri(
            reverse("api-report-detail", args=[report.pk])
        )

    def get_file_url(self, report: Report) -> str | None:
        if not report.finished:
            return None
        return self.context["request"].build_absolute_uri(
            reverse("api-report-file", args=[report.pk])
        )

    def to_representation(self, instance: Report) -> dict[str, Any]:
        data = super().to_representation(instance)
        if not instance.finished:
            data["sha256"] = data["size"] = None
        return data


ReportPage = page_serializer("ReportPage", ReportOut, counted="Reports you asked for")

NO_SUCH_REPORT = not_found("No such report, or one asked for by someone else")


class ReportListView(APIView):
    authentication_classes = [ApiTokenAuthentication]
    permission_classes = [HoldsAPersonsRole]
    # Two short fields.
    max_body_size = 64 * 1024

    @extend_schema(
        operation_id="list_reports",
        summary="Your reports",
        description="The reports you asked for, and those asked for on your behalf, newest first.",
        responses={200: ReportPage, 401: UNAUTHENTICATED, 403: NO_ROLE},
    )
    def get(self, request: Request) -> Response:
        user = caller(request)
        _page, body = one_page(services.reports_visible_to(user), request, self)
        return Response(ReportPage(body, context={"request": request}).data)

    @extend_schema(
        operation_id="request_report",
        summary="Ask for a report",
        description=(
            "A disclosure pack of a person's record (the person, their representative under a "
            "live grant, or a reviewer who may see one of their cases), a case file (a reviewer "
            "who may see the case), or an oversight report for a period (the oversight role). "
            "Answered 202 at once: the report renders in the background; follow `status_url`. "
            "A record or case you may not have is answered 404, as a missing one is."
        ),
        request=ReportIn,
        responses={
            202: ReportOut,
            400: BAD_BODY,
            401: UNAUTHENTICATED,
            403: OpenApiResponse(
                ApiError,
                "`no_role`; or `permission_denied`: your role may not have this kind of report.",
            ),
            404: not_found("No such record or case, or one you may not have a report of"),
            409: OpenApiResponse(
                ApiError, "`refused`: you have as many reports waiting as you may have at once."
            ),
            413: TOO_LARGE,
            415: NOT_JSON,
            422: invalid("the kind or its parameters are not valid"),
        },
        examples=[
            OpenApiExample(
                "An oversight report",
                value={"kind": "oversight", "params": {"from": "2026-01-01", "to": "2026-06-30"}},
                request_only=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        body = json_object(request)
        unknown = sorted(set(body) - {"kind", "params"})
        if unknown:
            raise FieldErrors({name: ["This field is not accepted."] for name in unknown})
        with report_refusals():
            report = services.request_report(
                body.get("kind"), body.get("params"), user=caller(request)
            )
        report.refresh_from_db()
        return Response(
            ReportOut(report, context={"request": request}).data,
            status=status.HTTP_202_ACCEPTED,
        )


class ReportDetailView(APIView):
    authentication_classes = [ApiTokenAuthentication]
    permission_classes = [HoldsAPersonsRole]

    @extend_schema(
        operation_id="get_report",
        summary="One report",
        description="Its status, its progress while it renders, and its file's hash once done.",
        responses={200: ReportOut, 401: UNAUTHENTICATED, 403: NO_ROLE, 404: NO_SUCH_REPORT},
    )
    def get(self, request: Request, report_id: int) -> Response:
        existing_id(report_id, services.no_such_report(report_id))
        with report_refusals():
            report = services.report_for(report_id, caller(request))
        return Response(ReportOut(report, context={"request": request}).data)


class ReportFileView(APIView):
    authentication_classes = [ApiTokenAuthentication]
    permission_classes = [HoldsAPersonsRole]
    content_negotiation_class = DownloadNegotiation

    @extend_schema(
        operation_id="get_report_file",
        summary="Download a report",
        description=(
            "The PDF, as a download, to the person who asked for it (or on whose behalf it was "
            "asked for) while they may still have it: a grant that has ended, or a case the "
            "conflict check now bars, stops the download as it would stop the page. "
            "`Repr-Digest` (RFC 9530) and `X-Report-SHA256` carry the file's SHA-256, as the "
            "report's own record and its audit event do. Each download is audited, and a "
            "download of a person's data is written to their access log."
        ),
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, "The PDF."),
            401: UNAUTHENTICATED,
            403: NO_ROLE,
            404: NO_SUCH_REPORT,
            409: OpenApiResponse(ApiError, "`refused`: the report is not ready (or failed)."),
        },
    )
    def get(self, request: Request, report_id: int) -> FileResponse:
        existing_id(report_id, services.no_such_report(report_id))
        with report_refusals():
            report, edition = services.open_report(report_id, caller(request), channel="api")
        return report_response(report, edition)

"""The reports pages: a person's reports and the forms to ask for those their role allows; one
report, with its progress while it renders; and the download.

A report the viewer may not have (someone else's) is answered exactly as one that does not exist.
"""

from datetime import timedelta
from typing import Any

import rules
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.roles import require_role
from appeals.selectors import own_subject, represented_subjects
from casework.selectors import case_for_review
from reports import services
from reports.downloads import report_response
from reports.errors import ReportError, ReportInvalid, ReportNotFound
from reports.forms import FORM_FIELDS, AskForm, PeriodForm
from reports.models import Report, ReportKind
from reports.oversight import oversight_context

PAGE_SIZE = 25


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _may_use(request: HttpRequest) -> None:
    require_role(request.user)
    if not rules.has_perm("reports.use_reports", request.user):
        raise PermissionDenied("There are no reports for your role.")


@require_GET
@login_required
def reports_page(request: HttpRequest) -> HttpResponse:
    _may_use(request)
    return _page(request, AskForm())


@require_POST
@login_required
def ask(request: HttpRequest) -> HttpResponse:
    """Ask for a report; the page again with the problems beside their fields if it is
    refused."""
    _may_use(request)
    user = _user(request)
    form = AskForm(request.POST)
    if not form.is_valid():
        return _page(request, form, status=400)
    kind = form.cleaned_data["kind"]
    params = form.params()
    try:
        params = _fill_in(kind, params, form, user)
        report = services.request_report(kind, params, user=user)
    except ReportInvalid as exc:
        for name, message in exc.problems.items():
            form.add_error(FORM_FIELDS.get(name, "kind"), message)
        return _page(request, form, status=422)
    except ReportError as exc:
        form.add_error(None, str(exc))
        return _page(request, form, status=exc.status_code)
    messages.success(
        request, f"Report {report.pk} is being prepared. This page shows how far it has got."
    )
    return redirect("report-page", report_id=report.pk)


def _fill_in(kind: str, params: dict[str, Any], form: AskForm, user: User) -> dict[str, Any]:
    """What the page leaves implicit: the person's own record, and the person a reviewer's case
    is about."""
    if kind == ReportKind.OVERSIGHT:
        missing = {
            f"params.{name}": f"Give the {label} day of the period."
            for name, label in (("from", "first"), ("to", "last"))
            if params[name] is None
        }
        if missing:
            raise ReportInvalid(missing)
        return params
    case_id = form.cleaned_data.get("case")
    if kind == ReportKind.CASE_FILE or form.cleaned_data.get("subject") is not None:
        if kind == ReportKind.CASE_FILE and case_id is None:
            raise ReportInvalid({"params.case": "Give the case number."})
        return params
    if case_id is not None:
        # A reviewer's disclosure pack of the person a case they may see is about.
        try:
            return {"subject": case_for_review(case_id, user).subject_id}
        except Http404 as exc:
            raise ReportInvalid({"params.case": str(exc)}) from exc
    own = own_subject(user)
    if own is None:
        raise ReportInvalid({"params.subject": "Choose whose record the pack is of."})
    return {"subject": own.pk}


def _page(request: HttpRequest, form: AskForm, *, status: int = 200) -> HttpResponse:
    user = _user(request)
    paginator = Paginator(services.reports_visible_to(user), PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    return render(
        request,
        "reports/reports.html",
        {
            "form": form,
            "page_obj": page,
            "reports": list(page.object_list),
            "querystring_without_page": "",
            "own": own_subject(user),
            "represented": (
                represented_subjects(user)
                if rules.has_perm("reports.ask_for_represented", user)
                else []
            ),
            "may_ask_for_case": rules.has_perm("reports.ask_for_case", user),
            "may_ask_oversight": rules.has_perm("reports.ask_oversight", user),
        },
        status=status,
    )


def _report(request: HttpRequest, report_id: int) -> Report:
    _may_use(request)
    try:
        return services.report_for(report_id, _user(request))
    except ReportNotFound as exc:
        raise Http404(str(exc)) from exc


@require_GET
@login_required
def report_page(request: HttpRequest, report_id: int) -> HttpResponse:
    report = _report(request, report_id)
    return render(
        request,
        "reports/report.html",
        {"report": report, "params": services.params_of(report)},
    )


@require_GET
@login_required
def report_progress(request: HttpRequest, report_id: int) -> JsonResponse:
    """How far the report has got, for the page's script: no one's data, only its state."""
    report = _report(request, report_id)
    response = JsonResponse(
        {
            "status": report.status,
            "status_label": report.get_status_display(),
            "progress": report.progress,
            "step": report.step,
            "finished": report.finished,
        }
    )
    response["Cache-Control"] = "no-store"
    return response


@require_http_methods(["GET"])
@login_required
def report_file(request: HttpRequest, report_id: int) -> FileResponse | HttpResponse:
    _may_use(request)
    try:
        report, edition = services.open_report(report_id, _user(request), channel="page")
    except ReportNotFound as exc:
        raise Http404(str(exc)) from exc
    except ReportError as exc:
        messages.error(request, str(exc))
        return redirect("report-page", report_id=report_id)
    return report_response(report, edition)


@require_GET
@login_required
def oversight_dashboard(request: HttpRequest) -> HttpResponse:
    """The oversight figures of a period, as the oversight report gives them, for the oversight
    role: by default the twelve months to today."""
    require_role(request.user)
    if not rules.has_perm("reports.ask_oversight", request.user):
        raise PermissionDenied("The oversight dashboard is for the oversight role.")
    form = PeriodForm(request.GET or None)
    today = timezone.localdate()
    first, last = today - timedelta(days=364), today
    status = 200
    if request.GET:
        if form.is_valid():
            first, last = form.cleaned_data["start"], form.cleaned_data["end"]
        else:
            status = 400
    context: dict[str, Any] = {"form": form, "first": first, "last": last}
    if status == 200:
        context.update(oversight_context(first, last))
    return render(request, "reports/oversight.html", context, status=status)

"""The reviewer pages: the work queue, a case, and the actions on it.

Views parse input, call one selector or service, and render. Every page that shows a person's
data writes an AccessEvent for each person shown.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import rules
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts.roles import actor_for, require_role
from audit.access import Shown, record_access
from audit.actors import Role
from casework import selectors
from casework.conflicts import conflict_for_request
from casework.forms import ActionForm, QueueFilterForm, ReferralResultForm
from casework.history import versions_with_changes
from casework.models import (
    Case,
    CaseReevaluation,
    CaseStatus,
    Consequence,
    Decision,
    DecisionKind,
    Outcome,
    ReferralResultKind,
)
from casework.panels import case_panels
from casework.services import (
    act_on_case,
    next_steps,
    record_case_views,
    record_referral_result,
)
from casework.workflow import Action, CaseActionError, ConflictOfInterest, InvalidDecision
from flags.models import Category, EvidenceContext, Flag

PAGE_SIZE = 25


def _reviewer_only(request: HttpRequest) -> None:
    """By the role held, never by superuser status (``user.has_perm`` grants a superuser
    everything): a person with no role, or several, is told so."""
    require_role(request.user)
    if not rules.has_perm("casework.view_queue", request.user):
        raise PermissionDenied(
            "Only reviewers and senior reviewers can see the work queue and the cases in it. If "
            "your work needs it, ask an administrator to change your role."
        )


@require_GET
@login_required
def queue(request: HttpRequest) -> HttpResponse:
    _reviewer_only(request)
    form = QueueFilterForm(request.GET)
    filters = form.filters()
    cases = selectors.work_queue(request.user, filters)  # type: ignore[arg-type]
    page = Paginator(cases, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    categories = selectors.categories_of(case.pk for case in rows)
    record_case_views(rows, actor=actor_for(request.user), channel="page", view="case-queue")
    query = request.GET.copy()
    query.pop("page", None)
    now = timezone.now()
    return render(
        request,
        "casework/queue.html",
        {
            "form": form,
            "page_obj": page,
            "rows": [
                {
                    "case": case,
                    "categories": [Category(c).label for c in categories.get(case.pk, [])],
                    "days_waiting": case.days_waiting(now),
                    "overdue": case.status in selectors.LIVE_STATUSES
                    and case.due_on < timezone.localdate(),
                }
                for case in rows
            ],
            "counts": _count_rows(selectors.status_counts(request.user)),  # type: ignore[arg-type]
            "querystring_without_page": query.urlencode(),
            "unlinked": _unlinked(request.user),
        },
    )


def _unlinked(user: Any) -> bool:
    """Whether to tell a reviewer their account is not linked to their record in the register.

    Nothing else is said about why a queue is empty: a reviewer barred by a live case of their
    own sees exactly what a reviewer with nothing to review sees, since the case's notice to them
    may have been deferred.
    """
    return selectors.conflicted_subject_ids(user) is None and not selectors.has_own_record(user)


def _count_rows(counts: dict[str, int]) -> list[dict[str, Any]]:
    return [
        {"status": status, "label": CaseStatus(status).label, "count": counts[status]}
        for status in CaseStatus.values
    ]


@login_required
def case_page(request: HttpRequest, case_id: int) -> HttpResponse:
    """GET shows the case; the action forms post to ``case_action``."""
    _reviewer_only(request)
    case = selectors.case_for_review(case_id, request.user)  # type: ignore[arg-type]
    return _render_case(request, case)


@require_POST
@login_required
def case_action(request: HttpRequest, case_id: int) -> HttpResponse:
    actor = actor_for(request.user)
    return _post_to_case(
        request,
        case_id,
        ActionForm(request.POST),
        "form",
        lambda case, form: act_on_case(case.pk, form.as_request(), actor=actor),
        done_message,
    )


@require_POST
@login_required
def referral_result(request: HttpRequest, case_id: int) -> HttpResponse:
    """A senior reviewer records what the investigating body concluded about a referred case."""
    actor = actor_for(request.user)
    return _post_to_case(
        request,
        case_id,
        ReferralResultForm(request.POST),
        "result_form",
        lambda case, form: record_referral_result(case.pk, form.as_request(), actor=actor),
        lambda row: (
            f"You recorded the referral's result: {row.get_result_display().lower()}, "
            f"concluded on {row.concluded_on:%-d %B %Y}."
        ),
    )


def _post_to_case(
    request: HttpRequest,
    case_id: int,
    form: Any,
    form_name: str,
    perform: Callable[[Case, Any], Any],
    done: Callable[[Any], str],
) -> HttpResponse:
    """A form posted about a case: checked, carried out by the service, and answered with the
    case page again, the problems beside their fields, or a redirect to it with ``done``."""
    _reviewer_only(request)
    case = selectors.case_for_review(case_id, request.user)  # type: ignore[arg-type]
    if not form.is_valid():
        return _render_case(request, case, **{form_name: form}, status=400)
    try:
        result = perform(case, form)
    except ConflictOfInterest as exc:
        # Barred since the page was shown: answered as a case that does not exist, like any
        # case the viewer may not see.
        raise Http404(selectors.no_such_case(case_id)) from exc
    except InvalidDecision as exc:
        for field, message in exc.problems.items():
            form.add_error(field or None, message)
        return _render_case(request, case, **{form_name: form}, status=exc.status_code)
    except CaseActionError as exc:
        form.add_error(None, str(exc))
        refreshed = selectors.case_for_review(case_id, request.user)  # type: ignore[arg-type]
        return _render_case(request, refreshed, **{form_name: form}, status=exc.status_code)
    messages.success(request, done(result))
    return redirect("case-page", case_id=case.pk)


_DONE = {
    DecisionKind.TRIAGE: "You started the review.",
    DecisionKind.RECOMMENDATION: "You recommended this outcome: {outcome}.",
    DecisionKind.SIGN_OFF: "You signed off this outcome: {outcome}.",
    DecisionKind.SECOND_SIGNATURE: "You gave the referral its second signature.",
    DecisionKind.RETURN_FOR_CORRECTION: "You returned the case for correction.",
    DecisionKind.NOTIFICATION_DEFERRAL: (
        "You deferred telling the person this case is about: they will be told no later than "
        "{deferred_until}."
    ),
    DecisionKind.HOLD: "You put the case on hold.",
    DecisionKind.RELEASE: "You released the case from hold.",
    DecisionKind.WITHDRAWAL: "You withdrew the case.",
    DecisionKind.ASSIGNMENT: "You assigned the case to {assignee}.",
    # Taken only by upholding a challenge, on the adjudication page, which says what followed.
    DecisionKind.SET_ASIDE: "You set the decision aside.",
}


def done_message(decision: Decision) -> str:
    """What the person just did, in plain words, and where that leaves the case."""
    done = _DONE[DecisionKind(decision.kind)].format(
        outcome=Outcome(decision.outcome).label.lower() if decision.outcome else "",
        deferred_until=f"{decision.deferred_until:%-d %B %Y}" if decision.deferred_until else "",
        assignee=decision.assigned_to.get_username() if decision.assigned_to else "",
    )
    if decision.status_after == decision.status_before:
        if decision.kind == DecisionKind.SIGN_OFF:  # the first of a referral's two signatures
            return f"{done} A second senior reviewer must sign it before the case is referred."
        return done
    return f"{done} The case is now {CaseStatus(decision.status_after).label.lower()}."


def _render_case(
    request: HttpRequest,
    case: Case,
    form: ActionForm | None = None,
    status: int = 200,
    result_form: ReferralResultForm | None = None,
) -> HttpResponse:
    actor = actor_for(request.user)
    links = selectors.flags_of_case(case)
    decisions = selectors.decisions_of_case(case)
    notices = selectors.notifications_of_case(case)
    context_accounts = selectors.context_accounts_of_case(case)
    reevaluations = selectors.reevaluations_of_case(case)
    results = selectors.referral_results_of(case, decisions)
    result = results.current
    conflict = conflict_for_request(actor.user, case.subject)
    steps = next_steps(case, actor, conflict)
    may_record_result = any(
        step.action == Action.RECORD_REFERRAL_RESULT and step.available for step in steps
    )
    if result_form is None and may_record_result:
        result_form = ReferralResultForm()
    panels = case_panels(case, actor.user)
    # One entry in the access log for the case and whatever the panels show of the person.
    record_access(
        [
            Shown(case.subject_id, "casework.case", case.pk),
            *(item for panel in panels for item in panel.shown),
        ],
        actor=actor,
        channel="page",
        view="case-page",
        purpose="case review",
    )
    failed_action = form.data.get("action") if form is not None else None
    return render(
        request,
        "casework/case.html",
        {
            "case": case,
            "links": links,
            "trace_categories": trace_categories(case.trace),
            "reevaluations": [
                {"row": row, "categories": trace_categories(row.trace)} for row in reevaluations
            ],
            "context_accounts": context_accounts,
            "panels": panels,
            "steps": steps,
            "forms": [
                _ActionFormView(
                    step.action,
                    form if form is not None and step.action == failed_action else ActionForm(),
                )
                for step in steps
                if step.available and step.action != Action.RECORD_REFERRAL_RESULT
            ],
            "failed_form": form,
            "referral_result": result,
            "referral_result_role": _role_words(result.role) if result else "",
            "earlier_referral_results": [(row, _role_words(row.role)) for row in results.earlier],
            "result_form": result_form,
            "result_kinds": ReferralResultKind.choices,
            "timeline": _timeline(
                case, decisions, notices, context_accounts, reevaluations, results
            ),
            "case_history": versions_with_changes(case.history.select_related("history_user")),
            "flag_history": versions_with_changes(
                Flag.history.filter(id__in=[link.flag_id for link in links]).select_related(
                    "history_user"
                ),
                by="id",
            ),
            "days_waiting": case.days_waiting(timezone.now()),
            "notice": next((n for n in notices if n.kind == "case_opened"), None),
            "deferral_max_days": settings.NOTIFICATION_DEFERRAL_MAX_DAYS,
            "outcomes": Outcome.choices,
            "conflict": conflict,
            "reviewers": (
                selectors.reviewer_usernames()
                if any(step.action == Action.ASSIGN and step.available for step in steps)
                else []
            ),
            "recommendation": next(
                (d for d in reversed(decisions) if d.kind == DecisionKind.RECOMMENDATION), None
            ),
        },
        status=status,
    )


@dataclass
class _ActionFormView:
    """An action's form on the case page: empty, or as posted when it was refused."""

    action: Action
    form: ActionForm


def trace_categories(trace: Any) -> list[dict[str, Any]]:
    """A threshold trace's categories, each with its label: the opening trace and every trace of
    a later evaluation read alike."""
    categories = trace.get("categories", []) if isinstance(trace, dict) else []
    labels = dict(Category.choices)
    return [
        {**item, "label": labels.get(item.get("category", ""), item.get("category", ""))}
        for item in categories
        if isinstance(item, dict)
    ]


@dataclass
class _Event:
    at: datetime
    title: str
    who: str
    role: str
    detail: str
    outcome: str = ""


def _timeline(
    case: Case,
    decisions: list[Decision],
    notices: list[Any],
    context_accounts: dict[int, list[EvidenceContext]],
    reevaluations: list[CaseReevaluation],
    results: selectors.ReferralResults | None = None,
) -> list[_Event]:
    events = [
        _Event(
            case.opened_at,
            "Case opened",
            "Scrutiny",
            "system",
            case.trace.get("summary", "") if isinstance(case.trace, dict) else "",
        )
    ]
    by_id = {decision.pk: decision for decision in decisions}
    for decision in decisions:
        events.append(
            _Event(
                decision.made_at,
                DecisionKind(decision.kind).label,
                decision.made_by.get_username(),
                decision.role.replace("_", " "),
                decision.rationale,
                _decided(decision, by_id),
            )
        )
    for notice in notices:
        if notice.sent_at is not None:
            events.append(
                _Event(
                    notice.sent_at,
                    "Subject notified",
                    "Scrutiny",
                    "system",
                    notice.get_kind_display(),
                )
            )
    for accounts in context_accounts.values():
        events.extend(_context_event(context) for context in accounts)
    events.extend(_reevaluation_event(row) for row in reevaluations)
    if results is not None:
        for result in [*results.earlier, *([results.current] if results.current else [])]:
            settled = f"{result.get_result_display()}, concluded on {result.concluded_on:%-d %B %Y}"
            if result is not results.current:
                settled = f"{settled}; referral {result.referral_id} no longer stands"
            events.append(
                _Event(
                    result.recorded_at,
                    "Referral result recorded",
                    result.recorded_by.get_username(),
                    _role_words(result.role),
                    result.reasons,
                    settled,
                )
            )
    return sorted(events, key=lambda event: event.at)


def _role_words(role: str) -> str:
    return str(dict(Role.choices).get(role, role.replace("_", " "))).lower()


def _decided(decision: Decision, by_id: dict[int, Decision]) -> str:
    """What a decision settled, in words: its outcome, whom the case went to, or the decision it
    set aside."""
    if decision.sets_aside_id is not None:
        return f"decision {decision.sets_aside_id}{_which(by_id.get(decision.sets_aside_id))}"
    if decision.assigned_to is not None:
        return f"to {decision.assigned_to.get_username()}"
    return str(Outcome(decision.outcome).label) if decision.outcome else ""


def _which(decision: Decision | None) -> str:
    if decision is None:
        return ""
    what = DecisionKind(decision.kind).label.lower()
    if decision.outcome:
        what = f"{what}, {Outcome(decision.outcome).label.lower()}"
    made_on = timezone.localtime(decision.made_at)
    return f" ({what}, by {decision.made_by.get_username()} on {made_on:%-d %B %Y})"


def _context_event(context: EvidenceContext) -> _Event:
    record = context.evidence
    return _Event(
        context.given_at,
        "Context given by the subject",
        context.given_by.get_username(),
        "representative, for the subject" if context.on_behalf_of_id else "subject",
        context.account,
        f"about {record.source_system} {record.get_record_type_display().lower()} "
        f"{record.record_id} ({context.given_with})",
    )


def _reevaluation_event(row: CaseReevaluation) -> _Event:
    summary = row.trace.get("summary", "") if isinstance(row.trace, dict) else ""
    return _Event(
        row.evaluated_at,
        "Evaluated again",
        "Scrutiny",
        "system",
        f"{row.cause}. {summary}".strip(),
        str(Consequence(row.consequence).label),
    )


@require_GET
@login_required
def my_notices(request: HttpRequest) -> HttpResponse:
    """The notices sent to the signed-in person about cases concerning them (in-app
    notification); anyone may have them, reviewers included, since reviewers are staff too."""
    require_role(request.user)
    notices = selectors.notices_for(request.user)  # type: ignore[arg-type]
    if notices:
        record_access(
            [Shown(n.subject_id, "casework.notification", n.pk) for n in notices],
            actor=actor_for(request.user),
            channel="page",
            view="my-notices",
            purpose="own record",
        )
    return render(request, "casework/notices.html", {"notices": notices})

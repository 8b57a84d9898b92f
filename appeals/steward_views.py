"""The pages of those who decide challenges: the data steward's queue, the senior reviewer's
queue of escalations, and one challenge with everything needed to decide it well.

A challenge the viewer may not see (the conflict check, or a senior reviewer asking about one
never escalated) is answered exactly as one that does not exist. Every page that shows a person's
challenge writes an access event for each person shown.
"""

from dataclasses import dataclass
from typing import Any

import rules
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts.roles import actor_for, require_role, role_of
from appeals import services
from appeals.consequences import audit_head, what_followed
from appeals.errors import AppealInvalid, AppealNotFound, AppealRefused
from appeals.milestones import (
    deadlines_of,
    decided_in_time,
    escalation_decided_in_time,
    is_overdue,
    next_due,
)
from appeals.models import Challenge, ChallengeAttachment, ChallengeStatus
from appeals.selectors import (
    challenge_for,
    escalation_queue,
    no_such_challenge,
    own_subject,
    steward_queue,
)
from appeals.services.challenges import adjudication_problems
from appeals.steward_forms import (
    AdjudicationForm,
    Show,
    Step,
    StewardQueueForm,
    local_input,
    pretty_payload,
    remedies_by_finding,
)
from audit.access import Shown, record_access
from audit.actors import Role
from casework.conflicts import conflict_for_request
from casework.history import versions_with_changes
from casework.models import Decision
from flags.models import EvidenceContext, EvidenceRecord, Flag, stands_for

PAGE_SIZE = 25
RECENTLY_DECIDED = 10
PURPOSE = "challenge adjudication"
STEWARD_QUEUE_STATUSES = (ChallengeStatus.SUBMITTED, ChallengeStatus.ACKNOWLEDGED)


def _steward_only(request: HttpRequest) -> None:
    """By the role held, never by superuser status; a person with no role, or several, is told
    so."""
    require_role(request.user)
    if not rules.has_perm("appeals.adjudicate", request.user):
        raise PermissionDenied(
            "Only data stewards take and decide challenges to the data. A senior reviewer decides "
            "escalated challenges, on the escalations page. If your work needs it, ask an "
            "administrator to change your role."
        )


def _senior_only(request: HttpRequest) -> None:
    require_role(request.user)
    if not rules.has_perm("appeals.decide_escalations", request.user):
        raise PermissionDenied(
            "Only senior reviewers decide escalated challenges. If your work needs it, ask an "
            "administrator to change your role."
        )


def _adjudicators_only(request: HttpRequest) -> None:
    require_role(request.user)
    if not (
        rules.has_perm("appeals.adjudicate", request.user)
        or rules.has_perm("appeals.decide_escalations", request.user)
    ):
        raise PermissionDenied(
            "Only data stewards, and senior reviewers for escalated challenges, decide "
            "challenges. If your work needs it, ask an administrator to change your role."
        )


def _unlinked(user: Any) -> bool:
    """Whether to tell the viewer their account is not linked to their own record, which the
    conflict check needs. Nothing else is said about an empty queue (see casework's queue)."""
    return own_subject(user) is None


def _show(challenges: list[Challenge], *, request: HttpRequest, view: str) -> None:
    record_access(
        [Shown(item.subject_id, "appeals.challenge", item.pk) for item in challenges],
        actor=actor_for(request.user),
        channel="page",
        view=view,
        purpose=PURPOSE,
    )


def _querystring_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


# ---------------------------------------------------------------------------------------------
# The queues.


@dataclass(frozen=True)
class _Row:
    challenge: Challenge
    due: tuple[str, Any] | None
    overdue: bool
    taken_by: str
    in_time: bool | None
    escalation_in_time: bool | None
    took_part: bool = False


def _row(challenge: Challenge, user: Any, *, took_part: bool = False) -> _Row:
    adjudicator = challenge.adjudicator
    taken_by = ""
    if adjudicator is not None:
        taken_by = "you" if adjudicator.pk == user.pk else adjudicator.get_username()
    return _Row(
        challenge=challenge,
        due=next_due(challenge),
        overdue=is_overdue(challenge),
        taken_by=taken_by,
        in_time=decided_in_time(challenge),
        escalation_in_time=escalation_decided_in_time(challenge),
        took_part=took_part,
    )


def _by_next_due(challenges: models.QuerySet[Challenge]) -> models.QuerySet[Challenge]:
    """Open ones first, by the date the next step is due (taking it while submitted, deciding it
    once taken); then the rest, most recently decided first."""
    return challenges.annotate(
        waiting=models.Case(
            models.When(status__in=STEWARD_QUEUE_STATUSES, then=models.Value(0)),
            default=models.Value(1),
        ),
        next_due=models.Case(
            models.When(status=ChallengeStatus.SUBMITTED, then=models.F("acknowledge_due")),
            models.When(status=ChallengeStatus.ACKNOWLEDGED, then=models.F("decide_due")),
            default=models.Value(None, output_field=models.DateField()),
        ),
    ).order_by("waiting", "next_due", "-decided_at", "filed_at", "pk")


@require_GET
@login_required
def adjudication_queue(request: HttpRequest) -> HttpResponse:
    """The data steward's queue: open challenges by the date the next step is due, overdue ones
    marked; the challenges recently decided beside them."""
    _steward_only(request)
    form = StewardQueueForm(request.GET)
    show = form.show_value()
    challenges = steward_queue(request.user)  # type: ignore[arg-type]
    if form.only_mine():
        challenges = challenges.filter(adjudicator_id=request.user.pk)
    if show == Show.OPEN:
        listed = _by_next_due(challenges.filter(status__in=STEWARD_QUEUE_STATUSES))
    elif show == Show.DECIDED:
        listed = challenges.filter(decided_at__isnull=False).order_by("-decided_at", "-pk")
    else:
        listed = _by_next_due(challenges)
    page = Paginator(listed, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    recent: list[Challenge] = []
    if show == Show.OPEN:
        recent = list(
            challenges.filter(decided_at__isnull=False).order_by("-decided_at", "-pk")[
                :RECENTLY_DECIDED
            ]
        )
    _show(rows + recent, request=request, view="challenge-queue")
    return render(
        request,
        "appeals/steward/queue.html",
        {
            "form": form,
            "show": show,
            "page_obj": page,
            "rows": [_row(challenge, request.user) for challenge in rows],
            "recent": [_row(challenge, request.user) for challenge in recent],
            "querystring_without_page": _querystring_without_page(request),
            "unlinked": _unlinked(request.user),
        },
    )


@require_GET
@login_required
def escalations_queue(request: HttpRequest) -> HttpResponse:
    """The senior reviewer's queue: escalated challenges open first, by the date their decision
    is due, each marked where the viewer took part and so may not decide it; those decided below.
    """
    _senior_only(request)
    escalated = escalation_queue(request.user)  # type: ignore[arg-type]
    waiting = escalated.filter(status=ChallengeStatus.ESCALATED).order_by(
        "escalation_decide_due", "escalated_at", "pk"
    )
    page = Paginator(waiting, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    decided = list(
        escalated.filter(escalation_decided_at__isnull=False)
        .select_related("escalation_taken_by")
        .order_by("-escalation_decided_at", "-pk")[:PAGE_SIZE]
    )
    took_part = took_part_in(request.user, rows)  # type: ignore[arg-type]
    _show(rows + decided, request=request, view="escalation-queue")
    return render(
        request,
        "appeals/steward/escalations.html",
        {
            "page_obj": page,
            "rows": [
                _row(challenge, request.user, took_part=challenge.pk in took_part)
                for challenge in rows
            ],
            "decided": [_row(challenge, request.user) for challenge in decided],
            "querystring_without_page": _querystring_without_page(request),
            "unlinked": _unlinked(request.user),
        },
    )


def took_part_in(user: User, challenges: list[Challenge]) -> set[int]:
    """Which of ``challenges`` ``user`` took part in (``appeals.services.took_part``, for a page
    of them in one query): filed it, decided it, or made a decision on its case."""
    case_ids = {challenge.case_id for challenge in challenges if challenge.case_id is not None}
    decided_on = set(
        Decision.objects.filter(case_id__in=case_ids, made_by=user)
        .order_by()
        .values_list("case_id", flat=True)
        .distinct()
    )
    return {
        challenge.pk
        for challenge in challenges
        if user.pk in (challenge.filed_by_id, challenge.adjudicator_id)
        or challenge.case_id in decided_on
    }


# ---------------------------------------------------------------------------------------------
# One challenge.


def _challenge_or_404(user: User, challenge_id: int) -> Challenge:
    """The challenge, for a data steward who passes the conflict check for the person it is
    about, or a senior reviewer who does, once it was escalated; Http404, in the words of a
    missing one, for anyone else. Not the person's own view: a steward whose own challenge it
    is fails the check."""
    try:
        challenge = challenge_for(user, challenge_id)
    except AppealNotFound as exc:
        raise Http404(str(exc)) from exc
    role = role_of(user)
    escalated_for_senior = role == Role.SENIOR_REVIEWER and challenge.escalated_at is not None
    if not (
        conflict_for_request(user, challenge.subject).passes
        and (role == Role.DATA_STEWARD or escalated_for_senior)
    ):
        raise Http404(no_such_challenge(challenge_id))
    return challenge


@require_GET
@login_required
def adjudication_page(request: HttpRequest, challenge_id: int) -> HttpResponse:
    _adjudicators_only(request)
    challenge = _challenge_or_404(request.user, challenge_id)  # type: ignore[arg-type]
    return _render(request, challenge)


@require_POST
@login_required
def adjudication_action(request: HttpRequest, challenge_id: int) -> HttpResponse:
    """Take (acknowledge) a challenge, decide it, or decide its escalation, as ``action`` says:
    one service call; the service's refusal shown beside the form."""
    _adjudicators_only(request)
    challenge = _challenge_or_404(request.user, challenge_id)  # type: ignore[arg-type]
    form = AdjudicationForm(request.POST, kind=challenge.kind)
    if not form.is_valid():
        if "action" in form.errors:
            return _render(request, challenge, form=form, status=400)
        _add_the_rules_problems(challenge, form)
        return _render(request, challenge, form=form, status=422)
    before = audit_head()
    try:
        done = _act(challenge.pk, form, request)
    except AppealNotFound as exc:
        raise Http404(str(exc)) from exc
    except AppealInvalid as exc:
        for field, message in exc.problems.items():
            form.add_error(field if field in form.fields else None, message)
        return _render(request, challenge, form=form, status=exc.status_code)
    except AppealRefused as exc:
        fresh = _challenge_or_404(request.user, challenge_id)  # type: ignore[arg-type]
        return _render(request, fresh, refusal=str(exc), status=exc.status_code)
    if form.cleaned_data["action"] == Step.ACKNOWLEDGE:
        messages.success(
            request,
            f"You took challenge {done.pk}. Decide it by {done.decide_due:%-d %B %Y}.",
        )
    else:
        messages.success(request, what_followed(done, since=before))
    return redirect("adjudication-page", challenge_id=done.pk)


def _add_the_rules_problems(challenge: Challenge, form: AdjudicationForm) -> None:
    """Beside a form's own errors (details that are not JSON, a date that is not one), what the
    decision's rules find wrong with the rest of it, so that every problem is shown at once."""
    if form.cleaned_data.get("action") == Step.ACKNOWLEDGE:
        return
    problems = adjudication_problems(challenge, form.adjudication())
    for field, message in problems.items():
        if field in form.fields and field not in form.errors:
            form.add_error(field, message)


def _act(challenge_id: int, form: AdjudicationForm, request: HttpRequest) -> Challenge:
    actor = actor_for(request.user)
    action = form.cleaned_data["action"]
    if action == Step.ACKNOWLEDGE:
        return services.acknowledge_challenge(
            challenge_id,
            actor=actor,
            no_conflict_declared=bool(form.cleaned_data.get("no_conflict_declared")),
        )
    if action == Step.DECIDE:
        return services.decide_challenge(challenge_id, form.adjudication(), actor=actor)
    return services.decide_escalation(challenge_id, form.adjudication(), actor=actor)


def _render(
    request: HttpRequest,
    challenge: Challenge,
    *,
    form: AdjudicationForm | None = None,
    refusal: str = "",
    status: int = 200,
) -> HttpResponse:
    user: Any = request.user
    challenge = (
        Challenge.objects.select_related(
            "subject",
            "evidence",
            "decision",
            "decision__made_by",
            "case",
            "filed_by",
            "on_behalf_of",
            "adjudicator",
            "escalated_by",
            "escalation_taken_by",
        )
        .filter(pk=challenge.pk)
        .get()
    )
    step = _step_offered(challenge, user)
    _show([challenge], request=request, view="adjudication-page")
    return render(
        request,
        "appeals/steward/challenge.html",
        {
            "challenge": challenge,
            "attachments": list(
                ChallengeAttachment.objects.filter(challenge=challenge).order_by("position")
            ),
            "deadlines": deadlines_of(challenge),
            "escalation_window_open": challenge.escalation_due is not None
            and challenge.escalated_at is None
            and timezone.localdate() <= challenge.escalation_due,
            **_evidence_context(challenge),
            **_decision_context(challenge),
            "earlier": _earlier_challenges(challenge),
            "step": step,
            "form": form,
            "step_form": _step_form(challenge, step, form),
            "remedies_by_finding": remedies_by_finding(challenge.kind),
            "refusal": refusal,
            "took_part": step == "" and _senior_took_part(challenge, user),
            "may_open_case": rules.has_perm("casework.view_queue", user),
        },
        status=status,
    )


def _step_offered(challenge: Challenge, user: Any) -> str:
    """The one step the viewer may take on the challenge now, or "" for none."""
    role = role_of(user)
    if role == Role.DATA_STEWARD:
        if challenge.status == ChallengeStatus.SUBMITTED:
            return Step.ACKNOWLEDGE
        if challenge.status == ChallengeStatus.ACKNOWLEDGED and challenge.adjudicator_id == user.pk:
            return Step.DECIDE
        return ""
    if (
        role == Role.SENIOR_REVIEWER
        and challenge.status == ChallengeStatus.ESCALATED
        and not services.took_part(user, challenge)
    ):
        return Step.DECIDE_ESCALATION
    return ""


def _senior_took_part(challenge: Challenge, user: Any) -> bool:
    return (
        role_of(user) == Role.SENIOR_REVIEWER
        and challenge.status == ChallengeStatus.ESCALATED
        and services.took_part(user, challenge)
    )


def _step_form(
    challenge: Challenge, step: str, failed: AdjudicationForm | None
) -> AdjudicationForm | None:
    """The form for the step on offer: as posted when it was refused, else filled with the
    record's current content for a correction to start from."""
    if not step:
        return None
    if failed is not None and failed.data.get("action") == step:
        return failed
    initial: dict[str, Any] = {"action": step}
    record = challenge.evidence
    if record is not None:
        initial |= {
            "corrected_summary": record.summary,
            "corrected_payload": pretty_payload(record.payload),
            "corrected_occurred_at": local_input(record.occurred_at),
        }
    return AdjudicationForm(initial=initial, kind=challenge.kind)


def _evidence_context(challenge: Challenge) -> dict[str, Any]:
    """The challenged record: its content and status now, every version with who, when, why and
    what changed, the person's flags resting on it (never another person's: only how many), and
    the person's accounts of its context."""
    record = challenge.evidence
    if record is None:
        return {"record": None}
    flags = list(
        Flag.objects.filter(subject_id=challenge.subject_id, evidence=record)
        .select_related("detector")
        .order_by("received_at", "pk")
    )
    return {
        "record": record,
        "record_versions": versions_with_changes(
            EvidenceRecord.history.filter(id=record.pk).select_related("history_user")
        ),
        "flags": [
            {
                "flag": flag,
                "stands": stands_for(record.status, record.corrected_at, flag.received_at),
            }
            for flag in flags
        ],
        "other_flags": Flag.objects.filter(evidence=record)
        .exclude(subject_id=challenge.subject_id)
        .count(),
        "context_accounts": list(
            EvidenceContext.objects.filter(evidence=record, subject_id=challenge.subject_id)
            .select_related("given_by", "on_behalf_of")
            .order_by("given_at", "pk")
        ),
    }


def _decision_context(challenge: Challenge) -> dict[str, Any]:
    """The challenged decision, and every decision on its case, oldest first."""
    decision = challenge.decision
    if decision is None:
        return {"decision": None}
    return {
        "decision": decision,
        "case_decisions": list(
            Decision.objects.filter(case_id=decision.case_id)
            .select_related("made_by")
            .order_by("made_at", "pk")
        ),
    }


def _earlier_challenges(challenge: Challenge) -> list[Challenge]:
    """The person's other challenges to the same record or decision: what was said and found
    before."""
    same = (
        models.Q(evidence_id=challenge.evidence_id)
        if challenge.evidence_id is not None
        else models.Q(decision_id=challenge.decision_id)
    )
    return list(
        Challenge.objects.filter(same, subject_id=challenge.subject_id)
        .exclude(pk=challenge.pk)
        .order_by("-filed_at", "-pk")
    )

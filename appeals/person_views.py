"""The pages of the person a record is about, and of the representative they chose: the record
itself, the grants, the challenges, and the downloads of their attachments.

Views parse input, call one selector or service, and render. Every GET that shows a person's
data records it in the access log, as the scope's actor: a representative's view is recorded as
on the person's behalf. A refused POST writes nothing, an access event included, and shows the
form again with the reason. Whatever the viewer may not see is answered as what does not exist:
404, in the same words.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBase, QueryDict
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts.roles import actor_for, require_role
from appeals import selectors, services
from appeals.attachments import attachment_response, size_in_words
from appeals.deadlines import deadline_met
from appeals.errors import AppealError, AppealInvalid, AppealNotFound, AppealRefused
from appeals.forms import ALL_CASES, AppointForm, ChallengeForm, EscalateForm
from appeals.models import (
    DATA_CHALLENGES,
    OPEN_GRANT_STATUSES,
    AppealNotice,
    Challenge,
    ChallengeAttachment,
    ChallengeKind,
    ChallengeStatus,
    Representation,
    RepresentationStatus,
)
from appeals.selectors import RecordScope
from appeals.services.representation import no_such_grant
from audit.access import Shown, record_access
from audit.actors import Actor, Role
from audit.models import AccessEvent
from casework.models import (
    CHALLENGEABLE_DECISIONS,
    Case,
    CaseStatus,
    Decision,
    DecisionKind,
    Outcome,
    ReferralResult,
)
from casework.selectors import split_referral_results
from flags.models import Category, EvidenceRecord, EvidenceStatus, Flag

# The largest id a database key holds: a larger one in a URL names nothing, and is answered as
# a missing one rather than overflowing a query.
MAX_ID = 2**63 - 1

NO_LINKED_RECORD = (
    "Your account is not linked to your own record in the workforce register, so there is no "
    "record of yours to show. If you are a member of the force's workforce, ask an administrator "
    "to link your account to your record."
)
NOT_A_REPRESENTATIVE = (
    "Only representatives can see the people they act for. If your work needs it, ask an "
    "administrator to change your role. To let a representative see your own record, appoint one "
    "from your record's page."
)

# The pages and API routes of the access log, in words; a route not named here is shown as its
# name.
VIEW_WORDS = {
    "case-page": "a reviewer's page of your case",
    "case-queue": "the reviewers' work queue",
    "my-notices": "your notices",
    "my-record": "your record page",
    "my-representatives": "your representatives page",
    "represented-record": "your record page, opened by your representative",
    "file-challenge": "the form to file a challenge",
    "my-challenge": "the page of one of your challenges",
    "challenge-attachment": "a download of a challenge's attachment",
    "representing": "your representative's list of the people they act for",
    "list_cases": "the case API (a list of cases)",
    "get_case": "the case API (one case)",
    "act_on_case": "the case API (an action on a case)",
}

PURPOSE_BY_ROLE = {
    Role.DATA_STEWARD: "challenge adjudication",
    Role.SENIOR_REVIEWER: "case review",
    Role.REVIEWER: "case review",
}


# ---------------------------------------------------------------------------------------------
# Refusals.


def answers_not_found(
    view: Callable[..., HttpResponseBase],
) -> Callable[..., HttpResponseBase]:
    """Answer AppealNotFound with the 404 page and its words: the same for what does not exist
    and what the viewer may not see."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            return view(request, *args, **kwargs)
        except AppealNotFound as exc:
            return not_found(request, str(exc))

    return wrapped


def not_found(request: HttpRequest, message: str) -> HttpResponse:
    return render(
        request,
        "appeals/person/not_found.html",
        {"message": message},
        status=AppealNotFound.status_code,
    )


def checked_id(value: int, message: str) -> int:
    """``value`` if a database key can hold it; AppealNotFound(``message``) otherwise."""
    if not 0 < value <= MAX_ID:
        raise AppealNotFound(message)
    return value


def query_id(query: QueryDict, name: str, message: str) -> int | None:
    """The positive id in the query parameter ``name``, None if absent; AppealNotFound with
    ``message`` if it names nothing that could exist."""
    raw = query.get(name)
    if raw in (None, ""):
        return None
    if not raw.isdigit() or len(raw) > 19:
        raise AppealNotFound(message)
    return checked_id(int(raw), message)


def representative_only(request: HttpRequest) -> Role:
    """By the role held: a person with no role, or several, is told so; anyone else who is not a
    representative is told these pages are for representatives."""
    role = require_role(request.user)
    if role != Role.REPRESENTATIVE:
        raise PermissionDenied(NOT_A_REPRESENTATIVE)
    return role


def purpose_of(scope: RecordScope) -> str:
    return "own record" if scope.is_own else "representation"


# ---------------------------------------------------------------------------------------------
# The record: /me/ and /representing/<subject_id>/.


@require_GET
@login_required
@answers_not_found
def my_record(request: HttpRequest) -> HttpResponse:
    """The signed-in person's own record, everything of it they may see."""
    require_role(request.user)
    if selectors.own_subject(request.user) is None:  # type: ignore[arg-type]
        raise AppealNotFound(NO_LINKED_RECORD)
    scope = selectors.scope_for(request.user)  # type: ignore[arg-type]
    return record_page(request, scope, view="my-record")


@require_GET
@login_required
@answers_not_found
def represented_record(request: HttpRequest, subject_id: int) -> HttpResponse:
    """A person's record as their representative sees it under the live grants they hold now:
    a grant that expired or was revoked a moment ago shows nothing."""
    representative_only(request)
    checked_id(subject_id, selectors.NO_SUCH_RECORD)
    scope = selectors.scope_for(request.user, subject_id)  # type: ignore[arg-type]
    return record_page(request, scope, view="represented-record")


def record_page(request: HttpRequest, scope: RecordScope, *, view: str) -> HttpResponse:
    record = selectors.subject_record(scope)
    page = Paginator(record.access_log, selectors.ACCESS_LOG_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    # Read before this view is recorded: the page shows who had looked until now.
    context = record_context(scope, record, list(page.object_list), now=timezone.now())
    record_access(
        [Shown(scope.subject.pk, "flags.subject", scope.subject.pk)],
        actor=scope.actor,
        channel="page",
        view=view,
        purpose=purpose_of(scope),
    )
    return render(
        request,
        "appeals/person/record.html",
        {**context, "page_obj": page, "querystring_without_page": ""},
    )


def record_context(
    scope: RecordScope, record: selectors.SubjectRecord, views: list[AccessEvent], *, now: datetime
) -> dict[str, Any]:
    """What the record page shows of ``record``, with ``views`` of its access log: the page and
    the person's disclosure pack (reports) show the same."""
    open_challenges = [challenge for challenge in record.challenges if challenge.is_open]
    usernames = usernames_of(
        [event.on_behalf_of_user_id for event in views]
        + [d.on_behalf_of_id for case in record.cases for d in case.decisions.all()]
        + [challenge.on_behalf_of_id for challenge in record.challenges]
    )
    return {
        "scope": scope,
        "subject": scope.subject,
        "banner": acting_banner(scope),
        "flags": [flag_view(flag, scope, open_challenges) for flag in record.flags],
        "cases": [case_view(case, open_challenges, usernames) for case in record.cases],
        "challenges": [challenge_summary(c, now) for c in record.challenges],
        "grants": [grant_view(grant, now) for grant in record.grants],
        # The viewer's own notices about this person: never those about anyone else they act for.
        "appeal_notices": list(
            AppealNotice.objects.filter(recipient=scope.actor.user, subject=scope.subject)
        ),
        "views": [access_row(event, usernames) for event in views],
        "subject_query": "" if scope.is_own else f"&subject={scope.subject.pk}",
    }


def usernames_of(user_ids: Iterable[int | None]) -> dict[int, str]:
    """The usernames of ``user_ids``, in one query: the people others acted for."""
    wanted = {pk for pk in user_ids if pk is not None}
    if not wanted:
        return {}
    return dict(get_user_model().objects.filter(pk__in=wanted).values_list("pk", "username"))


def last_day(expires_at: datetime) -> date:
    """The last day a grant covers: it ends at the start of the day after (local time)."""
    return timezone.localtime(expires_at - timedelta(microseconds=1)).date()


@dataclass(frozen=True)
class Banner:
    name: str
    staff_number: str
    grants: list[tuple[int, str, date]]


def acting_banner(scope: RecordScope) -> Banner | None:
    """Who a representative acts for, and under which grants, until when: on every page of
    theirs that shows the person's record."""
    if scope.is_own:
        return None
    return Banner(
        name=scope.subject.name,
        staff_number=scope.subject.staff_number,
        grants=[
            (grant.pk, grant_scope_words(grant.case_id), last_day(grant.expires_at))
            for grant in sorted(scope.grants, key=lambda grant: grant.pk)
        ],
    )


def grant_scope_words(case_id: int | None) -> str:
    return "all cases" if case_id is None else f"case {case_id}"


@dataclass(frozen=True)
class EvidenceView:
    record: EvidenceRecord
    open_challenge: Challenge | None
    may_challenge: bool


@dataclass(frozen=True)
class FlagView:
    flag: Flag
    category: str
    case_ids: list[int]
    evidence: list[EvidenceView]


def flag_view(flag: Flag, scope: RecordScope, open_challenges: list[Challenge]) -> FlagView:
    by_record = {c.evidence_id: c for c in open_challenges if c.evidence_id is not None}
    evidence = []
    for item in flag.flagevidence_set.all():
        record = item.evidence
        challenge = by_record.get(record.pk)
        evidence.append(
            EvidenceView(
                record=record,
                open_challenge=challenge,
                # A disputed record is under a challenge, perhaps another person's on a shared
                # record: the service would refuse a second, so none is offered.
                may_challenge=challenge is None
                and record.status not in (EvidenceStatus.WITHDRAWN, EvidenceStatus.DISPUTED),
            )
        )
    return FlagView(
        flag=flag,
        category=str(Category(flag.category).label),
        case_ids=sorted(
            link.case_id for link in flag.case_links.all() if link.case_id in scope.case_ids
        ),
        evidence=evidence,
    )


@dataclass(frozen=True)
class DecisionView:
    decision: Decision
    title: str
    outcome: str
    role: str
    on_behalf_of: str
    set_aside_by: int | None
    open_challenge: Challenge | None
    may_challenge: bool


@dataclass(frozen=True)
class CaseView:
    case: Case
    categories: list[dict[str, Any]]
    decisions: list[DecisionView]
    reevaluations: list[Any]
    notices: list[Any]
    # For a referred case, once recorded: what the investigating body concluded about the
    # referral that stands.
    referral_result: ReferralResult | None = None
    referral_result_role: str = ""
    # Results of referrals that no longer stand, oldest first, each with its recorder's role in
    # words: history, not the case's result.
    earlier_referral_results: list[tuple[ReferralResult, str]] = field(default_factory=list)


def case_view(case: Case, open_challenges: list[Challenge], usernames: dict[int, str]) -> CaseView:
    decisions = list(case.decisions.all())
    set_aside_by = {d.sets_aside_id: d.pk for d in decisions if d.sets_aside_id is not None}
    by_decision = {c.decision_id: c for c in open_challenges if c.decision_id is not None}
    # Read with the case (appeals.selectors.cases_in_scope): no query.
    results = split_referral_results(decisions, case.referral_results.all())
    result = results.current
    return CaseView(
        case=case,
        categories=trace_categories(case.trace),
        decisions=[
            decision_view(d, case, set_aside_by.get(d.pk), by_decision.get(d.pk), usernames)
            for d in decisions
        ],
        reevaluations=list(case.reevaluations.all()),
        notices=list(case.notifications.all()),
        referral_result=result,
        referral_result_role=role_words(result.role) if result else "",
        earlier_referral_results=[(row, role_words(row.role)) for row in results.earlier],
    )


def decision_view(
    decision: Decision,
    case: Case,
    set_aside_by: int | None,
    open_challenge: Challenge | None,
    usernames: dict[int, str],
) -> DecisionView:
    # The rules of selectors.challengeable_decision, on what the page has already read.
    may_challenge = (
        decision.kind in CHALLENGEABLE_DECISIONS
        and case.status != CaseStatus.WITHDRAWN
        and set_aside_by is None
        and open_challenge is None
    )
    title = str(DecisionKind(decision.kind).label)
    if decision.sets_aside_id is not None:
        title = f"{title}: decision {decision.sets_aside_id} no longer stands"
    return DecisionView(
        decision=decision,
        title=title,
        outcome=decided(decision),
        role=role_words(decision.role),
        on_behalf_of=usernames.get(decision.on_behalf_of_id or 0, ""),
        set_aside_by=set_aside_by,
        open_challenge=open_challenge,
        may_challenge=may_challenge,
    )


def decided(decision: Decision) -> str:
    if decision.assigned_to_id is not None:
        return "assigned to a reviewer"
    if decision.deferred_until is not None:
        return f"you were to be told by {decision.deferred_until:%-d %B %Y} at the latest"
    return str(Outcome(decision.outcome).label) if decision.outcome else ""


def role_words(role: str) -> str:
    return str(dict(Role.choices).get(role, role.replace("_", " "))).lower()


def trace_categories(trace: Any) -> list[dict[str, Any]]:
    """Each category the threshold looked at, with its explanation in words."""
    categories = trace.get("categories", []) if isinstance(trace, dict) else []
    labels = dict(Category.choices)
    return [
        {
            "label": labels.get(item.get("category", ""), item.get("category", "")),
            "met": bool(item.get("met")),
            "explanation": item.get("explanation", ""),
        }
        for item in categories
        if isinstance(item, dict)
    ]


@dataclass(frozen=True)
class Deadline:
    label: str
    due: date
    state: str
    met: bool | None


def deadlines_of(challenge: Challenge, now: datetime) -> list[Deadline]:
    """Each deadline the challenge runs to, and whether it was met: the data steward's to
    acknowledge and to decide, the person's to escalate, the senior reviewer's to decide."""
    rows = [
        steward_deadline(
            "Acknowledge by", challenge.acknowledge_due, challenge.acknowledged_at, now
        ),
        steward_deadline("Decide by", challenge.decide_due, challenge.decided_at, now),
    ]
    if challenge.escalation_due is not None:
        rows.append(escalation_window(challenge, challenge.escalation_due, now))
    if challenge.escalation_decide_due is not None:
        rows.append(
            steward_deadline(
                "Escalation decided by",
                challenge.escalation_decide_due,
                challenge.escalation_decided_at,
                now,
            )
        )
    return rows


def steward_deadline(label: str, due: date, done_at: datetime | None, now: datetime) -> Deadline:
    met = deadline_met(due, done_at, now)
    done = f"{timezone.localdate(done_at):%-d %B %Y}" if done_at is not None else ""
    # The tag beside it says "Met" or "Missed"; the words say what happened.
    if met is True:
        state = f"done on {done}"
    elif met is False and done_at is not None:
        state = f"done on {done}, after it was due"
    elif met is False:
        state = "not done yet, and overdue"
    else:
        state = "not done yet, and not yet due"
    return Deadline(label, due, state, met)


def escalation_window(challenge: Challenge, due: date, now: datetime) -> Deadline:
    met = deadline_met(due, challenge.escalated_at, now)
    if challenge.escalated_at is not None:
        state = f"escalated on {timezone.localdate(challenge.escalated_at):%-d %B %Y}"
    elif met is None:
        state = "not escalated: you may still escalate it"
    else:
        state = "not escalated: the time to escalate has passed"
    return Deadline("Escalate by", due, state, met)


@dataclass(frozen=True)
class ChallengeSummary:
    challenge: Challenge
    target: str
    deadlines: list[Deadline]


def challenge_summary(challenge: Challenge, now: datetime) -> ChallengeSummary:
    return ChallengeSummary(
        challenge=challenge, target=target_words(challenge), deadlines=deadlines_of(challenge, now)
    )


def target_words(challenge: Challenge) -> str:
    if challenge.evidence is not None:
        record = challenge.evidence
        return (
            f"{record.source_system} {record.get_record_type_display().lower()} record "
            f"{record.record_id}"
        )
    if challenge.decision is not None:
        kind = DecisionKind(challenge.decision.kind).label.lower()
        return f"the {kind} of {challenge.decision.made_at:%-d %B %Y} on case {challenge.case_id}"
    return ""


@dataclass(frozen=True)
class GrantView:
    grant: Representation
    scope: str
    state: str
    last_day: date
    is_open: bool


def grant_view(grant: Representation, now: datetime) -> GrantView:
    is_open = grant.status in OPEN_GRANT_STATUSES and grant.expires_at > now
    state = str(RepresentationStatus(grant.status).label)
    if grant.status in OPEN_GRANT_STATUSES and not is_open:
        # Expired the moment its date passed, whether or not the sweep has recorded it yet.
        state = str(RepresentationStatus.EXPIRED.label)
    return GrantView(
        grant=grant,
        scope=grant_scope_words(grant.case_id),
        state=state,
        last_day=last_day(grant.expires_at),
        is_open=is_open,
    )


@dataclass(frozen=True)
class AccessRow:
    event: AccessEvent
    role: str
    on_behalf_of: str
    through: str


def access_row(event: AccessEvent, usernames: dict[int, str]) -> AccessRow:
    channel = {"api": " (through the API)", "download": ""}.get(event.channel, "")
    return AccessRow(
        event=event,
        role=role_words(event.role),
        on_behalf_of=usernames.get(event.on_behalf_of_user_id or 0, ""),
        through=VIEW_WORDS.get(event.view, event.view) + channel,
    )


# ---------------------------------------------------------------------------------------------
# Representatives, as the person appoints and revokes them: /me/representatives/.


@login_required
@answers_not_found
def my_representatives(request: HttpRequest) -> HttpResponse:
    """GET: the person's grants and the form to appoint a representative. POST: appoint one."""
    require_role(request.user)
    if selectors.own_subject(request.user) is None:  # type: ignore[arg-type]
        raise AppealNotFound(NO_LINKED_RECORD)
    scope = selectors.scope_for(request.user)  # type: ignore[arg-type]
    if request.method == "POST":
        return appoint(request, scope)
    if request.method != "GET":
        return HttpResponse(status=405, headers={"Allow": "GET, POST"})
    record_access(
        [Shown(scope.subject.pk, "flags.subject", scope.subject.pk)],
        actor=scope.actor,
        channel="page",
        view="my-representatives",
        purpose="own record",
    )
    return representatives_page(request, scope, AppointForm())


def appoint(request: HttpRequest, scope: RecordScope) -> HttpResponse:
    form = AppointForm(request.POST)
    if not form.is_valid():
        return representatives_page(request, scope, form, status=400)
    try:
        grant = services.grant_representation(
            actor=actor_for(request.user),
            representative=form.cleaned_data["representative"].strip(),
            case_id=form.cleaned_data["case"],
            expires_on=form.cleaned_data["expires_on"],
        )
    except AppealError as exc:
        show_refusal(form, exc)
        return representatives_page(request, scope, form, status=exc.status_code)
    messages.success(
        request,
        f"You asked {grant.representative.get_username()} to act for you on "
        f"{grant_scope_words(grant.case_id).replace('all cases', 'all your cases')}, until "
        f"{last_day(grant.expires_at):%-d %B %Y} (grant {grant.pk}). They see nothing of your "
        "record until they accept.",
    )
    return redirect("my-representatives")


def show_refusal(form: Any, exc: AppealError) -> None:
    """The service's refusal on the form: each problem beside its field, the rest above all."""
    if isinstance(exc, AppealInvalid):
        for name, message in exc.problems.items():
            form.add_error(name if name in form.fields else None, message)
    else:
        form.add_error(None, str(exc))


def representatives_page(
    request: HttpRequest,
    scope: RecordScope,
    form: AppointForm,
    *,
    refusal: str = "",
    status: int = 200,
) -> HttpResponse:
    now = timezone.now()
    cases = list(
        Case.objects.filter(pk__in=scope.case_ids)
        .only("pk", "opened_at", "status")
        .order_by("-opened_at", "-pk")
    )
    return render(
        request,
        "appeals/person/representatives.html",
        {
            "subject": scope.subject,
            "grants": [grant_view(grant, now) for grant in selectors.grants_of(scope.subject)],
            "form": form,
            "refusal": refusal,
            "representatives": selectors.representative_usernames(),
            "cases": cases,
            "all_cases": ALL_CASES,
            "chosen_case": form["case"].value() or ALL_CASES,
            "max_days": settings.REPRESENTATION_MAX_DAYS,
            "latest": timezone.localdate(now) + timedelta(days=settings.REPRESENTATION_MAX_DAYS),
            "example": timezone.localdate(now) + timedelta(days=90),
        },
        status=status,
    )


# ---------------------------------------------------------------------------------------------
# The representative's own page: /representing/.


@require_GET
@login_required
def representing(request: HttpRequest) -> HttpResponse:
    """The grants made to a representative (pending, live, ended) and their notices."""
    representative_only(request)
    return representing_page(request, record=True)


def representing_page(
    request: HttpRequest, *, record: bool, refusal: str = "", status: int = 200
) -> HttpResponse:
    user = request.user
    now = timezone.now()
    grants = list(
        Representation.objects.filter(representative=user)  # type: ignore[misc]
        .select_related("subject", "case", "ended_by")
        .order_by("-granted_at", "-pk")
    )
    open_now = [grant for grant in grants if grant_view(grant, now).is_open]
    pending = [g for g in open_now if g.status == RepresentationStatus.PENDING]
    live = [g for g in open_now if g.status == RepresentationStatus.ACTIVE]
    ended = [grant for grant in grants if grant not in open_now]
    if record and grants:
        record_access(
            [Shown(grant.subject_id, "appeals.representation", grant.pk) for grant in grants],
            actor=actor_for(user),
            channel="page",
            view="representing",
            purpose="representation",
        )
    return render(
        request,
        "appeals/person/representing.html",
        {
            "pending": [grant_view(grant, now) for grant in pending],
            "live": [grant_view(grant, now) for grant in live],
            "ended": [grant_view(grant, now) for grant in ended],
            "appeal_notices": list(
                AppealNotice.objects.filter(recipient=user).select_related("subject")  # type: ignore[misc]
            ),
            "refusal": refusal,
        },
        status=status,
    )


# ---------------------------------------------------------------------------------------------
# A grant's steps: accept, decline (the representative), revoke (either party).


@require_POST
@login_required
@answers_not_found
def accept_grant(request: HttpRequest, grant_id: int) -> HttpResponse:
    return grant_step(request, grant_id, services.accept_representation)


@require_POST
@login_required
@answers_not_found
def decline_grant(request: HttpRequest, grant_id: int) -> HttpResponse:
    return grant_step(request, grant_id, services.decline_representation)


@require_POST
@login_required
@answers_not_found
def revoke_grant(request: HttpRequest, grant_id: int) -> HttpResponse:
    return grant_step(request, grant_id, services.revoke_representation)


def grant_step(
    request: HttpRequest, grant_id: int, step: Callable[..., Representation]
) -> HttpResponse:
    role = require_role(request.user)
    checked_id(grant_id, no_such_grant(grant_id))
    is_representative = role == Role.REPRESENTATIVE
    try:
        grant = step(grant_id, actor=actor_for(request.user))
    except AppealRefused as exc:
        if is_representative:
            return representing_page(
                request, record=False, refusal=str(exc), status=exc.status_code
            )
        scope = selectors.scope_for(request.user)  # type: ignore[arg-type]
        return representatives_page(
            request, scope, AppointForm(), refusal=str(exc), status=exc.status_code
        )
    messages.success(request, step_done(grant, by_representative=is_representative))
    return redirect("representing" if is_representative else "my-representatives")


def step_done(grant: Representation, *, by_representative: bool) -> str:
    until = f"{last_day(grant.expires_at):%-d %B %Y}"
    person = f"{grant.subject.name} ({grant.subject.staff_number})"
    if grant.status == RepresentationStatus.ACTIVE:
        return (
            f"You accepted grant {grant.pk}: you can see {person}'s record "
            f"({grant_scope_words(grant.case_id)}) until the end of {until}. Everything you do "
            "there is recorded as on their behalf."
        )
    if grant.status == RepresentationStatus.DECLINED:
        return f"You declined grant {grant.pk}. {grant.subject.name} has been told."
    if by_representative:
        return f"You ended grant {grant.pk}: you no longer act for {person}. They have been told."
    return (
        f"You revoked grant {grant.pk}: {grant.representative.get_username()} can no longer see "
        "your record or act for you, from now. They have been told."
    )


# ---------------------------------------------------------------------------------------------
# Filing a challenge: /challenges/new/?evidence=ID or ?decision=ID (&subject=ID).


@dataclass(frozen=True)
class Target:
    """What is challenged, as the query string names it."""

    evidence: int | None
    decision: int | None
    subject: int | None
    message: str = field(default="")

    @classmethod
    def from_query(cls, query: QueryDict) -> "Target":
        evidence_words = "There is no evidence record {} that you may challenge."
        decision_words = "There is no decision {} that you may challenge."
        raw_evidence, raw_decision = query.get("evidence"), query.get("decision")
        if raw_evidence and not raw_decision:
            message = evidence_words.format(raw_evidence[:40])
        elif raw_decision and not raw_evidence:
            message = decision_words.format(raw_decision[:40])
        else:
            raise AppealNotFound(
                "Choose the record or the decision you challenge from your record's page."
            )
        return cls(
            evidence=query_id(query, "evidence", message),
            decision=query_id(query, "decision", message),
            subject=query_id(query, "subject", message),
            message=message,
        )

    @property
    def on_decision(self) -> bool:
        return self.decision is not None


@login_required
@answers_not_found
def file_challenge(request: HttpRequest) -> HttpResponse:
    """GET: the form, beside the record or decision challenged. POST: file it."""
    require_role(request.user)
    target = Target.from_query(request.GET)
    try:
        scope = selectors.scope_for(request.user, target.subject)  # type: ignore[arg-type]
        shown = challenged(scope, target)
    except AppealNotFound as exc:
        # One answer for a record that does not exist, another person's, and one on a grant
        # that has ended.
        raise AppealNotFound(target.message) from exc
    if request.method == "POST":
        return file_it(request, scope, target, shown)
    if request.method != "GET":
        return HttpResponse(status=405, headers={"Allow": "GET, POST"})
    record_access(
        [Shown(scope.subject.pk, shown_type(shown), shown.pk)],
        actor=scope.actor,
        channel="page",
        view="file-challenge",
        purpose=purpose_of(scope),
    )
    return challenge_form_page(
        request, scope, target, shown, ChallengeForm(on_decision=target.on_decision)
    )


# The largest body the form takes: every file at its largest, and room for the text fields and
# the multipart framing. BodyLimitMiddleware reads it before anything reads the body.
def challenge_body_limit() -> int:
    return int(
        settings.CHALLENGE_ATTACHMENT_MAX_COUNT * settings.CHALLENGE_ATTACHMENT_MAX_BYTES
        + 256 * 1024
    )


file_challenge.max_body_size = challenge_body_limit  # type: ignore[attr-defined]


def challenged(scope: RecordScope, target: Target) -> EvidenceRecord | Decision:
    if target.evidence is not None:
        return selectors.challengeable_evidence(scope, target.evidence)
    assert target.decision is not None  # noqa: S101 - Target.from_query requires one
    decision = selectors.challengeable_decision(scope, target.decision)
    return Decision.objects.select_related("made_by").get(pk=decision.pk)


def shown_type(shown: EvidenceRecord | Decision) -> str:
    return "flags.evidencerecord" if isinstance(shown, EvidenceRecord) else "casework.decision"


def file_it(
    request: HttpRequest, scope: RecordScope, target: Target, shown: EvidenceRecord | Decision
) -> HttpResponse:
    form = ChallengeForm(request.POST, on_decision=target.on_decision)
    if not form.is_valid():  # pragma: no cover - every field takes any text
        return challenge_form_page(request, scope, target, shown, form, status=400)
    data = form.cleaned_data
    try:
        challenge = services.file_challenge(
            services.ChallengeRequest(
                kind=data["kind"],
                grounds=data["grounds"],
                evidence=target.evidence,
                decision=target.decision,
                proposed_correction=data["proposed_correction"],
                subject=target.subject,
            ),
            actor=actor_for(request.user),
            files=request.FILES.getlist("attachments"),
        )
    except AppealNotFound as exc:
        raise AppealNotFound(target.message) from exc
    except AppealError as exc:
        show_refusal(form, exc)
        return challenge_form_page(request, scope, target, shown, form, status=exc.status_code)
    messages.success(request, filed_message(challenge))
    return redirect("my-challenge", challenge_id=challenge.pk)


def filed_message(challenge: Challenge) -> str:
    held = (
        "The record is marked as disputed, and any case resting on it is on hold"
        if challenge.kind in DATA_CHALLENGES
        else "The case is on hold"
    )
    return (
        f"Your challenge {challenge.pk} was filed. A data steward must take it by "
        f"{challenge.acknowledge_due:%-d %B %Y} and decide it by "
        f"{challenge.decide_due:%-d %B %Y}. {held}: no outcome can be signed until it is "
        "decided. You will be told of each step."
    )


def challenge_form_page(
    request: HttpRequest,
    scope: RecordScope,
    target: Target,
    shown: EvidenceRecord | Decision,
    form: ChallengeForm,
    *,
    status: int = 200,
) -> HttpResponse:
    query = QueryDict(mutable=True)
    for name in ("evidence", "decision", "subject"):
        value = getattr(target, name)
        if value is not None:
            query[name] = str(value)
    return render(
        request,
        "appeals/person/challenge_form.html",
        {
            "scope": scope,
            "banner": acting_banner(scope),
            "form": form,
            "record": shown if isinstance(shown, EvidenceRecord) else None,
            "decision": shown if isinstance(shown, Decision) else None,
            "decision_title": (
                DecisionKind(shown.kind).label if isinstance(shown, Decision) else ""
            ),
            "decision_outcome": decided(shown) if isinstance(shown, Decision) else "",
            "decision_role": role_words(shown.role) if isinstance(shown, Decision) else "",
            "kinds": [
                (kind.value, kind.label, kind_hint(kind))
                for kind in (
                    ChallengeKind.INACCURATE,
                    ChallengeKind.LACKS_CONTEXT,
                    ChallengeKind.NOT_MINE,
                )
            ],
            "action": f"?{query.urlencode()}",
            "grounds_max": settings.CHALLENGE_GROUNDS_MAX_CHARS,
            "max_files": settings.CHALLENGE_ATTACHMENT_MAX_COUNT,
            "max_file_size": size_in_words(settings.CHALLENGE_ATTACHMENT_MAX_BYTES),
            "acknowledge_days": settings.CHALLENGE_ACKNOWLEDGE_WORKING_DAYS,
            "decide_days": settings.CHALLENGE_DECIDE_WORKING_DAYS,
            "record_page": ("/me/" if scope.is_own else f"/representing/{scope.subject.pk}/"),
        },
        status=status,
    )


def kind_hint(kind: ChallengeKind) -> str:
    return {
        ChallengeKind.INACCURATE: "Say what the record should say. If the data steward agrees, "
        "the record is corrected and every case resting on it is looked at again.",
        ChallengeKind.LACKS_CONTEXT: "Give the context in your grounds. Whatever the outcome, "
        "reviewers see your account beside the record.",
        ChallengeKind.NOT_MINE: "The record is about someone else. If the data steward agrees, it "
        "is withdrawn from your record.",
    }.get(kind, "")


# ---------------------------------------------------------------------------------------------
# A challenge as the person or their representative sees it: /challenges/<id>/.


def challenge_scope(user: Any, challenge_id: int) -> RecordScope:
    """The scope in which ``user`` sees challenge ``challenge_id``: the person's own, or a
    representative's live grant from them. AppealNotFound in the words of a missing challenge
    for anyone else: data stewards and reviewers have pages of their own."""
    missing = selectors.no_such_challenge(challenge_id)
    checked_id(challenge_id, missing)
    subject_id = (
        Challenge.objects.filter(pk=challenge_id).values_list("subject_id", flat=True).first()
    )
    if subject_id is None:
        raise AppealNotFound(missing)
    try:
        return selectors.scope_for(user, subject_id)
    except AppealNotFound as exc:
        raise AppealNotFound(missing) from exc


@require_GET
@login_required
@answers_not_found
def my_challenge(request: HttpRequest, challenge_id: int) -> HttpResponse:
    require_role(request.user)
    scope = challenge_scope(request.user, challenge_id)
    challenge = selectors.challenge_in_scope(scope, challenge_id)
    record_access(
        [Shown(scope.subject.pk, "appeals.challenge", challenge.pk)],
        actor=scope.actor,
        channel="page",
        view="my-challenge",
        purpose=purpose_of(scope),
    )
    return challenge_page(request, scope, challenge, EscalateForm())


@require_POST
@login_required
@answers_not_found
def escalate(request: HttpRequest, challenge_id: int) -> HttpResponse:
    require_role(request.user)
    scope = challenge_scope(request.user, challenge_id)
    challenge = selectors.challenge_in_scope(scope, challenge_id)
    form = EscalateForm(request.POST)
    if not form.is_valid():  # pragma: no cover - the one field takes any text
        return challenge_page(request, scope, challenge, form, status=400)
    try:
        escalated = services.escalate_challenge(
            challenge.pk, actor=actor_for(request.user), grounds=form.cleaned_data["grounds"]
        )
    except AppealNotFound as exc:
        raise AppealNotFound(selectors.no_such_challenge(challenge_id)) from exc
    except AppealError as exc:
        show_refusal(form, exc)
        return challenge_page(request, scope, challenge, form, status=exc.status_code)
    assert escalated.escalation_decide_due is not None  # noqa: S101 - set by escalating
    messages.success(
        request,
        f"You escalated challenge {escalated.pk}. A senior reviewer who took no part in your "
        f"case or this challenge must decide it by {escalated.escalation_decide_due:%-d %B %Y}. "
        "Their decision is final in Scrutiny.",
    )
    return redirect("my-challenge", challenge_id=escalated.pk)


def challenge_page(
    request: HttpRequest,
    scope: RecordScope,
    challenge: Challenge,
    form: EscalateForm,
    *,
    status: int = 200,
) -> HttpResponse:
    now = timezone.now()
    decision = (
        Decision.objects.select_related("made_by").get(pk=challenge.decision_id)
        if challenge.decision_id is not None
        else None
    )
    may_escalate = (
        challenge.status == ChallengeStatus.REJECTED
        and challenge.escalated_at is None
        and challenge.escalation_due is not None
        and timezone.localdate(now) <= challenge.escalation_due
    )
    people = usernames_of(
        [challenge.on_behalf_of_id, challenge.escalated_by_id, challenge.escalation_taken_by_id]
    )
    return render(
        request,
        "appeals/person/challenge.html",
        {
            "scope": scope,
            "banner": acting_banner(scope),
            "challenge": challenge,
            "target": target_words(challenge),
            "record": challenge.evidence,
            "decision": decision,
            "decision_title": DecisionKind(decision.kind).label if decision else "",
            "decision_outcome": decided(decision) if decision else "",
            "decision_role": role_words(decision.role) if decision else "",
            "filed_role": role_words(challenge.filed_role),
            "filed_for": people.get(challenge.on_behalf_of_id or 0, ""),
            "escalated_by": people.get(challenge.escalated_by_id or 0, ""),
            "escalation_taken_by": people.get(challenge.escalation_taken_by_id or 0, ""),
            "attachments": list(challenge.attachments.order_by("position")),
            "deadlines": deadlines_of(challenge, now),
            "may_escalate": may_escalate,
            "form": form,
            "grounds_max": settings.CHALLENGE_GROUNDS_MAX_CHARS,
            "record_page": ("/me/" if scope.is_own else f"/representing/{scope.subject.pk}/"),
        },
        status=status,
    )


# ---------------------------------------------------------------------------------------------
# Downloads: /challenges/<id>/attachments/<n>/.


@require_GET
@login_required
@answers_not_found
def challenge_attachment(
    request: HttpRequest, challenge_id: int, position: int
) -> HttpResponseBase:
    """An attachment, as a download only, for anyone who may see its challenge: the person, their
    representative, the data steward, the reviewers (appeals.selectors.challenge_for)."""
    role = require_role(request.user)
    missing = f"There is no attachment {position} of challenge {challenge_id} that you may see."
    checked_id(challenge_id, missing)
    checked_id(position, missing)
    try:
        challenge = selectors.challenge_for(request.user, challenge_id)  # type: ignore[arg-type]
    except AppealNotFound as exc:
        raise AppealNotFound(missing) from exc
    attachment = ChallengeAttachment.objects.filter(challenge=challenge, position=position).first()
    if attachment is None:
        raise AppealNotFound(missing)
    actor, purpose = downloader(request.user, role, challenge)
    response = attachment_response(
        attachment.stored_name, filename=attachment.name, content_type=attachment.content_type
    )
    record_access(
        [Shown(challenge.subject_id, "appeals.challengeattachment", attachment.pk)],
        actor=actor,
        channel="download",
        view="challenge-attachment",
        purpose=purpose,
    )
    return response


def downloader(user: Any, role: Role, challenge: Challenge) -> tuple[Actor, str]:
    """Who downloads, as the access log records them: the person; their representative on their
    behalf; anyone else in their own role."""
    if challenge.subject.user_id == user.pk or role == Role.REPRESENTATIVE:
        scope = selectors.scope_for(user, challenge.subject_id)
        return scope.actor, purpose_of(scope)
    return actor_for(user), PURPOSE_BY_ROLE.get(role, "challenge")

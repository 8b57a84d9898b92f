"""Reads of casework data used by more than one caller."""

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import rules
from django.contrib.auth.models import User
from django.db import models
from django.db.models import Count, Exists, OuterRef, Prefetch, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.per_request import remembered
from accounts.roles import role_of
from casework.conflicts import conflict_scope, may_review_some_cases
from casework.models import (
    LIVE_STATUSES,
    REVIEWERS,
    Case,
    CaseFlag,
    CaseReevaluation,
    CaseStatus,
    Decision,
    DecisionKind,
    Notification,
    NotificationKind,
    Outcome,
    PolicyStatus,
    ReferralResult,
    ThresholdPolicy,
)
from casework.thresholds import (
    CandidateFlag,
    CategoryRule,
    Evaluation,
    evaluate,
    parse_rules,
    window_floor,
)
from flags.models import (
    EvidenceContext,
    EvidenceRecord,
    EvidenceStatus,
    Flag,
    FlagEvidence,
    FlagStatus,
    Subject,
    stands_for,
)
from flags.signals import EvaluationUnavailable


class NoActivePolicy(EvaluationUnavailable):
    pass


def active_policy() -> ThresholdPolicy:
    policy = ThresholdPolicy.objects.filter(status=PolicyStatus.ACTIVE).first()
    if policy is None:
        raise NoActivePolicy("No threshold policy is active, so no case can be opened.")
    return policy


def candidate_flags(
    subject_ids: Iterable[int], rules: dict[str, CategoryRule], as_of: date
) -> dict[int, list[CandidateFlag]]:
    """Each subject's active flags that could count under ``rules`` on ``as_of``."""
    rows = (
        Flag.objects.filter(
            subject_id__any=list(subject_ids),
            status=FlagStatus.ACTIVE,
            category__in=list(rules),
            window_end__gte=window_floor(rules, as_of),
            score__gte=min(rule.min_score for rule in rules.values()),
        )
        .values_list(
            "subject_id", "pk", "detector__slug", "external_id", "category", "score", "window_end"
        )
        .order_by()
    )
    found = list(rows)
    # Episodes matter only where a subject has several flags in one category: only those flags'
    # evidence is read.
    per_group = Counter((row[0], row[4]) for row in found)
    shared = [row[1] for row in found if per_group[(row[0], row[4])] > 1]
    evidence: dict[int, set[int]] = defaultdict(set)
    if shared:
        pairs = FlagEvidence.objects.filter(flag_id__any=shared)
        for flag_id, evidence_id in pairs.values_list("flag_id", "evidence_id").order_by():
            evidence[flag_id].add(evidence_id)
    by_subject: dict[int, list[CandidateFlag]] = defaultdict(list)
    for subject_id, pk, detector, external_id, category, score, window_end in found:
        by_subject[subject_id].append(
            CandidateFlag(
                pk, detector, external_id, category, score, window_end, frozenset(evidence[pk])
            )
        )
    return by_subject


def case_candidate_flags(case: Case) -> list[CandidateFlag]:
    """The case's active flags as threshold evaluation sees them now (see
    ``candidate_flags_of_cases``)."""
    return candidate_flags_of_cases([case.pk]).get(case.pk, [])


def candidate_flags_of_cases(case_ids: Iterable[int]) -> dict[int, list[CandidateFlag]]:
    """Each case's active flags as threshold evaluation sees them, on the evidence that still
    stands for them: withdrawn records, and records corrected after the flag was raised, are left
    out, and a flag none of whose records still stands is left out with them, since it rests on
    nothing. Two queries, whatever the number of cases and flags."""
    ids = list(case_ids)
    rows = list(
        CaseFlag.objects.filter(case_id__any=ids, flag__status=FlagStatus.ACTIVE).values_list(
            "case_id",
            "flag_id",
            "flag__detector__slug",
            "flag__external_id",
            "flag__category",
            "flag__score",
            "flag__window_end",
        )
    )
    flag_ids = {row[1] for row in rows}
    evidence: dict[int, set[int]] = {pk: set() for pk in flag_ids}
    rested_on: set[int] = set()
    links = FlagEvidence.objects.filter(flag_id__any=list(flag_ids)).values_list(
        "flag_id", "evidence_id", "evidence__status", "evidence__corrected_at", "flag__received_at"
    )
    for flag_id, evidence_id, status, corrected_at, received_at in links:
        rested_on.add(flag_id)
        if stands_for(status, corrected_at, received_at):
            evidence[flag_id].add(evidence_id)
    found: dict[int, list[CandidateFlag]] = {case_id: [] for case_id in ids}
    for case_id, pk, detector, external_id, category, score, ends in rows:
        if evidence[pk] or pk not in rested_on:
            found[case_id].append(
                CandidateFlag(
                    pk, detector, external_id, category, score, ends, frozenset(evidence[pk])
                )
            )
    return found


def live_cases_by_subject(subject_ids: Iterable[int]) -> dict[int, Case]:
    return {
        case.subject_id: case
        for case in Case.objects.filter(subject_id__any=list(subject_ids), status__in=LIVE_STATUSES)
    }


def conflicted_subject_ids(user: User) -> list[int] | None:
    """The subjects whose cases ``user`` may not see, by the conflict rule (themselves, their
    chain of command both ways, their unit, their declarations); None when they may see none at
    all: they have a live case of their own, or their account is not linked to their record in
    the register.

    Worked out in one recursive query, once per request; the work queue then filters by a
    short list of ids, whatever the size of the force.
    """
    return remembered(user, "conflicted_subjects", lambda: conflict_scope(user))


def cases_visible_to(user: User) -> QuerySet[Case]:
    """Every case ``user`` may see in the reviewer pages: none unless they review, and never a
    case the conflict check bars them from."""
    if role_of(user) not in REVIEWERS:
        return Case.objects.none()
    excluded = conflicted_subject_ids(user)
    if excluded is None:
        return Case.objects.none()
    return Case.objects.exclude(subject_id__in=excluded) if excluded else Case.objects.all()


class QueueSort(models.TextChoices):
    LONGEST_WAITING = "waiting", "Longest waiting first"
    SHORTEST_WAITING = "-waiting", "Most recently changed first"
    DUE = "due", "Due soonest first"
    OPENED = "-opened", "Newest first"


_ORDERING = {
    QueueSort.LONGEST_WAITING: ("status_changed_at", "pk"),
    QueueSort.SHORTEST_WAITING: ("-status_changed_at", "-pk"),
    QueueSort.DUE: ("due_on", "status_changed_at", "pk"),
    QueueSort.OPENED: ("-opened_at", "-pk"),
}

ALL_STATUSES = "all"
# The queue's state filter: a state, or every case.
QUEUE_STATUS_CHOICES = [*CaseStatus.choices, (ALL_STATUSES, "Every case")]


@dataclass(frozen=True)
class QueueFilters:
    """The work queue's filters, as the page's form and the API's query string give them."""

    status: str = ""  # a CaseStatus, ALL_STATUSES, or "" for every live state
    category: str = ""
    unit: str = ""
    due_before: date | None = None
    assigned_to_me: bool = False
    sort: str = QueueSort.LONGEST_WAITING

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> "QueueFilters":
        """From a form's or a serializer's cleaned data, where absent means "any"."""
        return cls(
            status=data.get("status") or "",
            category=data.get("category") or "",
            unit=(data.get("unit") or "").strip(),
            due_before=data.get("due_before"),
            assigned_to_me=bool(data.get("assigned_to_me")),
            sort=data.get("sort") or QueueSort.LONGEST_WAITING,
        )


def work_queue(user: User, filters: QueueFilters) -> QuerySet[Case]:
    """The cases ``user`` may see that match ``filters``, in the order asked for."""
    cases = cases_visible_to(user)
    if filters.status == ALL_STATUSES:
        pass
    elif filters.status:
        cases = cases.filter(status=filters.status)
    else:
        cases = cases.filter(status__in=LIVE_STATUSES)
    if filters.category:
        cases = cases.filter(
            Exists(CaseFlag.objects.filter(case=OuterRef("pk"), category=filters.category))
        )
    if filters.unit:
        cases = cases.filter(subject__unit=filters.unit)
    if filters.due_before is not None:
        cases = cases.filter(due_on__lte=filters.due_before)
    if filters.assigned_to_me:
        cases = cases.filter(assignee=user)
    ordering = _ORDERING.get(QueueSort(filters.sort), _ORDERING[QueueSort.LONGEST_WAITING])
    # The trace is the widest column and the queue never shows it.
    return cases.select_related("subject", "assignee").defer("trace").order_by(*ordering)


def status_counts(user: User) -> dict[str, int]:
    """How many cases ``user`` may see in each state (every state, zero included)."""
    # COUNT(*), not COUNT(id): the count then reads only the (status, subject) index.
    rows = cases_visible_to(user).order_by().values_list("status").annotate(n=Count("*"))
    found = dict(rows)
    return {status: found.get(status, 0) for status in CaseStatus.values}


def categories_of(case_ids: Iterable[int]) -> dict[int, list[str]]:
    """The flag categories on each case, sorted: one query for a page of cases."""
    rows = (
        CaseFlag.objects.filter(case_id__in=list(case_ids))
        .values_list("case_id", "category")
        .distinct()
        .order_by()
    )
    found: dict[int, set[str]] = defaultdict(set)
    for case_id, category in rows:
        found[case_id].add(category)
    return {case_id: sorted(categories) for case_id, categories in found.items()}


def case_for_review(case_id: int, user: User) -> Case:
    """One case as a reviewer sees it, for the pages and the API alike.

    Raises Http404 where there is no such case and, in exactly the same words, where the case
    exists but the reviewer may not see it (the role rule ``casework.view_case``, the conflict
    check): a different answer would tell them which case numbers exist. Django and REST
    framework both answer it as 404.
    """
    case = (
        cases_visible_to(user)
        .select_related(
            "subject",
            "subject__line_manager",
            "policy",
            "assignee",
            "recommended_by",
        )
        .filter(pk=case_id)
        .first()
    )
    # rules.has_perm, not user.has_perm: the latter grants a superuser everything.
    if case is None or not rules.has_perm("casework.view_case", user, case):
        raise Http404(no_such_case(case_id))
    return case


def no_such_case(case_id: int) -> str:
    return f"There is no case {case_id} that you may see."


def has_own_record(user: User) -> bool:
    """Whether ``user``'s account is linked to their own record in the workforce register."""
    return Subject.objects.filter(user=user).exists()


def flags_of_case(case: Case) -> list[CaseFlag]:
    """The case's flags with detector and evidence, in the order they were attached."""
    return list(
        CaseFlag.objects.filter(case=case)
        .select_related("flag", "flag__detector")
        .prefetch_related(
            Prefetch(
                "flag__flagevidence_set",
                queryset=FlagEvidence.objects.select_related("evidence").order_by("position"),
            )
        )
        .order_by("attached_at", "flag_id")
    )


def decisions_of_case(case: Case) -> list[Decision]:
    return list(case.decisions.select_related("made_by", "assigned_to").order_by("made_at", "pk"))


def context_accounts_of_case(case: Case) -> dict[int, list[EvidenceContext]]:
    """The case's subject's accounts of the context of the evidence the case's flags rest on,
    by evidence record, oldest first: shown beside each record whatever became of the challenge
    they were given with. Another person's account of a shared record is never among them."""
    rows = (
        EvidenceContext.objects.filter(
            subject_id=case.subject_id,
            evidence_id__in=FlagEvidence.objects.filter(flag__case_links__case=case).values(
                "evidence_id"
            ),
        )
        .select_related("evidence", "given_by", "on_behalf_of")
        .order_by("given_at", "pk")
    )
    found: dict[int, list[EvidenceContext]] = defaultdict(list)
    for context in rows:
        found[context.evidence_id].append(context)
    return dict(found)


def reevaluations_of_case(case: Case) -> list[CaseReevaluation]:
    """The case's evaluations since it opened, after data it rested on was corrected or
    withdrawn, oldest first."""
    return list(case.reevaluations.order_by("evaluated_at", "pk"))


def reviewer_usernames() -> list[str]:
    """Everyone who may be assigned a case, by username: active reviewers and seniors linked to
    their record, less those barred from every case by a live case of their own (left out
    without a word, so that the list does not tell who is under review)."""
    reviewers = User.objects.filter(is_active=True, groups__name__in=list(REVIEWERS))
    return list(
        may_review_some_cases(reviewers)
        .order_by("username")
        .values_list("username", flat=True)
        .distinct()
    )


@dataclass(frozen=True)
class ReferralResults:
    """The results recorded for a case's referrals: ``current``, the result of the referral that
    stands (None until it is recorded, and where no referral stands), and ``earlier``, the results
    of referrals that no longer stand, oldest first: history, counted nowhere."""

    current: ReferralResult | None
    earlier: list[ReferralResult]


def standing_referral_id(decisions: Iterable[Decision]) -> int | None:
    """The id of the case's referral that stands, among ``decisions`` (the case's, in any order):
    its latest second senior signature, unless a setting-aside came after it. Whichever decision
    an upheld challenge set aside (the signature, the first signature, the recommendation they
    signed), the case went back to review, so the referral it had then no longer stands; a
    referral signed after that is the one that does. Decisions are insert-only, so ids order
    them."""
    latest = max(
        (d for d in decisions if d.kind in (DecisionKind.SECOND_SIGNATURE, DecisionKind.SET_ASIDE)),
        key=lambda d: d.pk,
        default=None,
    )
    return (
        latest.pk if latest is not None and latest.kind == DecisionKind.SECOND_SIGNATURE else None
    )


def split_referral_results(
    decisions: Iterable[Decision], results: Iterable[ReferralResult]
) -> ReferralResults:
    """``ReferralResults`` from a case's decisions and results, already read (a prefetch): no
    query."""
    standing = standing_referral_id(decisions)
    ordered = sorted(results, key=lambda row: row.pk)
    current = next((row for row in ordered if row.referral_id == standing), None)
    return ReferralResults(current, [row for row in ordered if row is not current])


def standing_referral(case: Case) -> Decision | None:
    """The case's referral that stands (``standing_referral_id``), or None, in one query."""
    latest = (
        case.decisions.filter(kind__in=[DecisionKind.SECOND_SIGNATURE, DecisionKind.SET_ASIDE])
        .order_by("-pk")
        .first()
    )
    return latest if latest is not None and latest.kind == DecisionKind.SECOND_SIGNATURE else None


def referral_results_of(case: Case, decisions: Iterable[Decision] | None = None) -> ReferralResults:
    """The results recorded for the case's referrals, current and earlier, with who recorded
    them: where the case's ``decisions`` were read already, in one query, and in none for a case
    never referred (a result names its referral's signature); else in two."""
    if decisions is None:
        standing = standing_referral(case)
        decisions = [standing] if standing is not None else []
    else:
        decisions = list(decisions)
        if not any(d.kind == DecisionKind.SECOND_SIGNATURE for d in decisions):
            return ReferralResults(None, [])
    results = ReferralResult.objects.select_related("recorded_by", "on_behalf_of").filter(case=case)
    return split_referral_results(decisions, results)


def notifications_of_case(case: Case) -> list[Notification]:
    return list(case.notifications.order_by("created_at", "pk"))


def notices_for(user: User) -> list[Notification]:
    """The notices sent so far to the person ``user`` is, newest first."""
    return list(
        Notification.objects.filter(subject__user=user, sent_at__isnull=False)
        .select_related("case")
        .order_by("-sent_at", "-pk")[:200]
    )


# ---------------------------------------------------------------------------------------------
# What the workflow's guards read about a case.


def evidence_hashes(case: Case) -> list[str]:
    """The content hashes of the evidence behind the case's flags, sorted: what it rests on."""
    rows = EvidenceRecord.objects.filter(flags__case_links__case=case).values_list(
        "content_hash", flat=True
    )
    return sorted(set(rows))


def evidence_hashes_of_cases(case_ids: Iterable[int]) -> dict[int, list[str]]:
    """``evidence_hashes`` for many cases in one query."""
    ids = list(case_ids)
    found: dict[int, set[str]] = {case_id: set() for case_id in ids}
    rows = CaseFlag.objects.filter(case_id__any=ids).values_list(
        "case_id", "flag__evidence__content_hash"
    )
    for case_id, content_hash in rows:
        if content_hash is not None:
            found[case_id].add(content_hash)
    return {case_id: sorted(hashes) for case_id, hashes in found.items()}


# Checks, registered by higher apps at start-up, that name the cases among those given with an
# open challenge to one of their decisions (appeals registers one): casework never imports them.
OpenChallengeCheck = Callable[[list[int]], set[int]]
_open_challenge_checks: list[OpenChallengeCheck] = []


def register_open_challenge_check(check: OpenChallengeCheck) -> None:
    if check not in _open_challenge_checks:
        _open_challenge_checks.append(check)


def cases_with_open_challenges(case_ids: Iterable[int]) -> set[int]:
    """The cases among ``case_ids`` on which a challenge is open: to the data behind them (their
    evidence is disputed) or to one of their decisions."""
    ids = list(case_ids)
    found = set(
        CaseFlag.objects.filter(case_id__any=ids, flag__evidence__status=EvidenceStatus.DISPUTED)
        .values_list("case_id", flat=True)
        .distinct()
    )
    for check in _open_challenge_checks:
        found |= check(ids)
    return found


def has_open_challenge(case: Case) -> bool:
    """Whether a challenge is open on the case: no outcome can be signed while one is."""
    return bool(cases_with_open_challenges([case.pk]))


def evaluate_again(case: Case, flags: list[CandidateFlag]) -> Evaluation:
    """Evaluate the case's flags as they stand under the policy it opened under, as of the day it
    was first evaluated (so a correction is judged by the rule that opened the case, not by the
    passing of time)."""
    trace = case.trace if isinstance(case.trace, dict) else {}
    as_of = date.fromisoformat(trace["as_of"]) if "as_of" in trace else case.opened_at.date()
    return evaluate(
        parse_rules(case.policy.rules),
        flags,
        policy_version=case.policy.version,
        as_of=as_of,
        evaluated_at=timezone.now(),
    )


def still_meets_threshold(case: Case) -> bool:
    """Whether the case's active flags, on the evidence that still stands, still meet the policy
    the case opened under."""
    return evaluate_again(case, case_candidate_flags(case)).met


def cases_resting_on(evidence_ids: Iterable[int]) -> list[int]:
    """Every case with a flag resting on one of these evidence records, by id."""
    return sorted(
        set(
            CaseFlag.objects.filter(flag__evidence__in=list(evidence_ids))
            .values_list("case_id", flat=True)
            .distinct()
        )
    )


def set_aside_deciders(case: Case) -> set[int]:
    """The users whose decisions on the case were set aside by an upheld challenge: none of them
    takes the case again."""
    return set(
        case.decisions.filter(kind=DecisionKind.SET_ASIDE).values_list(
            "sets_aside__made_by_id", flat=True
        )
    )


def latest_decision(case: Case, kind: DecisionKind) -> Decision | None:
    return case.decisions.filter(kind=kind).order_by("-pk").first()


def referral_signatures(case: Case) -> list[Decision]:
    """The senior signatures on the case's current referral recommendation, oldest first."""
    if case.recommended_at is None:
        return []
    # A signature counts only for the recommendation it was made on, with nothing between (no
    # hold, no release), and on the evidence as it stands now: a corrected record means the
    # signer signed something else. Decisions are insert-only, so ids order them.
    since = (
        case.decisions.filter(
            kind__in=[DecisionKind.RECOMMENDATION, DecisionKind.HOLD, DecisionKind.RELEASE]
        )
        .order_by("-pk")
        .values_list("pk", flat=True)
        .first()
    )
    current = evidence_hashes(case)
    signatures = case.decisions.filter(
        kind=DecisionKind.SIGN_OFF, outcome=Outcome.REFERRAL, pk__gt=since or 0
    ).order_by("pk")
    return [signature for signature in signatures if signature.evidence_hashes == current]


def opening_notice_pending(case: Case) -> bool:
    """Whether the subject has yet to be told that the case opened."""
    return Notification.objects.filter(
        case=case, kind=NotificationKind.CASE_OPENED, sent_at=None
    ).exists()

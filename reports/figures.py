"""The oversight figures for a period, computed by the database: GROUP BY and conditional counts,
never a row per case, flag or person loaded into Python. The number of queries is fixed whatever
the size of the force (tests/reports/test_figures.py counts them on a small force and a larger).

The period is a span of days in the force's time zone. A *lead* is a case opened in the period;
each is counted in its outcome class as it stands at the snapshot (casework.outcomes: confirmed,
wrong, advice, welfare, investigation withdrawn, pending). Flags are those received in the
period. Challenges are those filed in it. The register's headcount is its active people now.

Durations in working days (time to a decision, deferrals) are read as counts of distinct pairs of
days, never per case, and turned into working days here (appeals.deadlines: England and Wales).
"""

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, F, Min, Q, QuerySet, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from appeals.deadlines import working_days_between
from appeals.models import Challenge, ChallengeKind, ChallengeStatus, Finding
from casework.models import (
    Case,
    CaseFlag,
    DecisionKind,
    Notification,
    NotificationKind,
    Outcome,
    PolicyStatus,
    ThresholdPolicy,
)
from casework.outcomes import LEADS, OutcomeClass, outcome_class_expression, outcome_counts
from flags.models import (
    Ethnicity,
    Flag,
    Rank,
    Sex,
    Subject,
    WorkingPattern,
    YesNo,
)
from reports.fairness import DetectorPrecision, DimensionCounts, GroupCounts

NOT_RECORDED = "not_recorded"
# Outcomes that act against the person: management advice, and a referral for investigation.
ADVERSE = (Outcome.MANAGEMENT_ADVICE, Outcome.REFERRAL)


def bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """The period as moments: from the start of ``first`` to the start of the day after
    ``last``, in the force's time zone."""
    zone = timezone.get_current_timezone()
    return (
        datetime.combine(first, time(), tzinfo=zone),
        datetime.combine(last + timedelta(days=1), time(), tzinfo=zone),
    )


# --- detectors ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DetectorRow:
    """One detector version in the period: its flags, and the leads it contributed to by class."""

    slug: str
    name: str
    version: str
    flags: int
    people: int
    leads: int
    classes: Mapping[str, int]
    challenges_decided: int
    challenges_upheld: int

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}"

    @property
    def precision(self) -> DetectorPrecision:
        return DetectorPrecision(
            self.label,
            confirmed=self.classes[OutcomeClass.CONFIRMED],
            wrong=self.classes[OutcomeClass.WRONG],
        )

    @property
    def upheld_rate(self) -> float | None:
        if not self.challenges_decided:
            return None
        return self.challenges_upheld / self.challenges_decided


def detector_rows(start: datetime, end: datetime) -> list[DetectorRow]:
    """Per detector version: flags received in the period, people flagged, and the leads opened
    in it that a flag of that version counted towards (a case with flags of several versions
    counts for each), by outcome class; and the challenges filed in the period to records its
    flags rest on, decided and upheld (wholly or partly). Three queries."""
    key = ("flag__detector__slug", "flag__detector__name", "flag__detector_version")
    flags = {
        (row["detector__slug"], row["detector__name"], row["detector_version"]): row
        for row in Flag.objects.filter(received_at__gte=start, received_at__lt=end)
        .values("detector__slug", "detector__name", "detector_version")
        .annotate(flags=Count("pk"), people=Count("subject", distinct=True))
    }
    leads = {
        tuple(row[name] for name in key): row
        for row in CaseFlag.objects.filter(case__opened_at__gte=start, case__opened_at__lt=end)
        .values(*key)
        .annotate(**outcome_counts("case_id", prefix="case__", distinct=True))
    }
    challenges = {
        (
            row["evidence__flags__detector__slug"],
            row["evidence__flags__detector__name"],
            row["evidence__flags__detector_version"],
        ): row
        for row in Challenge.objects.filter(
            filed_at__gte=start, filed_at__lt=end, evidence__isnull=False
        )
        .values(
            "evidence__flags__detector__slug",
            "evidence__flags__detector__name",
            "evidence__flags__detector_version",
        )
        .annotate(
            decided=Count("pk", distinct=True, filter=Q(decided_at__isnull=False)),
            upheld=Count(
                "pk",
                distinct=True,
                filter=Q(finding__in=[Finding.UPHELD, Finding.PARTLY_UPHELD]),
            ),
        )
    }
    rows = []
    for slug, name, version in sorted(set(flags) | set(leads) | set(challenges)):
        found: Mapping[str, Any] = flags.get((slug, name, version), {})
        counted: Mapping[str, Any] = leads.get((slug, name, version), {})
        challenged: Mapping[str, Any] = challenges.get((slug, name, version), {})
        rows.append(
            DetectorRow(
                slug=slug,
                name=name,
                version=version,
                flags=found.get("flags", 0),
                people=found.get("people", 0),
                leads=counted.get(LEADS, 0),
                classes={c.value: counted.get(c.value, 0) for c in OutcomeClass},
                challenges_decided=challenged.get("decided", 0),
                challenges_upheld=challenged.get("upheld", 0),
            )
        )
    return rows


# --- cases --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spread:
    """How many, the median and the 90th percentile of a duration in working days."""

    count: int
    median: float | None
    p90: float | None
    longest: int | None = None


def spread(durations: Counter[int]) -> Spread:
    """Of a multiset of durations, counted: nearest-rank percentiles, the median the mean of the
    two middle values where the count is even."""
    count = sum(durations.values())
    if not count:
        return Spread(0, None, None, None)
    ordered = sorted(durations.items())

    def nth(rank: int) -> int:  # 1-based
        seen = 0
        for value, times in ordered:
            seen += times
            if seen >= rank:
                return value
        return ordered[-1][0]

    if count % 2:
        median: float = nth(count // 2 + 1)
    else:
        median = (nth(count // 2) + nth(count // 2 + 1)) / 2
    p90 = nth(max(1, -(-9 * count // 10)))
    return Spread(count, median, p90, ordered[-1][0])


def working_day_spread(pairs: Iterable[Mapping[str, Any]], start: str, end: str) -> Spread:
    """Working days from ``start`` to ``end`` over rows of distinct (start day, end day, n)."""
    durations: Counter[int] = Counter()
    for row in pairs:
        durations[working_days_between(row[start], row[end])] += row["n"]
    return spread(durations)


@dataclass(frozen=True)
class CaseFigures:
    leads: int
    classes: Mapping[str, int]
    by_status: list[tuple[str, int]]
    to_decision: Spread
    review_overdue: int
    deferrals: Spread


def case_figures(start: datetime, end: datetime, today: date) -> CaseFigures:
    """Leads opened in the period by class and by state; working days from opening to the
    decision that concluded them; reviews that missed their due day (concluded after it, or
    still live past it); notices deferred and for how long. Five queries."""
    opened = Case.objects.filter(opened_at__gte=start, opened_at__lt=end)
    classes = opened.aggregate(**outcome_counts())
    by_status = [
        (row["status"], row["n"])
        for row in opened.values("status").annotate(n=Count("pk")).order_by("status")
    ]
    decided = (
        opened.filter(concluded_at__isnull=False)
        .annotate(start=TruncDate("opened_at"), end=TruncDate("concluded_at"))
        .values("start", "end")
        .annotate(n=Count("pk"))
        .order_by()
    )
    overdue = opened.filter(
        Q(concluded_at__isnull=False, concluded_at__date__gt=F("due_on"))
        | Q(concluded_at__isnull=True, due_on__lt=today, status__in=_live())
    ).count()
    deferred = (
        Notification.objects.filter(
            case__in=opened,
            kind=NotificationKind.CASE_OPENED,
            case__decisions__kind=DecisionKind.NOTIFICATION_DEFERRAL,
        )
        .annotate(start=TruncDate("created_at"), end=TruncDate("due_at"))
        .values("start", "end")
        .annotate(n=Count("pk", distinct=True))
        .order_by()
    )
    return CaseFigures(
        leads=classes.pop(LEADS),
        classes=classes,
        by_status=by_status,
        to_decision=working_day_spread(decided, "start", "end"),
        review_overdue=overdue,
        deferrals=working_day_spread(deferred, "start", "end"),
    )


def _live() -> list[str]:
    from casework.models import LIVE_STATUSES

    return [str(status) for status in LIVE_STATUSES]


# --- challenges ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChallengeFigures:
    filed: int
    acknowledged: int
    acknowledged_in_time: int
    decided: int
    decided_in_time: int
    upheld: int
    partly_upheld: int
    rejected: int
    escalated: int
    open_overdue: int
    by_kind: list[tuple[str, int]] = field(default_factory=list)


def challenge_figures(start: datetime, end: datetime, today: date) -> ChallengeFigures:
    """Challenges filed in the period, what became of them, and whether the steward met the
    working-day deadlines. Two queries."""
    filed = Challenge.objects.filter(filed_at__gte=start, filed_at__lt=end)
    counts = filed.aggregate(
        filed=Count("pk"),
        acknowledged=Count("pk", filter=Q(acknowledged_at__isnull=False)),
        acknowledged_in_time=Count(
            "pk",
            filter=Q(
                acknowledged_at__isnull=False, acknowledged_at__date__lte=F("acknowledge_due")
            ),
        ),
        decided=Count("pk", filter=Q(decided_at__isnull=False)),
        decided_in_time=Count(
            "pk", filter=Q(decided_at__isnull=False, decided_at__date__lte=F("decide_due"))
        ),
        upheld=Count("pk", filter=Q(finding=Finding.UPHELD)),
        partly_upheld=Count("pk", filter=Q(finding=Finding.PARTLY_UPHELD)),
        rejected=Count("pk", filter=Q(finding=Finding.REJECTED)),
        escalated=Count("pk", filter=Q(escalated_at__isnull=False)),
        open_overdue=Count(
            "pk",
            filter=Q(decided_at__isnull=True, decide_due__lt=today)
            & ~Q(status=ChallengeStatus.ESCALATED),
        ),
    )
    labels = dict(ChallengeKind.choices)
    by_kind = [
        (str(labels.get(row["kind"], row["kind"])), row["n"])
        for row in filed.values("kind").annotate(n=Count("pk")).order_by("kind")
    ]
    return ChallengeFigures(**counts, by_kind=by_kind)


# --- policies -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyRow:
    version: int
    status: str
    proposed_at: datetime
    proposed_by: str
    activated_at: datetime | None
    activated_by: str


def policies_in_force(start: datetime, end: datetime) -> list[PolicyRow]:
    """The threshold policies in force at any time in the period: activated before its end and
    not retired before its start (a policy stays in force until the next one is activated). One
    query: the versions are few."""
    rows = list(
        ThresholdPolicy.objects.filter(activated_at__isnull=False)
        .select_related("proposed_by", "activated_by")
        .order_by("activated_at", "version")
    )
    found = []
    for index, policy in enumerate(rows):
        succeeded_at = rows[index + 1].activated_at if index + 1 < len(rows) else None
        assert policy.activated_at is not None  # noqa: S101 - filtered
        if policy.activated_at < end and (succeeded_at is None or succeeded_at > start):
            found.append(
                PolicyRow(
                    version=policy.version,
                    status=PolicyStatus(policy.status).label,
                    proposed_at=policy.proposed_at,
                    proposed_by=policy.proposed_by.get_username(),
                    activated_at=policy.activated_at,
                    activated_by=policy.activated_by.get_username() if policy.activated_by else "",
                )
            )
    return found


# --- fairness -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dimension:
    key: str
    label: str
    # The field of Subject the groups are, and their labels (None: the values themselves).
    path: str
    choices: list[tuple[str, str]] | None


DIMENSIONS = (
    Dimension("rank", "Rank", "rank", list(Rank.choices)),
    Dimension("role", "Role", "role", None),
    Dimension(
        "sickness", "Long-term sickness", "equality__long_term_sickness", list(YesNo.choices)
    ),
    Dimension("disability", "Disability", "equality__disability", list(YesNo.choices)),
    Dimension("ethnicity", "Ethnicity", "equality__ethnicity", list(Ethnicity.choices)),
    Dimension("sex", "Sex", "equality__sex", list(Sex.choices)),
    Dimension(
        "working_pattern", "Working pattern", "working_pattern", list(WorkingPattern.choices)
    ),
)


@dataclass(frozen=True)
class DimensionFigures:
    """A dimension's counts over every detector, and the same for each detector's flags and the
    leads they counted towards (``by_detector``, by detector name)."""

    overall: DimensionCounts
    by_detector: dict[str, DimensionCounts]


def _profile(prefix: str) -> dict[str, Any]:
    """A person's group in every dimension at once, as annotations named by dimension (``g_``
    and the key, clear of the model's own fields): a person with no equality profile is in
    "Not recorded"."""
    return {
        f"g_{dimension.key}": Coalesce(F(f"{prefix}{dimension.path}"), Value(NOT_RECORDED))
        for dimension in DIMENSIONS
    }


PROFILE = [f"g_{dimension.key}" for dimension in DIMENSIONS]


def _first_of(rows: QuerySet[Any], *distinct: str) -> QuerySet[Any]:
    """The first (lowest) id of ``rows`` for each distinct combination of the ``distinct``
    fields: a subquery that stands for one row per combination."""
    return rows.values(*distinct).annotate(first=Min("pk")).values("first")


CASE_COUNTS = ("opened", "adverse", "confirmed", "wrong")


def dimension_figures(start: datetime, end: datetime) -> list[DimensionFigures]:
    """Every dimension's groups, each with its headcount, people flagged in the period, and the
    leads opened in it: adverse (concluded with management advice or a referral), confirmed and
    wrong; over every detector, and for each detector by itself. Five queries, whatever the number
    of dimensions, detectors, people or cases.

    Each query groups by the whole profile (rank, role, sickness, disability, ethnicity, sex and
    working pattern together), so that the year's flags and cases are read once rather than once
    per dimension; a dimension's groups are then sums over the profiles. The sums are exact, the
    distinct counts among them: a person has one profile, and a case one subject, so the people
    (or cases) counted under different profiles are different people (or cases)."""
    headcount = (
        Subject.objects.filter(active=True)
        .annotate(**_profile(""))
        .values(*PROFILE)
        .annotate(n=Count("pk"))
    )
    # One row per person flagged, and one per person and detector (their first such flag) or
    # case and detector (its first link): the distinct counts become plain counts over them,
    # which the database reduces by hashing ids rather than sorting a year of rows by profile.
    received = Flag.objects.filter(received_at__gte=start, received_at__lt=end)
    flagged = (
        Subject.objects.filter(pk__in=received.values("subject"))
        .annotate(**_profile(""))
        .values(*PROFILE)
        .annotate(n=Count("pk"))
    )
    flagged_by = (
        Flag.objects.filter(pk__in=_first_of(received, "subject", "detector__name"))
        .annotate(**_profile("subject__"))
        .values("detector__name", *PROFILE)
        .annotate(n=Count("pk"))
    )
    cases = (
        Case.objects.filter(opened_at__gte=start, opened_at__lt=end)
        .annotate(**_profile("subject__"), outcome_class=outcome_class_expression())
        .values(*PROFILE)
        .annotate(
            opened=Count("pk"),
            adverse=Count("pk", filter=Q(outcome__in=ADVERSE)),
            confirmed=Count("pk", filter=Q(outcome_class=OutcomeClass.CONFIRMED)),
            wrong=Count("pk", filter=Q(outcome_class=OutcomeClass.WRONG)),
        )
    )
    linked = CaseFlag.objects.filter(case__opened_at__gte=start, case__opened_at__lt=end)
    cases_by = (
        CaseFlag.objects.filter(pk__in=_first_of(linked, "case", "flag__detector__name"))
        .annotate(**_profile("case__subject__"), outcome_class=outcome_class_expression("case__"))
        .values("flag__detector__name", *PROFILE)
        .annotate(
            opened=Count("pk"),
            adverse=Count("pk", filter=Q(case__outcome__in=ADVERSE)),
            confirmed=Count("pk", filter=Q(outcome_class=OutcomeClass.CONFIRMED)),
            wrong=Count("pk", filter=Q(outcome_class=OutcomeClass.WRONG)),
        )
    )
    # (detector or None for all, dimension, group) -> count, per measure.
    tally: dict[str, Counter[tuple[str | None, str, Any]]] = {
        measure: Counter() for measure in ("headcount", "flagged", *CASE_COUNTS)
    }

    def add(rows: Iterable[Mapping[str, Any]], by: str | None, *measures: str) -> None:
        """Add each row's counts to its group in every dimension, under its detector when the
        rows are ``by`` one (the column naming it)."""
        for row in rows:
            of = row[by] if by else None
            for dimension, name in zip(DIMENSIONS, PROFILE, strict=True):
                for measure in measures:
                    column = measure if measure in CASE_COUNTS else "n"
                    tally[measure][of, dimension.key, row[name]] += row[column]

    add(headcount, None, "headcount")
    add(flagged, None, "flagged")
    add(flagged_by, "detector__name", "flagged")
    add(cases, None, *CASE_COUNTS)
    add(cases_by, "flag__detector__name", *CASE_COUNTS)
    detectors = sorted(
        {of for of, _key, _group in tally["flagged"] if of is not None}
        | {of for of, _key, _group in tally["opened"] if of is not None}
    )

    def counts(dimension: Dimension, of: str | None) -> DimensionCounts:
        labels = dict(dimension.choices or [])
        labels.setdefault(NOT_RECORDED, "Not recorded")
        keys = sorted(
            {
                group
                for measure in ("headcount", "flagged", "opened")
                for (of, key, group) in tally[measure]
                if key == dimension.key and of is None
            },
            key=str,
        )
        return DimensionCounts(
            key=dimension.key,
            label=dimension.label,
            groups=tuple(
                GroupCounts(
                    key=str(group),
                    label=str(labels.get(group, group)),
                    headcount=tally["headcount"][None, dimension.key, group],
                    flagged=tally["flagged"][of, dimension.key, group],
                    cases_opened=tally["opened"][of, dimension.key, group],
                    adverse=tally["adverse"][of, dimension.key, group],
                    confirmed=tally["confirmed"][of, dimension.key, group],
                    wrong=tally["wrong"][of, dimension.key, group],
                )
                for group in keys
            ),
        )

    return [
        DimensionFigures(
            overall=counts(dimension, None),
            by_detector={name: counts(dimension, name) for name in detectors},
        )
        for dimension in DIMENSIONS
    ]


# --- the whole ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OversightFigures:
    first: date
    last: date
    detectors: list[DetectorRow]
    cases: CaseFigures
    challenges: ChallengeFigures
    policies: list[PolicyRow]
    dimensions: list[DimensionFigures]

    @property
    def flags(self) -> int:
        return sum(row.flags for row in self.detectors)


def oversight_figures(first: date, last: date, *, today: date | None = None) -> OversightFigures:
    start, end = bounds(first, last)
    today = today or timezone.localdate()
    return OversightFigures(
        first=first,
        last=last,
        detectors=detector_rows(start, end),
        cases=case_figures(start, end, today),
        challenges=challenge_figures(start, end, today),
        policies=policies_in_force(start, end),
        dimensions=dimension_figures(start, end),
    )

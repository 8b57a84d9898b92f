"""The oversight figures: computed by the database in a fixed number of queries, and the same as
an independent computation of the same definitions over the rows themselves."""

from collections import Counter
from datetime import UTC, date, timedelta
from fractions import Fraction
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from casework.models import Case, CaseFlag, CaseStatus, Outcome
from casework.outcomes import OutcomeClass, outcome_class_of
from flags.models import EqualityProfile, Flag, Subject
from reports.fairness import DEFAULT_RATES, group_disparities, outside_band
from reports.figures import (
    DIMENSIONS,
    NOT_RECORDED,
    Spread,
    bounds,
    dimension_figures,
    oversight_figures,
    policies_in_force,
    spread,
)
from tests.appeals.conftest import World, flagged_subject, overtime_flags
from tests.factories import TODAY, EvidenceItemFactory, FlagItemFactory, SubjectFactory
from tests.ingest_client import client_for, post_flags

pytestmark = pytest.mark.django_db

FIRST, LAST = TODAY - timedelta(days=90), TODAY


def more_people(detector_client: Any, count: int) -> None:
    """``count`` more officers, each with a case from two overtime flags, and a profile for
    every other one."""
    for n in range(count):
        user = flagged_subject(f"extra.{n}", unit="Response South" if n % 2 else "Response East")
        if n % 2:
            EqualityProfile.objects.create(
                subject=user.subject, sex="female", disability="yes", long_term_sickness="no"
            )
        overtime_flags(
            detector_client,
            user.subject,
            [[EvidenceItemFactory.create()], [EvidenceItemFactory.create()]],
        )


def queries_for_figures() -> int:
    with CaptureQueriesContext(connection) as captured:
        oversight_figures(FIRST, LAST)
    return len(captured.captured_queries)


def test_the_figures_cost_the_same_queries_whatever_the_size_of_the_force(
    world: World, detector_client: Any
) -> None:
    few = queries_for_figures()
    more_people(detector_client, 12)

    many = queries_for_figures()

    assert few == many
    assert oversight_figures(FIRST, LAST).cases.leads == 13


@pytest.fixture
def two_detectors(
    world: World, detector_client: Any, other_detector_with_token: tuple[Any, str]
) -> None:
    """More people, some flagged by a second detector too, and some outcomes."""
    more_people(detector_client, 7)
    # A second detector flags some of the same people (counted once each overall, once under
    # each detector) and one person no other detector flagged.
    looked_up = [s.staff_number for s in Subject.objects.order_by("pk")[:6:2]]
    items = [
        FlagItemFactory.create(
            subject=staff_number, category="system_misuse", rule="access.lookups", score=0.95
        )
        for staff_number in [*looked_up, SubjectFactory.create().staff_number]
    ]
    response = post_flags(client_for(other_detector_with_token[1]), items)
    assert response.status_code == 200, response.content
    assert Flag.objects.filter(detector=other_detector_with_token[0]).count() == 4
    # Some outcomes, so that confirmed, wrong and adverse are not all zero.
    Case.objects.filter(subject__staff_number__endswith="1").update(
        status=CaseStatus.CLOSED, outcome=Outcome.NO_FURTHER_ACTION
    )
    Case.objects.filter(subject__staff_number__endswith="2").update(
        status=CaseStatus.CLOSED, outcome=Outcome.MANAGEMENT_ADVICE
    )


def test_the_fairness_counts_agree_with_a_count_of_the_rows(two_detectors: None) -> None:
    start, end = bounds(FIRST, LAST)

    for dimension, found in zip(DIMENSIONS, dimension_figures(start, end), strict=True):
        for detector, counted in [(None, found.overall), *found.by_detector.items()]:
            computed = {group.key: group for group in counted.groups}
            expected = reference_counts(dimension.path, start, end, detector)
            for key, counts in expected.items():
                group = computed[key]
                assert (
                    group.headcount,
                    group.flagged,
                    group.cases_opened,
                    group.adverse,
                    group.confirmed,
                    group.wrong,
                ) == counts, (dimension.key, detector, key)
            assert set(computed) == set(expected), (dimension.key, detector)


def test_the_disparities_agree_with_a_computation_from_the_rows(two_detectors: None) -> None:
    """Rates per head and per decided case, and each group's disparity against the largest group
    (ties to the first key), in the band 0.8 to 1.25 or not: computed here from the reference
    counts with nothing of reports.fairness but its output compared."""
    start, end = bounds(FIRST, LAST)
    compared = 0

    for dimension, found in zip(DIMENSIONS, dimension_figures(start, end), strict=True):
        for detector, counted in [(None, found.overall), *found.by_detector.items()]:
            expected = reference_counts(dimension.path, start, end, detector)
            largest = sorted(expected, key=lambda key: (-expected[key][0], key))[0]

            def rates(counts: tuple[int, ...]) -> list[Fraction | None]:
                headcount, flagged, opened, adverse, confirmed, wrong = counts
                decided = confirmed + wrong
                per_head = [
                    Fraction(n, headcount) if headcount else None
                    for n in (flagged, opened, adverse)
                ]
                per_decided = [
                    Fraction(n, decided) if decided else None for n in (confirmed, wrong)
                ]
                return per_head + per_decided

            base = rates(expected[largest])
            computed = group_disparities(counted, DEFAULT_RATES)
            assert [spec.key for spec in DEFAULT_RATES] == [
                "flagged_per_head",
                "cases_per_head",
                "adverse_per_head",
                "confirmed_per_decided",
                "wrong_per_decided",
            ]
            for key, counts in expected.items():
                want = [
                    rate / reference if rate is not None and reference else None
                    for rate, reference in zip(rates(counts), base, strict=True)
                ]
                assert list(computed[key]) == want, (dimension.key, detector, key)
                for value in want:
                    if value is not None:
                        compared += 1
                        inside = Fraction(8, 10) <= value <= Fraction(125, 100)
                        assert outside_band(value) is not inside
    # The force has groups of different rates: some disparities are neither undefined nor 1.
    assert compared > 20


def reference_counts(
    path: str, start: Any, end: Any, detector: str | None = None
) -> dict[str, tuple[int, ...]]:
    """The same definitions, computed the slow way: every person, flag and case read; for one
    detector (by name), its flags and the cases they count towards."""

    def group_of(subject: Subject) -> str:
        value: Any = subject
        for part in path.split("__"):
            value = getattr(value, part, None)
            if value is None:
                return NOT_RECORDED
        return str(value)

    people = {s.pk: s for s in Subject.objects.select_related("equality")}
    with_profile = set(EqualityProfile.objects.values_list("subject_id", flat=True))
    for subject in people.values():
        if subject.pk not in with_profile:
            subject.__dict__["equality"] = None
    headcount = Counter(group_of(s) for s in people.values() if s.active)
    flagged_people = {
        f.subject_id
        for f in Flag.objects.select_related("detector")
        if start <= f.received_at < end and detector in (None, f.detector.name)
    }
    detector_cases = {
        link.case_id
        for link in CaseFlag.objects.select_related("flag__detector")
        if detector in (None, link.flag.detector.name)
    }
    flagged = Counter(group_of(people[pk]) for pk in flagged_people)
    opened: Counter[str] = Counter()
    adverse: Counter[str] = Counter()
    confirmed: Counter[str] = Counter()
    wrong: Counter[str] = Counter()
    for case in Case.objects.all():
        if not start <= case.opened_at < end or case.pk not in detector_cases:
            continue
        key = group_of(people[case.subject_id])
        opened[key] += 1
        adverse[key] += case.outcome in (Outcome.MANAGEMENT_ADVICE, Outcome.REFERRAL)
        found = outcome_class_of(case)
        confirmed[key] += found == OutcomeClass.CONFIRMED
        wrong[key] += found == OutcomeClass.WRONG
    keys = set(headcount) | set(flagged) | set(opened)
    return {
        key: (headcount[key], flagged[key], opened[key], adverse[key], confirmed[key], wrong[key])
        for key in keys
    }


@pytest.mark.parametrize(
    ("durations", "expected"),
    [
        ({}, Spread(0, None, None, None)),
        ({3: 1}, Spread(1, 3, 3, 3)),
        ({1: 1, 2: 1, 3: 1, 10: 1}, Spread(4, 2.5, 10, 10)),
        ({5: 9, 20: 1}, Spread(10, 5, 5, 20)),
        ({5: 8, 20: 2}, Spread(10, 5, 20, 20)),
    ],
)
def test_the_median_and_the_90th_percentile(durations: dict[int, int], expected: Spread) -> None:
    assert spread(Counter(durations)) == expected


def test_a_period_is_whole_days_in_the_forces_time_zone() -> None:
    start, end = bounds(date(2026, 3, 29), date(2026, 3, 29))

    assert start.isoformat() == "2026-03-29T00:00:00+00:00"
    # The clocks go forward that night: the day is 23 hours long.
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=23)
    assert timezone.localtime(end).date() == date(2026, 3, 30)


def test_a_correction_shows_as_a_wrong_lead_and_an_upheld_challenge_of_its_detector(
    world: World,
) -> None:
    from appeals import services as appeals_services
    from tests.appeals.conftest import file_inaccurate

    challenge = file_inaccurate(world, world.records[0])
    steward = world.actor("dan.steward")
    appeals_services.acknowledge_challenge(challenge.pk, actor=steward, no_conflict_declared=True)
    appeals_services.decide_challenge(
        challenge.pk,
        appeals_services.Adjudication(
            finding="upheld",
            reasons="The payroll export shows no such claim: keyed against the wrong person.",
            remedy="withdrawn",
            no_conflict_declared=True,
        ),
        actor=steward,
    )

    figures = oversight_figures(FIRST, LAST)

    assert figures.cases.leads == 1
    assert figures.cases.classes[OutcomeClass.WRONG] == 1
    [detector] = figures.detectors
    assert (detector.flags, detector.people, detector.leads) == (2, 1, 1)
    assert detector.classes[OutcomeClass.WRONG] == 1
    assert (detector.challenges_decided, detector.challenges_upheld) == (1, 1)
    assert detector.precision.precision == 0.0
    challenges = figures.challenges
    assert (challenges.filed, challenges.acknowledged, challenges.decided, challenges.upheld) == (
        1,
        1,
        1,
        1,
    )
    assert challenges.acknowledged_in_time == challenges.decided_in_time == 1


def test_the_policies_in_force_are_those_active_at_any_time_in_the_period() -> None:
    from casework.models import ThresholdPolicy

    policy = ThresholdPolicy.objects.get()  # the migrations' first policy, active since then
    assert policy.activated_at is not None
    day = timezone.localtime(policy.activated_at).date()

    during = policies_in_force(*bounds(day, day + timedelta(days=1)))
    before = policies_in_force(*bounds(day - timedelta(days=30), day - timedelta(days=1)))

    assert [(row.version, row.status) for row in during] == [(1, "Active")]
    assert before == []

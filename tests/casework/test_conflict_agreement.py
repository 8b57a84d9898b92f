"""The conflict check and the work queue agree with each other, and with the rule, for every
viewer and every person in random organisation charts (Hypothesis).

A chart is a forest of line managers up to six deep across a few units, with a case about each
person (live for a few of them, concluded for the rest), a few reviewers linked to their own
record or to none, and a few declared conflicts. For every reviewer and every person, the
check's ``passes`` (the case page, the API, the services) must equal whether the work queue, as
the conflict scope filters it, shows the case about that person; and both must equal the rule
worked out here from the chart itself, so that the two cannot agree on a mistake.
"""

from dataclasses import dataclass

import pytest
from django.contrib.auth.models import Group, User
from django.db import transaction
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from audit.actors import Role, system_actor
from casework.conflicts import check_conflict
from casework.models import LIVE_STATUSES, Case, CaseStatus, DeclaredConflict, ThresholdPolicy
from casework.selectors import ALL_STATUSES, QueueFilters, active_policy, work_queue
from flags.models import Subject
from tests.factories import NOW, CaseFactory, SubjectFactory, UserFactory

pytestmark = pytest.mark.django_db

MAX_DEPTH = 6
# The last differs from the first only in case: units match exactly, as the register spells them.
UNITS = ["North Response", "North CID", "South Response", "South CID", "Command", "north response"]
LONG_CHAIN = 52
CONCLUDED = [CaseStatus.CLOSED, CaseStatus.REFERRED, CaseStatus.WITHDRAWN]


@dataclass(frozen=True)
class Chart:
    managers: tuple[int | None, ...]  # each person's line manager, by position
    units: tuple[str, ...]
    statuses: tuple[str, ...]  # the status of the one case about each person
    viewers: tuple[int | None, ...]  # each reviewer's own record, or None: not linked
    declared: frozenset[tuple[int, int]]  # (reviewer, person)

    def managers_of(self, person: int) -> set[int]:
        found: set[int] = set()
        manager = self.managers[person]
        while manager is not None:
            found.add(manager)
            manager = self.managers[manager]
        return found

    def barred(self, viewer: int, person: int) -> bool:
        """The rule, from the chart alone."""
        own = self.viewers[viewer]
        if own is None or self.statuses[own] in LIVE_STATUSES:
            return True
        return (
            person == own
            or own in self.managers_of(person)
            or person in self.managers_of(own)
            or self.units[own] == self.units[person]
            or (viewer, person) in self.declared
        )


@st.composite
def charts(draw: st.DrawFn) -> Chart:
    # One or two people at each level, down to six below the top: each draws a manager from
    # the level above, so chains run deep and branch, with people sideways of each other.
    widths = draw(st.lists(st.integers(1, 2), min_size=1, max_size=MAX_DEPTH + 1))
    managers: list[int | None] = []
    above: list[int] = []
    for width in widths:
        level = list(range(len(managers), len(managers) + width))
        managers += [draw(st.sampled_from(above)) if above else None for _ in level]
        above = level
    size = len(managers)
    units = draw(st.lists(st.sampled_from(UNITS), min_size=size, max_size=size))
    live = draw(st.sets(st.integers(0, size - 1), max_size=1))
    statuses = tuple(
        draw(st.sampled_from(LIVE_STATUSES if person in live else CONCLUDED))
        for person in range(size)
    )
    linked = draw(st.lists(st.integers(0, size - 1), min_size=1, max_size=2, unique=True))
    unlinked = draw(st.sampled_from([False, False, False, True]))  # one chart in four
    viewers = (*linked, None) if unlinked else tuple(linked)
    declared = draw(
        st.frozensets(st.tuples(st.integers(0, len(viewers) - 1), st.integers(0, size - 1)))
    )
    return Chart(tuple(managers), tuple(units), statuses, viewers, declared)


@dataclass(frozen=True)
class Setting:
    """The rows every chart's cases and reviewers need, made once for all the examples."""

    policy: ThresholdPolicy
    opener: User
    reviewers: Group


@pytest.fixture
def setting(db: None) -> Setting:
    return Setting(active_policy(), system_actor().user, Group.objects.get(name=Role.REVIEWER))


@given(chart=charts())
# A reviewer in the middle of a chain six deep: the manager's manager and the report's report
# are barred, the other branch and the cousin in another unit are not.
@example(
    chart=Chart(
        managers=(None, 0, 1, 2, 3, 4, 5, 1, 7),
        units=(
            "North CID",
            "South Response",
            "North CID",
            "North Response",
            "South Response",
            "North CID",
            "South Response",
            "South Response",
            "north response",
        ),
        statuses=(CaseStatus.CLOSED,) * 8 + (CaseStatus.OPEN,),
        viewers=(3, None, 8),
        declared=frozenset({(0, 7), (1, 0)}),
    )
)
# A chain longer than the fifty levels the check once walked: it let the top through where the
# queue did not.
@example(
    chart=Chart(
        managers=(None, *range(LONG_CHAIN - 1)),
        units=tuple(f"Unit {level}" for level in range(LONG_CHAIN)),
        statuses=(CaseStatus.CLOSED,) * LONG_CHAIN,
        viewers=(LONG_CHAIN - 1, 0),
        declared=frozenset(),
    )
)
@settings(
    max_examples=100,
    deadline=None,
    # The same charts every run, on every database: CI is never flaky.
    derandomize=True,
    database=None,
    # The fixture's rows are the same for every chart; each chart's own are rolled back.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
def test_the_check_and_the_queue_agree_with_the_rule_for_every_pair(
    setting: Setting, chart: Chart
) -> None:
    # Each example in a savepoint, rolled back: examples never share rows.
    with transaction.atomic():
        people, reviewers = _build(chart, setting)
        for viewer, user in enumerate(reviewers):
            _assert_agreement(chart, viewer, user, people)
        transaction.set_rollback(True)


def _assert_agreement(chart: Chart, viewer: int, user: User, people: list[Subject]) -> None:
    queue = work_queue(user, QueueFilters(status=ALL_STATUSES))
    shown = set(queue.values_list("subject_id", flat=True))
    for person, subject in enumerate(people):
        barred = chart.barred(viewer, person)
        where = f"reviewer {viewer} on person {person}"
        assert check_conflict(user, subject).passes is not barred, where
        assert (subject.pk in shown) is not barred, where


def _build(chart: Chart, setting: Setting) -> tuple[list[Subject], list[User]]:
    """The chart's rows, a handful of bulk inserts whatever its size."""
    reviewers = User.objects.bulk_create([UserFactory.build() for _ in chart.viewers])
    setting.reviewers.user_set.add(*reviewers)
    accounts = dict(zip(chart.viewers, reviewers, strict=True))
    people: list[Subject] = []
    for level in _levels(chart.managers):
        people += Subject.objects.bulk_create(
            SubjectFactory.build(
                unit=chart.units[person],
                line_manager=_manager(chart, person, people),
                user=accounts.get(person),
            )
            for person in level
        )
    Case.objects.bulk_create(
        CaseFactory.build(
            subject=person, status=status, policy=setting.policy, opened_by=setting.opener
        )
        for person, status in zip(people, chart.statuses, strict=True)
    )
    DeclaredConflict.objects.bulk_create(
        DeclaredConflict(user=reviewers[viewer], subject=people[person], declared_at=NOW)
        for viewer, person in chart.declared
    )
    return people, reviewers


def _manager(chart: Chart, person: int, people: list[Subject]) -> Subject | None:
    manager = chart.managers[person]
    return None if manager is None else people[manager]


def _levels(managers: tuple[int | None, ...]) -> list[list[int]]:
    """The people in runs whose managers all come in earlier runs: one insert a run."""
    levels: list[list[int]] = [[]]
    for person, manager in enumerate(managers):
        if manager is not None and manager in levels[-1]:
            levels.append([])
        levels[-1].append(person)
    return levels

"""Propagation is set-based: filing a challenge on a record many cases rest on, and upholding it,
cost the same statements for one flag in one case as for 200 flags across 200 cases
(appeals.services.challenges, casework.services.reevaluation, flags.corrections).

Every case opens through the real ingest API and threshold evaluation (overtime: two counting
flags), so that evaluating it again means something. Each subject has one flag on the shared
record and one on a record of their own, so that without the shared record their case falls
below the threshold and is withdrawn; in the mixed runs every other subject has a third flag of
their own, so that half the cases still meet the threshold and are released.

Django sends SQLite at most 999 parameters in one statement, so it splits a bulk insert or bulk
update of many rows into batches of the same statement. A batch is not a query per row, and
``statements`` counts such a run once; a loop of single-row statements is never folded, so a
query per row still shows. PostgreSQL takes each bulk write whole, and there the raw counts must
be equal too. (There the audit log's rows go by COPY on psycopg's own cursor, which Django's
query log does not see: one COPY per batch of events, whatever its size.)
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from appeals import services
from appeals.models import Challenge, Remedy
from audit.actors import Actor, Role, system_actor
from casework.models import (
    Case,
    CaseReevaluation,
    CaseStatus,
    Consequence,
    Decision,
    DecisionKind,
    Notification,
    NotificationKind,
)
from casework.services import send_due_notifications
from flags.models import EvidenceRecord, EvidenceStatus, Flag, FlagStatus
from tests.appeals.conftest import flagged_subject, verify_audit
from tests.factories import EvidenceItemFactory, FlagItemFactory, SubjectFactory
from tests.ingest_client import post_flags

REASONS = "The roster extract was joined to the wrong shift pattern for the whole relief."


@dataclass
class Shared:
    """One evidence record under one flag in each of ``cases``."""

    record: EvidenceRecord
    filer: Actor
    cases: list[Case]
    flags: list[Flag]  # the flags resting on the shared record
    keeping: set[int]  # the cases that still meet the threshold without it


def shared_record(client: Any, size: int, *, mixed: bool) -> Shared:
    """``size`` subjects, each with a case resting partly on one shared record; the first has an
    account and files the challenge."""
    filer = flagged_subject(f"filer.{size}.{int(mixed)}")
    subjects = [filer.subject, *SubjectFactory.create_batch(size - 1)]
    shared = EvidenceItemFactory.create(source_system="roster", record_type="roster")
    items = []
    keeping = set()
    for n, subject in enumerate(subjects):
        own = 2 if mixed and n % 2 == 1 else 1
        if own == 2:
            keeping.add(subject.pk)
        items.append(FlagItemFactory.create(subject=subject.staff_number, evidence=[shared]))
        items += FlagItemFactory.create_batch(own, subject=subject.staff_number)
    response = post_flags(client, items)
    assert response.status_code == 200, response.content
    send_due_notifications(actor=system_actor())
    record = EvidenceRecord.objects.get(record_id=shared["record_id"])
    cases = list(Case.objects.filter(subject__in=subjects).order_by("pk"))
    assert len(cases) == size
    assert {case.status for case in cases} == {CaseStatus.OPEN}
    return Shared(
        record=record,
        filer=Actor(user=filer, role=Role.SUBJECT),
        cases=cases,
        flags=list(Flag.objects.filter(evidence=record).order_by("pk")),
        keeping={case.pk for case in cases if case.subject_id in keeping},
    )


def file(shared: Shared) -> Challenge:
    return services.file_challenge(
        services.ChallengeRequest(
            kind="inaccurate",
            evidence=shared.record.pk,
            grounds="I was not on that relief: the roster row is another shift's.",
            proposed_correction="Remove the roster row from my record.",
        ),
        actor=shared.filer,
    )


def uphold(challenge: Challenge, steward: Actor) -> None:
    services.decide_challenge(
        challenge.pk,
        services.Adjudication(
            finding="upheld", reasons=REASONS, remedy=Remedy.WITHDRAWN, no_conflict_declared=True
        ),
        actor=steward,
    )


# --- counting ------------------------------------------------------------------------------------

_STRING = re.compile(r"'(?:[^']|'')*'")
_NUMBER = re.compile(r"\b\d+\b")
_INSERT = re.compile(r"^INSERT INTO (\S+) \(([^)]*)\) VALUES ")
_BULK_UPDATE = re.compile(r"^UPDATE (\S+) SET (.*?) = \(?CASE WHEN")


def _bulk_shape(sql: str) -> tuple[str, int] | None:
    """A bulk write's statement (its table and columns) and how many rows it writes; None for
    any other statement."""
    plain = _NUMBER.sub("0", _STRING.sub("''", sql))
    if insert := _INSERT.match(plain):
        values = plain[insert.end() :].split(" RETURNING ")[0]
        return f"insert {insert[1]} ({insert[2]})", values.count("), (") + 1
    if update := _BULK_UPDATE.match(plain):
        ids = plain.rsplit(" IN (", 1)[-1]
        return f"update {update[1]} {update[2]}", ids.count(",") + 1
    return None


def statements(queries: list[dict[str, Any]]) -> int:
    """How many statements ``queries`` are, a bulk write split into batches counting once: a
    batch that follows a batch of several rows of the same statement continues it. A loop of
    single-row writes is not folded."""
    count = 0
    previous: tuple[str, int] | None = None
    for query in queries:
        shape = _bulk_shape(query["sql"])
        continues = bool(shape and previous and shape[0] == previous[0] and previous[1] > 1)
        if not continues:
            count += 1
        previous = shape
    return count


@dataclass(frozen=True)
class Count:
    queries: int
    statements: int

    @classmethod
    def of(cls, captured: CaptureQueriesContext) -> "Count":
        # Read at once: the connection keeps only its latest queries.
        return cls(len(captured), statements(captured.captured_queries))


@dataclass
class Counted:
    shared: Shared
    filing: Count  # disputing the record, holding the cases
    upholding: Count  # withdrawing the record and its flags, evaluating again


@pytest.fixture
def propagate(
    people: dict[str, Any], detector_client: Any, settings: Any, frozen_today: Any
) -> Callable[..., Counted]:
    """File a challenge on a record ``size`` cases rest on, and uphold it, counting queries."""
    settings.SUBJECT_NOTICE_DELAY_HOURS = 0
    steward = Actor(user=people["dan.steward"], role=Role.DATA_STEWARD)

    def run(size: int, *, mixed: bool) -> Counted:
        shared = shared_record(detector_client, size, mixed=mixed)
        with CaptureQueriesContext(connection) as filing:
            challenge = file(shared)
        assert_held(shared)
        services.acknowledge_challenge(challenge.pk, actor=steward, no_conflict_declared=True)
        with CaptureQueriesContext(connection) as upholding:
            uphold(challenge, steward)
        assert_propagated(shared)
        return Counted(shared, Count.of(filing), Count.of(upholding))

    return run


def assert_held(shared: Shared) -> None:
    assert set(
        Case.objects.filter(pk__in=[case.pk for case in shared.cases]).values_list(
            "status", flat=True
        )
    ) == {CaseStatus.ON_HOLD}
    assert Decision.objects.filter(case__in=shared.cases, kind=DecisionKind.HOLD).count() == len(
        shared.cases
    )


def assert_propagated(shared: Shared) -> None:
    record = EvidenceRecord.objects.get(pk=shared.record.pk)
    assert record.status == EvidenceStatus.WITHDRAWN
    resting = [flag.pk for flag in shared.flags]
    assert len(resting) == len(shared.cases)
    assert set(Flag.objects.filter(pk__in=resting).values_list("status", flat=True)) == {
        FlagStatus.WITHDRAWN
    }
    # Each subject's own flags still stand.
    assert not (
        Flag.objects.filter(subject__in=[case.subject_id for case in shared.cases])
        .exclude(pk__in=resting)
        .exclude(status=FlagStatus.ACTIVE)
        .exists()
    )
    statuses = dict(
        Case.objects.filter(pk__in=[case.pk for case in shared.cases]).values_list("pk", "status")
    )
    assert statuses == {
        case.pk: CaseStatus.OPEN if case.pk in shared.keeping else CaseStatus.WITHDRAWN
        for case in shared.cases
    }
    again = CaseReevaluation.objects.filter(case__in=shared.cases)
    assert dict(again.values_list("case_id", "consequence")) == {
        case.pk: Consequence.RELEASED if case.pk in shared.keeping else Consequence.WITHDRAWN
        for case in shared.cases
    }
    assert dict(again.values_list("case_id", "met")) == {
        case.pk: case.pk in shared.keeping for case in shared.cases
    }
    withdrawn = [case.pk for case in shared.cases if case.pk not in shared.keeping]
    # Each withdrawn case's subject is told at once; the others hear nothing new.
    told = Notification.objects.filter(
        case__in=shared.cases, kind=NotificationKind.CASE_CONCLUDED, sent_at__isnull=False
    )
    assert sorted(told.values_list("case_id", flat=True)) == withdrawn
    assert_history_names_each_move(shared)
    assert "Insert-only rows match" in verify_audit()


def assert_history_names_each_move(shared: Shared) -> None:
    """Each case's latest history row holds the case as it is, and names the decision that
    moved it, as a single move by casework.services.review does."""
    latest = {
        row.id: row
        for row in Case.history.filter(id__in=[case.pk for case in shared.cases]).order_by(
            "history_date", "history_id"
        )
    }
    last_decision = dict(
        Decision.objects.filter(case__in=shared.cases).order_by("pk").values_list("case_id", "pk")
    )
    for case in Case.objects.filter(pk__in=[case.pk for case in shared.cases]):
        row = latest[case.pk]
        assert (row.status, row.held_from, row.concluded_at, row.status_changed_at) == (
            case.status,
            case.held_from,
            case.concluded_at,
            case.status_changed_at,
        )
        kind = (
            DecisionKind.WITHDRAWAL if case.status == CaseStatus.WITHDRAWN else DecisionKind.RELEASE
        )
        label = kind.label.lower()
        assert row.history_change_reason == f"{label} (decision {last_decision[case.pk]})"


@pytest.mark.parametrize(
    ("few", "mixed"),
    [
        # Every case falls below the threshold: the withdrawal path alone.
        (1, False),
        # Half fall and half still meet it: the withdrawal and the release paths both run.
        (2, True),
    ],
)
def test_filing_and_upholding_cost_the_same_statements_for_few_cases_as_for_200(
    propagate: Callable[..., Counted], few: int, mixed: bool
) -> None:
    small = propagate(few, mixed=mixed)
    large = propagate(200, mixed=mixed)

    assert len(large.shared.flags) == 200
    assert len(large.shared.keeping) == (100 if mixed else 0)
    report = "; ".join(
        f"{step} {size} case(s): {count.queries} queries, {count.statements} statements"
        for size, counted in ((few, small), (200, large))
        for step, count in (("filing", counted.filing), ("upholding", counted.upholding))
    )
    assert (small.filing.statements, small.upholding.statements) == (
        large.filing.statements,
        large.upholding.statements,
    ), report
    if connection.vendor == "postgresql":
        assert (small.filing, small.upholding) == (large.filing, large.upholding), report


@pytest.mark.parametrize(
    ("sql", "shape"),
    [
        (
            'INSERT INTO "t" ("a", "b") VALUES (1, \'x\'), (2, \'y, (z)\') RETURNING "t"."id"',
            ('insert "t" ("a", "b")', 2),
        ),
        ('INSERT INTO "t" ("a") VALUES (1)', ('insert "t" ("a")', 1)),
        (
            'UPDATE "t" SET "s" = (CASE WHEN ("t"."id" = 1) THEN \'a\' WHEN ("t"."id" = 2) '
            'THEN \'b\' ELSE NULL END)::varchar(20) WHERE "t"."id" IN (1, 2)',
            ('update "t" "s"', 2),
        ),
        ('UPDATE "t" SET "s" = \'a\' WHERE "t"."id" = 1', None),
        ('SELECT "t"."id" FROM "t" WHERE "t"."id" IN (1, 2)', None),
    ],
)
def test_a_bulk_write_is_known_by_its_statement_and_rows(
    sql: str, shape: tuple[str, int] | None
) -> None:
    assert _bulk_shape(sql) == shape


def test_batches_of_one_bulk_write_count_once_and_a_loop_of_single_rows_does_not() -> None:
    batch = 'INSERT INTO "t" ("a") VALUES (1), (2)'
    single = 'INSERT INTO "t" ("a") VALUES (3)'
    select = 'SELECT 1 FROM "t"'
    assert statements([{"sql": s} for s in (batch, batch, single, select)]) == 2
    assert statements([{"sql": s} for s in (single, single, single)]) == 3
    assert statements([{"sql": s} for s in (batch, select, batch)]) == 3

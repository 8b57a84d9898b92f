"""Propagation of an upheld challenge at full scale, timed and counted beside the threshold
evaluation alone.

Works on the full-size database of benchmarks/pages.py (46,000 subjects, 1,000,000 flags,
50,000 cases, their decisions, notices, history and audit chain), built by that script's own
builders unless --reuse finds one it finished. Each run, in one transaction that is rolled back
at its end, so that every run starts from the same data and the database is left as built:

1. picks --cases people with no live case and no flag that could count under the active policy,
   and posts, through ``flags.services.ingest_flags`` as the overtime detector, --flags overtime
   flags resting on one shared duty-roster record (two or three a person) and one or two flags
   on records of each person's own; the real threshold evaluation opens a case for each. Every
   other person has a second record of their own, so their case still meets the policy without
   the shared record; the rest fall below it;
2. the first of them, given a subject's account and told of their case, files an *inaccurate*
   challenge to the shared record (``appeals.services.file_challenge``: the record disputed, the
   cases held), timed and counted;
3. a data steward linked to a record in another unit, who passes the conflict check,
   acknowledges it; then ``decide_challenge`` (upheld, record withdrawn) is timed end to end
   and its SQL counted: the record and its flags withdrawn, every case evaluated again under
   the policy it opened under, withdrawn or released, the re-evaluations stored, the subjects
   told, each step audited;
4. the evaluation alone is timed on the same cases as the propagation evaluated them:
   ``casework.selectors.candidate_flags_of_cases`` and ``evaluate_again`` (what
   ``reevaluate_cases`` computes before it writes), the median of --repeats;
5. the outcome is checked (every flag on the record withdrawn, every case re-evaluated, withdrawn
   or released as its own records say); in the last run, ``manage.py verify_audit`` and the
   history checks of pages.py run on the run's data before it is rolled back.

The commit is not timed (nothing is committed), and neither are the e-mails the committed
transaction would queue. Queries are counted with Django's ``execute_wrapper``; the audit log's
rows go to PostgreSQL by COPY on psycopg's own cursor, past Django's wrappers, and are counted by
wrapping psycopg's ``Cursor.copy`` for the timed call.

The script prints each run and the median, against the targets: propagation under 2 s, and at
most twice the evaluation alone.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/scrutiny_bench_big \\
        .venv/bin/python benchmarks/appeals.py [--runs 5] [--cases 200] [--flags 500] \\
        [--repeats 5] [--reuse] [--check] [--skip-checks] [--profile] [--slowest 0]

The database is the one DATABASE_URL names (else --database, default scrutiny_bench_pages, the
pages benchmark's own); it is dropped and rebuilt unless --reuse finds it built by pages.py.
Never point it at a database you want to keep. --check runs pages.py's checks (verify_audit, the
history against the rows) on a reused database before measuring; --skip-checks leaves out the
checks of the last run's data (verify_audit reads the whole chain: minutes at this scale);
--profile prints where the
time of one more propagation goes (cProfile); --slowest N prints each run's N slowest queries.
Needs PostgreSQL on 127.0.0.1:5432 (trust auth, user postgres), as pages.py does.
"""

import argparse
import cProfile
import io
import os
import pstats
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import psycopg

# The apps of this checkout first, and not this script's directory, where this file's name
# would hide the appeals app.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

from benchmarks import pages  # noqa: E402

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from appeals.models import Challenge
    from audit.actors import Actor
    from casework.thresholds import CategoryRule, Evaluation
    from flags.models import Subject

TARGET_SECONDS = 2.0
TARGET_RATIO = 2.0
CATEGORY = "overtime_fraud"
DETECTOR = "overtime"
REASONS = (
    "The roster extract joined B relief's night shifts to the wrong pay period: none of these "
    "officers worked the hours it shows."
)


# --- the scenario -----------------------------------------------------------------------------


@dataclass
class Scenario:
    """One run's people, record and cases."""

    subjects: list["Subject"]
    keeping: set[int]  # the subjects whose case meets the policy without the shared record
    record_id: int
    filer: "Actor"
    steward: "Actor"
    cases: list[int] = field(default_factory=list)


def free_people(count: int, rng: random.Random, rules: dict[str, "CategoryRule"]) -> list[Any]:
    """``count`` people at random, outside Professional Standards, with no account, no live case
    and no active flag that could count under the policy today: their cases open on the flags
    posted here alone."""
    from django.utils import timezone

    from casework.models import LIVE_STATUSES
    from casework.selectors import candidate_flags
    from flags.models import Subject

    ids = list(
        Subject.objects.filter(active=True, user__isnull=True)
        .exclude(unit="Professional Standards")
        .exclude(cases__status__in=LIVE_STATUSES)
        .values_list("pk", flat=True)
        .order_by("pk")
    )
    rng.shuffle(ids)
    chosen: list[int] = []
    for start in range(0, len(ids), 2000):
        sample = ids[start : start + 2000]
        counting = candidate_flags(sample, rules, timezone.localdate())
        chosen += [pk for pk in sample if not counting.get(pk)][: count - len(chosen)]
        if len(chosen) == count:
            break
    else:
        raise SystemExit(f"Only {len(chosen)} people without counting flags; asked for {count}.")
    found = Subject.objects.in_bulk(chosen)
    return [found[pk] for pk in chosen]


def evidence(record_type: str, record_id: str, day: Any, summary: str) -> dict[str, Any]:
    return {
        "source_system": "duty_roster",
        "record_type": record_type,
        "record_id": record_id,
        "occurred_at": f"{day.isoformat()}T22:00:00Z",
        "summary": summary,
        "payload": {"reference": record_id, "date": day.isoformat()},
    }


def flag_items(
    subjects: list[Any], flags: int, stamp: str
) -> tuple[list[dict[str, Any]], set[int]]:
    """The detector's batch: ``flags`` flags on one shared roster record, spread over the
    subjects (two or three each), and one or two flags on records of each subject's own."""
    from django.utils import timezone

    today = timezone.localdate()
    shared = evidence(
        "roster",
        f"ROSTER-B-RELIEF-{stamp}",
        today - timedelta(days=20),
        "Duty roster, B relief, nights: rest-day overtime rostered for the whole relief",
    )
    base, extra = divmod(flags, len(subjects))
    items: list[dict[str, Any]] = []
    keeping = set()

    def item(subject: Any, n: int, records: list[dict[str, Any]], score: float) -> dict[str, Any]:
        end = today - timedelta(days=7 + n)
        return {
            "external_id": f"bench-appeals-{stamp}-{subject.staff_number}-{n}",
            "subject": subject.staff_number,
            "category": CATEGORY,
            "rule": "overtime.peer_robust_z",
            "detector_version": pages.DETECTOR_VERSION,
            "score": score,
            "explanation": "Claimed overtime far above unit-and-role peers over the month.",
            "factors": [{"name": "robust_z", "value": round(score * 6, 2), "weight": 1.0}],
            "window": {
                "start": (end - timedelta(days=27)).isoformat(),
                "end": end.isoformat(),
            },
            "evidence": records,
        }

    for i, subject in enumerate(subjects):
        on_shared = base + (1 if i < extra else 0)
        own = 2 if i % 2 == 1 else 1
        if own == 2:
            keeping.add(subject.pk)
        for n in range(on_shared):
            items.append(item(subject, n, [shared], 0.65 + 0.05 * n))
        for n in range(own):
            record = evidence(
                "overtime",
                f"OT-{stamp}-{subject.staff_number}-{n}",
                today - timedelta(days=12 + n),
                f"Overtime claim: {4 + n} hours (rest day)",
            )
            items.append(item(subject, on_shared + n, [record], 0.7))
    return items, keeping


def post_flags(items: list[dict[str, Any]]) -> None:
    from django.test import override_settings

    from audit.actors import Actor, Role
    from flags.models import Detector
    from flags.services import ingest_flags

    detector = Detector.objects.select_related("user").get(slug=DETECTOR)
    # Notices go at once, as the demo sends them, so that the filer has been told of the case.
    with override_settings(SUBJECT_NOTICE_DELAY_HOURS=0):
        outcomes = ingest_flags(
            detector=detector, raw_items=items, actor=Actor(detector.user, Role.DETECTOR)
        )
    refused = [outcome for outcome in outcomes if outcome.status != "created"]
    if refused:
        raise SystemExit(f"The ingest refused {len(refused)} flag(s): {refused[:3]}")


def tell_everyone() -> None:
    """The scheduled sending of due notices, as often as it takes to send them all."""
    from audit.actors import system_actor
    from casework.services import send_due_notifications

    while send_due_notifications(actor=system_actor()):
        pass


def steward_for(filer: "Subject") -> "User":
    """A data steward linked to a record with no case, outside the filer's unit, who passes the
    conflict check for the filer; tried in turn, each refused one undone."""
    from django.db import transaction

    from accounts.services import create_user
    from audit.actors import Role, system_actor
    from casework.conflicts import check_conflict
    from flags.models import Subject

    people = (
        Subject.objects.filter(active=True, user__isnull=True, cases__isnull=True)
        .exclude(unit=filer.unit)
        .exclude(unit="Professional Standards")
        .order_by("staff_number")
    )
    for person in people[:20]:
        with transaction.atomic():
            user = create_user(
                "bench.steward", role=Role.DATA_STEWARD, actor=system_actor(), subject=person
            )
            if check_conflict(user, filer).passes:
                return user
            transaction.set_rollback(True)
    raise SystemExit("No data steward candidate passes the conflict check for the filer.")


def arrange(args: argparse.Namespace, run: int, rules: dict[str, "CategoryRule"]) -> Scenario:
    from accounts.services import create_user
    from audit.actors import Actor, Role, system_actor
    from casework.models import Case
    from flags.models import EvidenceRecord

    rng = random.Random(args.seed * 1000 + run)
    subjects = free_people(args.cases, rng, rules)
    stamp = f"{args.seed}-{run}-{time.time_ns()}"
    items, keeping = flag_items(subjects, args.flags, stamp)
    post_flags(items)
    tell_everyone()
    cases = list(
        Case.objects.filter(subject__in=subjects).order_by("pk").values_list("pk", flat=True)
    )
    if len(cases) != len(subjects):
        raise SystemExit(f"{len(cases)} cases opened for {len(subjects)} people.")
    filer = create_user(
        "bench.subject", role=Role.SUBJECT, actor=system_actor(), subject=subjects[0]
    )
    return Scenario(
        subjects=subjects,
        keeping=keeping,
        record_id=EvidenceRecord.objects.get(record_id=f"ROSTER-B-RELIEF-{stamp}").pk,
        filer=Actor(filer, Role.SUBJECT),
        steward=Actor(steward_for(subjects[0]), Role.DATA_STEWARD),
        cases=cases,
    )


def file(scenario: Scenario) -> "Challenge":
    from appeals.services import ChallengeRequest, file_challenge

    return file_challenge(
        ChallengeRequest(
            kind="inaccurate",
            evidence=scenario.record_id,
            grounds="I was on leave for the whole period this roster shows me on nights.",
            proposed_correction="Remove the rostered overtime: none was worked.",
        ),
        actor=scenario.filer,
    )


def uphold(challenge: "Challenge", steward: "Actor") -> None:
    from appeals.models import Remedy
    from appeals.services import Adjudication, decide_challenge

    decide_challenge(
        challenge.pk,
        Adjudication(
            finding="upheld", reasons=REASONS, remedy=Remedy.WITHDRAWN, no_conflict_declared=True
        ),
        actor=steward,
    )


def evaluate_alone(case_ids: list[int]) -> dict[int, "Evaluation"]:
    """What ``reevaluate_cases`` computes before it writes: the cases with their policies, their
    flags on the evidence that still stands, and the evaluation under the policy each opened
    under."""
    from casework.models import Case
    from casework.selectors import candidate_flags_of_cases, evaluate_again

    cases = list(Case.objects.select_related("policy").filter(pk__in=case_ids).order_by("pk"))
    flags = candidate_flags_of_cases(case_ids)
    return {case.pk: evaluate_again(case, flags[case.pk]) for case in cases}


# --- measuring --------------------------------------------------------------------------------


@dataclass
class Counted:
    """The SQL one call sent: each statement through Django, and each COPY past it."""

    queries: list[tuple[float, str]] = field(default_factory=list)
    copies: int = 0

    @property
    def count(self) -> int:
        return len(self.queries) + self.copies


@contextmanager
def counting() -> Iterator[Counted]:
    from django.db import connection

    counted = Counted()

    def wrapper(
        execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            counted.queries.append((time.perf_counter() - started, sql))

    original = psycopg.Cursor.copy

    def copy(self: psycopg.Cursor[Any], statement: Any, *args: Any, **kwargs: Any) -> Any:
        counted.copies += 1
        return original(self, statement, *args, **kwargs)

    psycopg.Cursor.copy = copy  # type: ignore[method-assign]
    try:
        with connection.execute_wrapper(wrapper):
            yield counted
    finally:
        psycopg.Cursor.copy = original  # type: ignore[method-assign]


@dataclass(frozen=True)
class Run:
    number: int
    filing_seconds: float
    filing_queries: int
    seconds: float
    queries: int
    evaluation_seconds: float
    withdrawn: int
    released: int
    flags_withdrawn: int
    slowest: list[tuple[float, str]]

    @property
    def ratio(self) -> float:
        return self.seconds / self.evaluation_seconds


class OutcomeWrong(SystemExit):
    pass


def check_outcome(scenario: Scenario, evaluations: dict[int, "Evaluation"]) -> tuple[int, int, int]:
    """Every flag on the record withdrawn; each case re-evaluated, withdrawn or released as its
    own records say, and as the evaluation alone found. Returns the counts."""
    from casework.models import Case, CaseReevaluation, CaseStatus, Consequence
    from flags.models import EvidenceRecord, EvidenceStatus, Flag, FlagStatus

    record = EvidenceRecord.objects.get(pk=scenario.record_id)
    flags = Flag.objects.filter(evidence=record)
    withdrawn_flags = flags.filter(status=FlagStatus.WITHDRAWN).count()
    statuses = dict(Case.objects.filter(pk__in=scenario.cases).values_list("subject_id", "status"))
    again = dict(
        CaseReevaluation.objects.filter(case__in=scenario.cases).values_list(
            "case_id", "consequence"
        )
    )
    expected = {
        subject.pk: CaseStatus.OPEN if subject.pk in scenario.keeping else CaseStatus.WITHDRAWN
        for subject in scenario.subjects
    }
    problems = []
    if record.status != EvidenceStatus.WITHDRAWN:
        problems.append(f"the record is {record.status}")
    if withdrawn_flags != flags.count():
        problems.append(f"{withdrawn_flags} of {flags.count()} flags on the record withdrawn")
    if statuses != expected:
        problems.append("cases did not end as their own records say")
    if set(again) != set(scenario.cases):
        problems.append(f"{len(again)} re-evaluations for {len(scenario.cases)} cases")
    met = {pk for pk, evaluation in evaluations.items() if evaluation.met}
    released = {pk for pk, consequence in again.items() if consequence == Consequence.RELEASED}
    if met != released:
        problems.append("the evaluation alone disagrees with the propagation")
    if problems:
        raise OutcomeWrong("The propagation went wrong: " + "; ".join(problems))
    withdrawn = sum(status == CaseStatus.WITHDRAWN for status in statuses.values())
    return withdrawn, len(statuses) - withdrawn, withdrawn_flags


def measure_run(args: argparse.Namespace, number: int, rules: dict[str, "CategoryRule"]) -> Run:
    """One run, in a transaction rolled back at its end."""
    from django.db import transaction

    from appeals.services import acknowledge_challenge

    with transaction.atomic():
        scenario = arrange(args, number, rules)
        with counting() as filing_counted:
            started = time.perf_counter()
            challenge = file(scenario)
            filing_seconds = time.perf_counter() - started
        acknowledge_challenge(challenge.pk, actor=scenario.steward, no_conflict_declared=True)
        with counting() as counted:
            started = time.perf_counter()
            uphold(challenge, scenario.steward)
            seconds = time.perf_counter() - started
        timings = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            evaluations = evaluate_alone(scenario.cases)
            timings.append(time.perf_counter() - started)
        withdrawn, released, flags_withdrawn = check_outcome(scenario, evaluations)
        if number == args.runs and not args.skip_checks:
            check_before_rollback()
        transaction.set_rollback(True)
    return Run(
        number=number,
        filing_seconds=filing_seconds,
        filing_queries=filing_counted.count,
        seconds=seconds,
        queries=counted.count,
        evaluation_seconds=statistics.median(timings),
        withdrawn=withdrawn,
        released=released,
        flags_withdrawn=flags_withdrawn,
        slowest=sorted(counted.queries, reverse=True)[: args.slowest],
    )


def check_before_rollback() -> None:
    """The application's own checks on the run's data, seen from inside its transaction."""
    with pages.stage("check: verify_audit, with the run's data"):
        audit, report = pages.verify_audit()
    print("\n".join(f"    {line}" for line in report.splitlines()))
    with pages.stage("check: history against the rows"):
        history = pages.history_problems()
    if audit or history:
        listed = "\n".join(f"- {problem}" for problem in audit + history)
        raise OutcomeWrong(f"The run's data fails the application's own checks:\n{listed}")


def profile_run(args: argparse.Namespace, rules: dict[str, "CategoryRule"]) -> None:
    """One more propagation under cProfile: where its time goes."""
    from django.db import transaction

    from appeals.services import acknowledge_challenge

    with transaction.atomic():
        scenario = arrange(args, args.runs + 1, rules)
        challenge = file(scenario)
        acknowledge_challenge(challenge.pk, actor=scenario.steward, no_conflict_declared=True)
        profiler = cProfile.Profile()
        profiler.enable()
        uphold(challenge, scenario.steward)
        profiler.disable()
        transaction.set_rollback(True)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(35)
    print("\nWhere one propagation's time goes (cProfile, cumulative):")
    print(out.getvalue())


# --- reporting --------------------------------------------------------------------------------


def print_runs(runs: list[Run], args: argparse.Namespace) -> None:
    print(
        f"\nUpholding a challenge to one record under {args.flags} flags in {args.cases} cases "
        "(each run rolled back):"
    )
    print(
        f"\n{'run':<8} {'filing s':>9} {'queries':>8} {'propagation s':>14} {'queries':>8} "
        f"{'evaluation s':>13} {'ratio':>6} {'withdrawn':>10} {'released':>9} {'flags':>6}"
    )
    for r in runs:
        print(
            f"{r.number:<8} {r.filing_seconds:>9.3f} {r.filing_queries:>8} {r.seconds:>14.3f} "
            f"{r.queries:>8} {r.evaluation_seconds:>13.3f} {r.ratio:>6.2f} {r.withdrawn:>10} "
            f"{r.released:>9} {r.flags_withdrawn:>6}"
        )
    # Each run's ratio compares two timings taken moments apart, under the same load: the
    # median of those, not the ratio of the medians, is the verdict.
    seconds = statistics.median(r.seconds for r in runs)
    ratio = statistics.median(r.ratio for r in runs)
    for label, pick in (("median", statistics.median), ("best", min)):
        print(
            f"{label:<8} {pick(r.filing_seconds for r in runs):>9.3f} {'':>8} "
            f"{pick(r.seconds for r in runs):>14.3f} {'':>8} "
            f"{pick(r.evaluation_seconds for r in runs):>13.3f} {pick(r.ratio for r in runs):>6.2f}"
        )
    print(
        f"\n{'target':<44} {'median':>10}  {'':>5}\n"
        f"{'propagation < 2 s':<44} {seconds:>9.3f}s  {pages.verdict(seconds < TARGET_SECONDS)}\n"
        f"{'propagation <= 2 x evaluation alone':<44} {ratio:>9.2f}x  "
        f"{pages.verdict(ratio <= TARGET_RATIO)}"
    )
    counts = {r.queries for r in runs}
    print(
        f"{'same query count every run':<44} {'/'.join(map(str, sorted(counts))):>10}  "
        f"{pages.verdict(len(counts) == 1)}"
    )
    for r in runs:
        if r.slowest:
            print(f"\nRun {r.number}: its {len(r.slowest)} slowest queries")
            for seconds_taken, sql in r.slowest:
                print(f"  {seconds_taken * 1000:8.1f} ms  {' '.join(sql.split())[:160]}")


def default_database() -> str:
    url = os.environ.get("DATABASE_URL", "")
    name = urlsplit(url).path.lstrip("/") if url.startswith("postgres") else ""
    return name or "scrutiny_bench_pages"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=default_database())
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--flags", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=5, help="evaluations timed per run")
    parser.add_argument("--reuse", action="store_true", help="keep a database already built")
    parser.add_argument("--check", action="store_true", help="check a reused database first")
    parser.add_argument(
        "--skip-checks",
        action="store_true",
        help="skip verify_audit and the history checks on the last run's data (minutes at scale)",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile one more propagation")
    parser.add_argument("--slowest", type=int, default=0, help="print each run's N slowest SQL")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if args.flags < args.cases or args.cases < 2:
        parser.error("--cases must be at least 2, and --flags at least --cases")

    pages.configure_django(args.database)
    pages.ensure_built(
        args.database, pages.FULL, reuse=args.reuse, seed=args.seed, check=args.check
    )
    pages.use_database(args.database)
    _, _, rules = pages.active_policy()
    runs = []
    for number in range(1, args.runs + 1):
        runs.append(measure_run(args, number, rules))
        print(f"  run {number}: propagation {runs[-1].seconds:.3f} s")
    print_runs(runs, args)
    if args.profile:
        profile_run(args, rules)


if __name__ == "__main__":
    main()

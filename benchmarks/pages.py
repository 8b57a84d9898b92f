"""Reviewer pages: the work queue and a case page, timed and counted beside a bare page.

Builds a scratch PostgreSQL database holding a full-size force: 46,000 subjects from the project's
synthetic-force generator, four detectors, 1,000,000 flags with their evidence, and 50,000 cases
(about 8,000 live) with their flags, decisions, notices to the subject and version history. The
rows are loaded with COPY: they are fixtures, not governed writes, so they bypass the services,
but each is a row the services could have written (a case's trace is the threshold evaluation of
its own flags, its decisions follow the workflow, its history follows its decisions, its notices
go when notices.py sends them), and the audit log holds the events the services would have
written for them, hashed by audit.chain and audit.insert_only in one chain in time order: a
flag.received per flag, a case.opened per case, a case.flags_attached per flag that joined one,
a notification.sent per notice sent and, per decision, the event casework.services.review
writes, with the decision's row hash. (The set-up's own events, written through the services
as the build runs, come first in the chain, so their times are later than the fixtures'.)
A second, small database (500 subjects, 10,000 flags, 500 cases) is built the same way.

A build ends with the application's own checks: manage.py verify_audit (the hash chain, and every
decision against the event that recorded it) and the history against the rows (each case's and
flag's latest history row holds the row's values; a case's history changes state once for each
decision that changed it, and its decisions lead from open to its state). A build that fails
them stops with the problems and a nonzero exit, unmarked, so --reuse never keeps it. --check
runs the same checks on reused databases.

Then a reviewer in Professional Standards signs in with Django's test client and requests, in
process, a bare page that renders only the base template, the work queue (first page, filtered,
sorted, deep in the pages) and case pages, printing the median and 95th-percentile time and the
SQL query count of each against the targets: 95th percentile under 150 ms and at most three times
the bare page's, and the same query count on the small data as on the full.

    .venv/bin/python benchmarks/pages.py [--requests 200] [--pages html|api] [--reuse] [--check]
                                         [--explain]

Both databases (--database, default scrutiny_bench_pages, and the same name with _small) are
dropped and rebuilt at the start, unless --reuse is given: it keeps a database an earlier run
finished building. Never point --database at a database you want to keep. Needs PostgreSQL on
127.0.0.1:5432 (trust auth, user postgres), as on the development machines.
"""

import argparse
import bisect
import heapq
import itertools
import json
import os
import random
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import psycopg

# The apps of this checkout, not of the one the shared virtualenv was installed from: run as a
# script, the script's own directory, not the checkout, heads the path.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from audit.chain import canonical_json, sha256_hex
from detectors.force_people import Force, build_force

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.db import models
    from django.test import Client

    from audit.actors import Actor
    from casework.thresholds import CategoryRule, Evaluation

PG = "postgres://postgres@127.0.0.1:5432"
# Written on a database once its build has finished, so --reuse never keeps a half-built one.
BUILT_MARK = "scrutiny pages benchmark"
BENCH_REVIEWER = "bench.reviewer"
TARGET_P95_MS = 150.0
TARGET_RATIO = 3.0
DAY = timedelta(days=1)


@dataclass(frozen=True)
class Sizes:
    subjects: int
    flags: int
    cases: int
    live_cases: int


FULL = Sizes(subjects=46_000, flags=1_000_000, cases=50_000, live_cases=8_000)
SMALL = Sizes(subjects=500, flags=10_000, cases=500, live_cases=80)


@dataclass(frozen=True)
class Source:
    """How one category's flags look: the detector, its rule, and the records behind them."""

    detector: str
    rule: str
    source_system: str
    record_type: str
    flag_share: float
    case_share: float
    explanation: str
    measure: str
    summary: str


SOURCES: dict[str, Source] = {
    "attendance": Source(
        "attendance",
        "attendance.bradford_factor",
        "hr_absence",
        "sickness",
        0.34,
        0.22,
        "Bradford factor {value:,.0f} over 52 weeks from {n} spells of sickness absence, at or "
        "above the trigger point of 250. Sickness absence is not misconduct: absence linked to a "
        "disability or a long-term condition must be considered before any action.",
        "bradford_factor",
        "Sickness absence from {day}: {n} day(s), self-certified",
    ),
    "overtime_fraud": Source(
        "overtime",
        "overtime.peer_robust_z",
        "duty_roster",
        "overtime",
        0.22,
        0.22,
        "Claimed overtime with a robust z-score of {value:.1f} against peers in the same unit "
        "and role, over {n} claims in the month. Overtime well above peers may be authorised "
        "and legitimate; the largest claims are attached.",
        "robust_z",
        "Overtime claim: {n} hours (rest day) on {day}, operational requirement",
    ),
    "system_misuse": Source(
        "system-misuse",
        "access.unlinked_lookups",
        "niche_audit",
        "access_log",
        0.22,
        0.30,
        "{n} record look-ups with no linked task or incident, {value:.1f} more than the force's "
        "share predicts. Research roles may look records up without a task; the earliest "
        "unlinked look-ups are attached.",
        "excess_unlinked_lookups",
        "Niche person look-up on {day} of record PER-{n}40817 with no linked task",
    ),
    "abuse_of_position": Source(
        "system-misuse",
        "access.vulnerable_person_lookups",
        "niche_audit",
        "access_log",
        0.05,
        0.08,
        "{n} look-ups of records of people recorded as vulnerable with no linked task, a rate "
        "{value:.1f} times the unit's. The look-ups are attached.",
        "rate_ratio",
        "Niche person look-up on {day} of vulnerable-person record PER-{n}2291, no linked task",
    ),
    "complaints_pattern": Source(
        "integrity",
        "complaints.repeat_pattern",
        "centurion",
        "complaint",
        0.10,
        0.10,
        "{n} public complaints of a similar kind in 12 months, {value:.1f} times the rate for "
        "the role. A complaint is an allegation, not a finding.",
        "rate_ratio",
        "Public complaint received {day}: incivility (allegation {n})",
    ),
    "undeclared_conflict": Source(
        "integrity",
        "interests.undeclared_association",
        "business_interests",
        "declaration",
        0.03,
        0.04,
        "Links to {n} records of a business with no declared interest; association strength "
        "{value:.1f}.",
        "association_strength",
        "Business interests register checked {day}: no declaration (match {n})",
    ),
    "other": Source(
        "integrity",
        "integrity.other",
        "pds",
        "discipline",
        0.04,
        0.04,
        "An integrity concern referred by the professional standards desk, weighed at "
        "{value:.1f} over {n} records.",
        "weight",
        "Professional standards desk note of {day} (reference {n})",
    ),
}
DETECTORS = {
    "attendance": "Attendance (Bradford factor)",
    "overtime": "Overtime against peers",
    "system-misuse": "System misuse",
    "integrity": "Integrity and complaints",
}
DETECTOR_VERSION = "1.4.0"
LIVE_MIX = {"open": 0.40, "in_review": 0.35, "awaiting_sign_off": 0.15, "on_hold": 0.10}
CONCLUDED_MIX = {"closed": 0.80, "referred": 0.08, "withdrawn": 0.12}
# How long ago a live case in each state opened, in days.
LIVE_AGE = {
    "open": (1, 21),
    "in_review": (5, 60),
    "awaiting_sign_off": (15, 90),
    "on_hold": (20, 120),
}
# The steps each final state took, after opening; a withdrawal sometimes follows a review.
STORIES: dict[str, tuple[str, ...]] = {
    "open": (),
    "in_review": ("start_review",),
    "awaiting_sign_off": ("start_review", "recommend"),
    "on_hold": ("start_review", "hold"),
    "closed": ("start_review", "recommend", "sign_off"),
    "referred": ("start_review", "recommend", "sign_referral", "second_signature"),
    "withdrawn": ("withdraw",),
}
NON_ADVERSE = ("no_further_action", "management_advice", "welfare_support")
RATIONALES = {
    "triage": "Assigned to myself; flags and evidence read, review started.",
    "recommendation": "Evidence reviewed against the policy trace; outcome recommended as shown.",
    "sign_off": "Recommendation and evidence checked; I agree with the outcome.",
    "second_signature": "Second senior signature: the referral is proportionate on this evidence.",
    "hold": "A challenge to the evidence behind this case is open.",
    "withdrawal": "Corrected data no longer meets the threshold.",
}
REVIEWER_NAMES = [
    "Priya Nair", "Tom Fletcher", "Grace Okafor", "Liam Doyle",
    "Hannah Price", "Imran Qureshi", "Megan Rhys", "Owen Hughes",
]  # fmt: skip
SENIOR_NAMES = ["Fiona Marsh", "David Adeyemi", "Claire Holt"]


# --- databases --------------------------------------------------------------------------------


def configure_django(database: str) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": f"{PG}/{database}",
            "SECRET_KEY": "benchmark-only-not-a-secret",
            "DEBUG": "false",
            "ALLOWED_HOSTS": "testserver",
            "CONN_MAX_AGE": "600",
        }
    )
    # WhiteNoise warns that STATIC_ROOT is missing; the pages' static files come from the finders.
    warnings.filterwarnings("ignore", "No directory at", UserWarning)
    import django

    django.setup()


def use_database(name: str) -> None:
    """Point Django's connection at another database, as the test runner does for its own."""
    from django.conf import settings
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection

    connection.close()
    settings.DATABASES["default"]["NAME"] = name
    connection.settings_dict["NAME"] = name
    ContentType.objects.clear_cache()


def built_comment(name: str) -> str | None:
    with psycopg.connect(f"{PG}/postgres") as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            [name],
        ).fetchone()
    return row[0] if row else None


def is_built(name: str, sizes: Sizes) -> bool:
    comment = built_comment(name) or ""
    return (
        comment.startswith(BUILT_MARK) and json.loads(comment[len(BUILT_MARK) :]) == sizes.__dict__
    )


def fresh_database(name: str) -> None:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def mark_built(name: str, sizes: Sizes) -> None:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        comment = BUILT_MARK + json.dumps(sizes.__dict__)
        conn.execute(f"COMMENT ON DATABASE \"{name}\" IS '{comment}'")


def copy_rows(conn: psycopg.Connection[Any], table: str, columns: Sequence[str], rows: Any) -> int:
    count = 0
    with conn.cursor().copy(copy_sql(table, columns)) as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


# --- the force --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Staff:
    """The users who act on cases: the system, reviewers and senior reviewers; and every
    actor the audit log names (detectors' service users too), by user id."""

    system: int
    reviewers: list[int]
    seniors: list[int]
    actors: dict[int, "Actor"]

    def role(self, user_id: int) -> str:
        return str(self.actors[user_id].role)


@dataclass(frozen=True)
class World:
    """What the flag and case generators need to know about the force already loaded."""

    staff_numbers: list[str]  # by subject id; index 0 unused
    weights: dict[str, list[float]]  # cumulative, per category, by subject id - 1
    detectors: dict[str, tuple[int, int]]  # slug: (detector id, service user id)
    staff: Staff
    policy_id: int
    policy_version: int
    rules: dict[str, "CategoryRule"]
    now: datetime

    @property
    def today(self) -> date:
        return self.now.date()


def reviewer_people() -> list[tuple[str, str, str, str]]:
    """Professional Standards reviewers: (staff number, name, rank, role), seniors first."""
    seniors = [
        (f"PS{9001 + i}", name, "inspector", "Senior professional standards reviewer")
        for i, name in enumerate(SENIOR_NAMES)
    ]
    reviewers = [
        (f"PS{9101 + i}", name, "staff", "Professional standards reviewer")
        for i, name in enumerate(REVIEWER_NAMES)
    ]
    return seniors + reviewers


def subject_rows(force: Force) -> Iterator[tuple[Any, ...]]:
    ids = {person.staff_number: i for i, person in enumerate(force.people, start=1)}
    for i, person in enumerate(force.people, start=1):
        yield (
            i,
            person.staff_number,
            person.name,
            person.rank,
            person.role,
            person.unit,
            person.working_pattern,
            person.employment_type,
            True,
            ids.get(person.line_manager),
        )
    # Professional Standards reports to the deputy chief constable; reviewers to a senior.
    deputy = next((i for i, p in enumerate(force.people, 1) if p.rank.startswith("deputy")), 1)
    first = len(force.people) + 1
    for offset, (number, name, rank, role) in enumerate(reviewer_people()):
        manager = deputy if rank == "inspector" else first + offset % len(SENIOR_NAMES)
        yield (
            first + offset,
            number,
            name,
            rank,
            role,
            "Professional Standards",
            "full_time",
            "staff" if rank == "staff" else "officer",
            True,
            manager,
        )


SUBJECT_COLUMNS = (
    "id", "staff_number", "name", "rank", "role", "unit", "working_pattern", "employment_type",
    "active", "line_manager_id",
)  # fmt: skip
EQUALITY_COLUMNS = (
    "id", "subject_id", "sex", "ethnicity", "disability", "age_band", "long_term_sickness",
)  # fmt: skip


def equality_rows(force: Force) -> Iterator[tuple[Any, ...]]:
    for i, p in enumerate(force.people, start=1):
        values = (p.sex, p.ethnicity, p.disability, p.age_band, p.long_term_sickness)
        yield (i, i, *(value or "not_recorded" for value in values))


def load_subjects(dsn: str, force: Force) -> list[str]:
    """Load the force's people and the reviewers; return staff numbers by subject id."""
    rows = list(subject_rows(force))
    with psycopg.connect(dsn) as conn:
        copy_rows(conn, "flags_subject", SUBJECT_COLUMNS, rows)
        copy_rows(conn, "flags_equalityprofile", EQUALITY_COLUMNS, equality_rows(force))
    return ["", *(row[1] for row in rows)]


def category_weights(force: Force, reviewers: int) -> dict[str, list[float]]:
    """Who draws flags of each category, from the generator's hidden traits, as cumulative
    weights by subject: the disabled and part-time draw more attendance flags, as they do under
    the Bradford factor in real forces. Reviewers draw none."""
    t = force.traits
    raw = {
        "attendance": [x.sickness_rate * (2.0 if x.long_term_sick else 1.0) for x in t],
        "overtime_fraud": [x.overtime_rate * (1 + 10 * x.overtime_inflation) for x in t],
        "system_misuse": [x.lookup_rate * x.unlinked_share + x.misuse_activity for x in t],
        "abuse_of_position": [x.lookup_rate * x.unlinked_share for x in t],
        "complaints_pattern": [x.complaint_rate for x in t],
        "undeclared_conflict": [1.0 for _ in t],
        "other": [1.0 for _ in t],
    }
    cumulative = {}
    for category, weights in raw.items():
        floor = statistics.fmean(weights) / 50  # nobody is beyond a detector's reach
        cumulative[category] = list(
            itertools.accumulate([*(max(w, floor) for w in weights), *([0.0] * reviewers)])
        )
    return cumulative


def set_up_people(detectors: dict[str, tuple[int, int]]) -> Staff:
    """The system user and the reviewers, through the services; with the detectors' service
    users, everyone the audit log will name."""
    from django.contrib.auth.models import User

    from accounts.services import create_user
    from audit.actors import Actor, Role, system_actor
    from flags.models import Subject

    actor = system_actor()
    people = {s.staff_number: s for s in Subject.objects.filter(unit="Professional Standards")}
    seniors = [
        create_user(f"senior.{n}", role=Role.SENIOR_REVIEWER, actor=actor, subject=people[s])
        for n, s in enumerate(sorted(people)[: len(SENIOR_NAMES)], start=1)
    ]
    numbers = sorted(people)[len(SENIOR_NAMES) :]
    reviewers = [
        create_user(
            BENCH_REVIEWER if n == 0 else f"reviewer.{n}",
            role=Role.REVIEWER,
            actor=actor,
            subject=people[number],
        )
        for n, number in enumerate(numbers)
    ]
    services = User.objects.filter(pk__in=[user for _, user in detectors.values()])
    actors = {
        actor.user_id: actor,
        **{u.pk: Actor(u, Role.SENIOR_REVIEWER) for u in seniors},
        **{u.pk: Actor(u, Role.REVIEWER) for u in reviewers},
        **{u.pk: Actor(u, Role.DETECTOR) for u in services},
    }
    return Staff(actor.user.pk, [u.pk for u in reviewers], [u.pk for u in seniors], actors)


def register_detectors() -> dict[str, tuple[int, int]]:
    from audit.actors import system_actor
    from flags.services import register_detector

    actor = system_actor()
    found = {}
    for slug, name in DETECTORS.items():
        detector, _token = register_detector(
            slug, name=name, actor=actor, owner="Analytics", version=DETECTOR_VERSION
        )
        found[slug] = (detector.pk, detector.user_id)
    return found


def active_policy() -> tuple[int, int, dict[str, "CategoryRule"]]:
    """The active threshold policy's id, version and rules."""
    from casework.selectors import active_policy as active
    from casework.thresholds import parse_rules

    policy = active()
    return policy.pk, policy.version, parse_rules(policy.rules)


# --- cases, planned before their flags --------------------------------------------------------


class CaseFlagFacts(NamedTuple):
    id: int
    external_id: str
    score: float
    window_end: date
    received_at: datetime
    joining: bool
    evidence_ids: tuple[int, ...]
    evidence_hashes: tuple[str, ...]


@dataclass
class PlannedCase:
    subject: int
    status: str
    category: str
    opened_at: datetime
    outcome: str
    flags: list[CaseFlagFacts] = field(default_factory=list)


class PlannedFlag(NamedTuple):
    window_end: date
    category: str
    subject: int
    score: float
    case: int  # index of its PlannedCase, or -1
    joining: bool


def split(total: int, shares: dict[str, float]) -> dict[str, int]:
    """Counts in proportion to shares that add up to total exactly."""
    counts = {key: int(total * share) for key, share in shares.items()}
    first = next(iter(counts))
    counts[first] += total - sum(counts.values())
    return counts


def final_states(sizes: Sizes) -> list[str]:
    live = split(sizes.live_cases, LIVE_MIX)
    concluded = split(sizes.cases - sizes.live_cases, CONCLUDED_MIX)
    return [status for status, n in (live | concluded).items() for _ in range(n)]


def pick_subject(rng: random.Random, cumulative: list[float]) -> int:
    return bisect.bisect_right(cumulative, rng.random() * cumulative[-1]) + 1


def opened_at(rng: random.Random, status: str, world: World) -> datetime:
    # Cases open as the nightly detector runs arrive, between four and six in the morning.
    low, high = LIVE_AGE.get(status, (30, 330))
    day = world.today - rng.randint(low, high) * DAY
    return datetime(day.year, day.month, day.day, 4, tzinfo=UTC) + timedelta(
        minutes=rng.randrange(120)
    )


def recommended(rng: random.Random, status: str) -> str:
    if status == "referred" or (status == "awaiting_sign_off" and rng.random() < 0.15):
        return "referral"
    return rng.choices(NON_ADVERSE, weights=(55, 30, 15))[0]


def plan_cases(rng: random.Random, sizes: Sizes, world: World) -> list[PlannedCase]:
    """Each case's subject, final state and category, oldest first; one live case a subject."""
    categories = list(SOURCES)
    shares = [SOURCES[c].case_share for c in categories]
    live: set[int] = set()
    plans = []
    for status in final_states(sizes):
        category = rng.choices(categories, weights=shares)[0]
        subject = pick_subject(rng, world.weights[category])
        while status in LIVE_AGE and subject in live:
            subject = pick_subject(rng, world.weights[category])
        if status in LIVE_AGE:
            live.add(subject)
        when = opened_at(rng, status, world)
        plans.append(PlannedCase(subject, status, category, when, recommended(rng, status)))
    plans.sort(key=lambda plan: plan.opened_at)
    return plans


def case_flags(
    rng: random.Random, index: int, plan: PlannedCase, world: World
) -> list[PlannedFlag]:
    """The flags that opened the case (all counting under the policy, each on its own
    evidence), and for some live cases one that joined it later."""
    rule = world.rules[plan.category]
    need = max(2, rule.count or 2)
    opened_day = plan.opened_at.date()
    flags = [
        PlannedFlag(
            opened_day - rng.randint(1, 25) * DAY,
            plan.category,
            plan.subject,
            round(rng.uniform(rule.min_score, 0.99), 3),
            index,
            False,
        )
        for _ in range(rng.randint(need, min(5, need + 1)))
    ]
    room = (world.today - opened_day).days - 2
    if plan.status in LIVE_AGE and room > 0 and len(flags) < 5 and rng.random() < 0.25:
        end = opened_day + rng.randint(1, min(40, room)) * DAY
        score = round(rng.uniform(rule.min_score, 0.99), 3)
        flags.append(PlannedFlag(end, plan.category, plan.subject, score, index, True))
    return flags


def background_flags(rng: random.Random, count: int, world: World) -> Iterator[PlannedFlag]:
    """Flags that opened no case: mostly weak, in the last eleven months, spread by traits."""
    days = [world.today - n * DAY for n in range(400)]
    shares = {category: source.flag_share for category, source in SOURCES.items()}
    for category, n in split(count, shares).items():
        weights = world.weights[category]
        for _ in range(n):
            end = days[rng.randint(2, 335)]
            score = round(rng.betavariate(2, 5), 3)
            yield PlannedFlag(end, category, pick_subject(rng, weights), score, -1, False)


def plan_flags(
    rng: random.Random, sizes: Sizes, plans: list[PlannedCase], world: World
) -> list[PlannedFlag]:
    """Every flag, in the order detectors would have sent them: by window end."""
    flags = [flag for i, plan in enumerate(plans) for flag in case_flags(rng, i, plan, world)]
    flags += background_flags(rng, sizes.flags - len(flags), world)
    flags.sort(key=lambda flag: (flag.window_end, flag.category))
    return flags


# --- flags and evidence -----------------------------------------------------------------------


FLAG_COLUMNS = (
    "id", "external_id", "detector_version", "category", "rule", "score", "explanation",
    "factors", "window_start", "window_end", "content_hash", "received_at", "status",
    "detector_id", "subject_id",
)  # fmt: skip
EVIDENCE_COLUMNS = (
    "id", "source_system", "record_type", "record_id", "occurred_at", "summary", "payload",
    "content_hash", "status", "received_at",
)  # fmt: skip
FLAG_EVIDENCE_COLUMNS = ("id", "flag_id", "evidence_id", "position")


def sha256_of(value: Any) -> str:
    return sha256_hex(canonical_json(value))


def received(window_end: date, minute: int) -> datetime:
    # Detectors run nightly: a window's flag arrives at three the morning after it ends.
    day = window_end + DAY
    return datetime(day.year, day.month, day.day, 3, minute, tzinfo=UTC)


STREAMED = (
    ("flags_flag", FLAG_COLUMNS),
    ("flags_evidencerecord", EVIDENCE_COLUMNS),
    ("flags_flagevidence", FLAG_EVIDENCE_COLUMNS),
)


def copy_sql(table: str, columns: Sequence[str]) -> str:
    return f"COPY {table} ({', '.join(columns)}) FROM STDIN"


@dataclass
class Loader:
    """Three COPYs open at once, one a connection: flags, their evidence, and the links."""

    flags: psycopg.Copy
    evidence: psycopg.Copy
    links: psycopg.Copy
    evidence_id: int = 0


def write_evidence(
    loader: Loader, rng: random.Random, flag_id: int, flag: PlannedFlag, disputed: bool
) -> tuple[tuple[int, ...], tuple[str, ...]]:
    source = SOURCES[flag.category]
    ids, hashes = [], []
    for position in range(2 if rng.random() < 0.2 else 1):
        loader.evidence_id += 1
        day = flag.window_end - rng.randint(0, 27) * DAY
        occurred = datetime(day.year, day.month, day.day, rng.randrange(7, 23), tzinfo=UTC)
        record_id = f"{source.record_type[:2].upper()}-{flag_id:07d}-{position}"
        n = rng.randint(1, 12)
        body = {
            "source_system": source.source_system,
            "record_type": source.record_type,
            "record_id": record_id,
            "occurred_at": occurred.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "summary": source.summary.format(day=day.isoformat(), n=n),
            "payload": {"reference": record_id, "date": day.isoformat(), "quantity": n},
        }
        content_hash = sha256_of(body)
        status = "disputed" if disputed and position == 0 else "as_received"
        loader.evidence.write_row(
            (
                loader.evidence_id,
                source.source_system,
                source.record_type,
                record_id,
                occurred,
                body["summary"],
                canonical_json(body["payload"]).decode(),
                content_hash,
                status,
                received(flag.window_end, 0),
            )
        )
        loader.links.write_row((loader.evidence_id, flag_id, loader.evidence_id, position))
        ids.append(loader.evidence_id)
        hashes.append(content_hash)
    return tuple(ids), tuple(hashes)


def write_flag(
    loader: Loader, rng: random.Random, flag_id: int, flag: PlannedFlag, world: World, held: bool
) -> CaseFlagFacts:
    source = SOURCES[flag.category]
    staff_number = world.staff_numbers[flag.subject]
    external_id = f"{source.detector}-{staff_number}-{flag.window_end:%Y%m%d}-{flag_id}"
    value, n = round(flag.score * 10, 2), rng.randint(2, 9)
    factors = [
        {"name": source.measure, "value": value, "weight": 1.0},
        {"name": "records", "value": n, "weight": 0.0},
    ]
    start = flag.window_end - 27 * DAY
    evidence_ids, evidence_hashes = write_evidence(loader, rng, flag_id, flag, held)
    body = {
        "external_id": external_id,
        "subject": staff_number,
        "category": flag.category,
        "rule": source.rule,
        "detector_version": DETECTOR_VERSION,
        "score": flag.score,
        "explanation": source.explanation.format(value=value * 40, n=n),
        "factors": factors,
        "window": {"start": start.isoformat(), "end": flag.window_end.isoformat()},
        "evidence": list(evidence_hashes),
    }
    at = received(flag.window_end, rng.randrange(60))
    loader.flags.write_row(
        (
            flag_id,
            external_id,
            DETECTOR_VERSION,
            flag.category,
            source.rule,
            flag.score,
            body["explanation"],
            json.dumps(factors),
            start,
            flag.window_end,
            sha256_of(body),
            at,
            "active",
            world.detectors[source.detector][0],
            flag.subject,
        )
    )
    return CaseFlagFacts(
        flag_id, external_id, flag.score, flag.window_end, at, flag.joining, evidence_ids,
        evidence_hashes,
    )  # fmt: skip


def load_flags(
    dsn: str, rng: random.Random, flags: list[PlannedFlag], plans: list[PlannedCase], world: World
) -> None:
    with ExitStack() as open_connections:
        conns = [open_connections.enter_context(psycopg.connect(dsn)) for _ in STREAMED]
        with ExitStack() as copies:
            flag_copy, evidence_copy, link_copy = (
                copies.enter_context(conn.cursor().copy(copy_sql(table, columns)))
                for conn, (table, columns) in zip(conns, STREAMED, strict=True)
            )
            loader = Loader(flag_copy, evidence_copy, link_copy)
            for flag_id, flag in enumerate(flags, start=1):
                plan = plans[flag.case] if flag.case >= 0 else None
                # A case on hold waits on a challenge to its evidence: its first flag's is disputed.
                held = plan is not None and plan.status == "on_hold" and not plan.flags
                facts = write_flag(loader, rng, flag_id, flag, world, held)
                if plan is not None:
                    plan.flags.append(facts)
        # The links' foreign keys are checked when they commit, so they commit last.
        for conn in conns:
            conn.commit()


FLAG_HISTORY_SQL = """
INSERT INTO flags_historicalflag (
    id, external_id, detector_version, category, rule, score, explanation, factors,
    window_start, window_end, content_hash, received_at, status, detector_id, subject_id,
    history_date, history_change_reason, history_type, history_user_id
)
SELECT f.id, f.external_id, f.detector_version, f.category, f.rule, f.score, f.explanation,
       f.factors, f.window_start, f.window_end, f.content_hash, f.received_at, f.status,
       f.detector_id, f.subject_id, f.received_at, 'received from detector ' || d.slug, '+',
       d.user_id
FROM flags_flag f JOIN flags_detector d ON d.id = f.detector_id
ORDER BY f.id
"""


# --- cases, decisions, notices and history ----------------------------------------------------


CASE_COLUMNS = (
    "id", "status", "trace", "opened_at", "legal_hold", "assignee_id", "opened_by_id",
    "subject_id", "policy_id", "concluded_at", "concluded_by_id", "due_on", "held_from",
    "outcome", "recommended_at", "recommended_by_id", "recommended_outcome", "review_started_at",
    "review_started_by_id", "status_changed_at",
)  # fmt: skip
CASE_HISTORY_COLUMNS = (
    *CASE_COLUMNS, "history_date", "history_change_reason", "history_type", "history_user_id",
)  # fmt: skip
CASE_FLAG_COLUMNS = ("id", "case_id", "flag_id", "attached_at", "via", "category")
OPENED, ADVERSE, CONCLUDED = "case_opened", "adverse_outcome_pending", "case_concluded"


class Event(NamedTuple):
    """One audit event to append. The chain takes events by time, then ``rank`` (a flag's
    arrival before what it causes), then ``order`` (the order one action wrote them in)."""

    at: datetime
    rank: int
    order: int
    user: int
    action: str
    target_type: str
    target_id: int
    reason: str
    data: dict[str, Any]


@dataclass
class CaseTables:
    """Rows for the case tables, in the order they are loaded, and the audit events that the
    services would have written for them."""

    cases: list[tuple[Any, ...]] = field(default_factory=list)
    history: list[tuple[Any, ...]] = field(default_factory=list)
    links: list[tuple[Any, ...]] = field(default_factory=list)
    decisions: list[tuple[Any, ...]] = field(default_factory=list)
    notices: list[tuple[Any, ...]] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    order: Iterator[int] = field(default_factory=itertools.count)

    def event(
        self, at: datetime, user: int, action: str, target: tuple[str, int], reason: str,
        data: dict[str, Any],
    ) -> None:  # fmt: skip
        self.events.append(Event(at, 1, next(self.order), user, action, *target, reason, data))


@dataclass
class Notice:
    """A notice to the subject, while its case is built: sent once, when first due or forced."""

    id: int
    kind: str
    created_at: datetime
    due_at: datetime
    sent_at: datetime | None = None


@dataclass
class CaseState:
    """A case as it is built: its row, its plan (its flags and their evidence), its notices."""

    row: dict[str, Any]
    plan: PlannedCase
    notices: dict[str, Notice]

    @property
    def id(self) -> int:
        return int(self.row["id"])


@dataclass(frozen=True)
class Change:
    """One step of a case's review, as casework.services would record it: the decision's kind,
    who made it, the state it leads to, the case's changed fields, the audit action code, and
    the notices to the subject it sends first (``notify_now``)."""

    kind: str
    user: int
    status_after: str
    fields: dict[str, Any]
    action: str
    outcome: str = ""
    notices: tuple[str, ...] = ()


# A field set to AT_STEP takes the time of the step, as timezone.now() does in the services.
AT_STEP = object()


def anyone_but(rng: random.Random, users: Sequence[int], *excluded: Any) -> int:
    return rng.choice([user for user in users if user not in excluded])


def start_review(
    case: dict[str, Any], plan: PlannedCase, rng: random.Random, staff: Staff
) -> Change:
    user = rng.choice(staff.reviewers + staff.seniors)
    fields = {"assignee_id": user, "review_started_by_id": user, "review_started_at": AT_STEP}
    return Change("triage", user, "in_review", fields, "case.review_started")


def recommend(case: dict[str, Any], plan: PlannedCase, rng: random.Random, staff: Staff) -> Change:
    user = case["assignee_id"]  # only the assignee may recommend
    fields = {
        "recommended_outcome": plan.outcome,
        "recommended_by_id": user,
        "recommended_at": AT_STEP,
    }
    # A recommended referral tells the subject at once.
    notices = (ADVERSE,) if plan.outcome == "referral" else ()
    return Change(
        "recommendation", user, "awaiting_sign_off", fields, "case.recommended", plan.outcome,
        notices,
    )  # fmt: skip


def sign_off(case: dict[str, Any], plan: PlannedCase, rng: random.Random, staff: Staff) -> Change:
    user = anyone_but(rng, staff.reviewers + staff.seniors, case["recommended_by_id"])
    fields = {"concluded_by_id": user, "outcome": plan.outcome, "concluded_at": AT_STEP}
    return Change("sign_off", user, "closed", fields, "case.signed_off", plan.outcome, (CONCLUDED,))


def sign_referral(
    case: dict[str, Any], plan: PlannedCase, rng: random.Random, staff: Staff
) -> Change:
    user = anyone_but(rng, staff.seniors, case["recommended_by_id"])
    return Change(
        "sign_off", user, case["status"], {}, "case.referral_signed", "referral", (ADVERSE,)
    )


def second_signature(
    case: dict[str, Any], plan: PlannedCase, rng: random.Random, staff: Staff
) -> Change:
    user = anyone_but(rng, staff.seniors, case["recommended_by_id"], case["first_signer"])
    fields = {"concluded_by_id": user, "outcome": "referral", "concluded_at": AT_STEP}
    return Change(
        "second_signature", user, "referred", fields, "case.referred", "referral",
        (ADVERSE, CONCLUDED),
    )  # fmt: skip


def hold(case: dict[str, Any], plan: PlannedCase, rng: random.Random, staff: Staff) -> Change:
    fields = {"held_from": case["status"]}
    return Change("hold", staff.system, "on_hold", fields, "case.held")


def withdraw(case: dict[str, Any], plan: PlannedCase, rng: random.Random, staff: Staff) -> Change:
    # The system's: a reviewer may withdraw only a case whose data no longer meets the policy,
    # and these cases' flags still do.
    user = staff.system
    fields = {"concluded_by_id": user, "concluded_at": AT_STEP, "held_from": ""}
    return Change("withdrawal", user, "withdrawn", fields, "case.withdrawn", "", (CONCLUDED,))


STEPS: dict[str, Callable[[dict[str, Any], PlannedCase, random.Random, Staff], Change]] = {
    "start_review": start_review,
    "recommend": recommend,
    "sign_off": sign_off,
    "sign_referral": sign_referral,
    "second_signature": second_signature,
    "hold": hold,
    "withdraw": withdraw,
}


def step_times(rng: random.Random, plan: PlannedCase, steps: int, now: datetime) -> list[datetime]:
    """When each step was taken: a live case's spread up to now, a closed one's over weeks."""
    room = now - plan.opened_at - timedelta(hours=1)
    span = (
        room * rng.uniform(0.3, 0.95)
        if plan.status in LIVE_AGE
        else min(room, timedelta(days=rng.uniform(14, 75)))
    )
    if not steps:
        return []
    fractions = [*sorted(rng.uniform(0.05, 1) for _ in range(steps - 1)), 1.0]
    return [plan.opened_at + span * f for f in fractions]


def story(rng: random.Random, plan: PlannedCase) -> tuple[str, ...]:
    if plan.status == "withdrawn" and rng.random() < 0.4:
        return ("start_review", "withdraw")
    return STORIES[plan.status]


class Ids:
    """Fresh primary keys per table: the database is new, so they start at 1."""

    def __init__(self) -> None:
        self.counters: dict[str, Iterator[int]] = {}

    def next(self, table: str) -> int:
        return next(self.counters.setdefault(table, itertools.count(1)))


def case_evaluation(plan: PlannedCase, world: World) -> "Evaluation":
    """The evaluation that opened the case: the policy applied to its opening flags."""
    from casework.thresholds import CandidateFlag, evaluate

    detector = SOURCES[plan.category].detector
    opening = [
        CandidateFlag(
            f.id,
            detector,
            f.external_id,
            plan.category,
            f.score,
            f.window_end,
            frozenset(f.evidence_ids),
        )
        for f in plan.flags
        if not f.joining
    ]
    evaluation = evaluate(
        world.rules,
        opening,
        policy_version=world.policy_version,
        as_of=plan.opened_at.date(),
        evaluated_at=plan.opened_at,
    )
    if not evaluation.met:
        raise AssertionError(f"a planned case does not meet the policy: {evaluation.as_trace()}")
    if sorted(evaluation.counted_flag_ids()) != sorted(f.id for f in opening):
        # The service links only the flags that count; the plan's evidence assumes all do.
        raise AssertionError(f"a planned case's opening flags do not all count: {opening}")
    return evaluation


def new_case_row(
    case_id: int, plan: PlannedCase, world: World, trace: dict[str, Any]
) -> dict[str, Any]:
    from django.conf import settings

    return {
        "id": case_id,
        "status": "open",
        "trace": json.dumps(trace),
        "opened_at": plan.opened_at,
        "legal_hold": False,
        "assignee_id": None,
        "opened_by_id": world.staff.system,
        "subject_id": plan.subject,
        "policy_id": world.policy_id,
        "concluded_at": None,
        "concluded_by_id": None,
        "due_on": plan.opened_at.date() + settings.CASE_REVIEW_DUE_DAYS * DAY,
        "held_from": "",
        "outcome": "",
        "recommended_at": None,
        "recommended_by_id": None,
        "recommended_outcome": "",
        "review_started_at": None,
        "review_started_by_id": None,
        "status_changed_at": plan.opened_at,
    }


def history_row(
    case: dict[str, Any], when: datetime, reason: str, kind: str, user: int
) -> tuple[Any, ...]:
    return (*(case[c] for c in CASE_COLUMNS), when, reason, kind, user)


def model_row(model: type["models.Model"], values: dict[str, Any]) -> tuple[Any, ...]:
    """A row for COPY in the model's column order (``copy_columns``): a column not given takes
    the model's default, as audit.bulk_writes.insert_rows does; JSON goes as text."""
    from django.db import models

    row = []
    for column in model._meta.concrete_fields:
        value = values[column.attname] if column.attname in values else column.get_default()
        if isinstance(column, models.JSONField) and value is not None:
            value = json.dumps(value)
        row.append(value)
    return tuple(row)


def copy_columns(model: type["models.Model"]) -> tuple[str, ...]:
    return tuple(column.attname for column in model._meta.concrete_fields)


def mark_sent(
    tables: CaseTables, state: CaseState, notice: Notice, when: datetime, user: int
) -> None:
    """As notices._mark_sent: the notice is sent now, and its audit event names it."""
    notice.sent_at = when
    data = {"case": state.id, "subject": state.row["subject_id"], "kind": notice.kind}
    target = ("casework.notification", notice.id)
    tables.event(when, user, "notification.sent", target, "the subject is told", data)


def notify_now(
    tables: CaseTables, ids: Ids, state: CaseState, kind: str, when: datetime, user: int
) -> None:
    """As notices.notify_now: the case-opened notice if still pending, then ``kind``'s."""
    for each in dict.fromkeys([OPENED, kind]):
        notice = state.notices.get(each)
        if notice is None:
            notice = state.notices[each] = Notice(ids.next("notice"), each, when, when)
        if notice.sent_at is None:
            mark_sent(tables, state, notice, when, user)


def send_due(tables: CaseTables, state: CaseState, until: datetime, system: int) -> None:
    """As the scheduled send_due_notifications, taken to run the moment a notice falls due."""
    for notice in state.notices.values():
        if notice.sent_at is None and notice.due_at <= until:
            mark_sent(tables, state, notice, notice.due_at, system)


def record_step(
    tables: CaseTables, ids: Ids, state: CaseState, change: Change, when: datetime, world: World
) -> None:
    """Write the notices it sends, the decision, the case's new state with its history row, and
    the decision's audit event, as casework.services.review._record does."""
    from audit.insert_only import row_hash
    from casework.models import Decision, DecisionKind

    case, plan = state.row, state.plan
    for kind in change.notices:
        notify_now(tables, ids, state, kind, when, change.user)
    hashes = sorted({h for f in plan.flags if f.received_at <= when for h in f.evidence_hashes})
    values = {
        "id": ids.next("decision"), "case_id": case["id"], "kind": change.kind,
        "outcome": change.outcome, "rationale": RATIONALES[change.kind], "made_at": when,
        "made_by_id": change.user, "role": world.staff.role(change.user),
        "on_behalf_of_id": None, "no_conflict_declared": True, "status_before": case["status"],
        "status_after": change.status_after, "policy_version": world.policy_version,
        "evidence_hashes": hashes, "deferred_until": None, "assigned_to_id": None,
    }  # fmt: skip
    tables.decisions.append(model_row(Decision, values))
    if change.kind == "sign_off" and change.outcome == "referral":
        case["first_signer"] = change.user  # not a column: the second signer must differ
    fields = {name: when if value is AT_STEP else value for name, value in change.fields.items()}
    if change.status_after != case["status"]:
        fields.update(status=change.status_after, status_changed_at=when)
    label = DecisionKind(change.kind).label.lower()
    if fields:
        case.update(fields)
        reason = f"{label} (decision {values['id']})"
        tables.history.append(history_row(case, when, reason, "~", change.user))
    data = {
        "decision": values["id"],
        "kind": change.kind,
        "outcome": change.outcome,
        "from": values["status_before"],
        "to": values["status_after"],
        "policy_version": world.policy_version,
        "evidence_hashes": sha256_of(hashes),
        "rationale_hash": sha256_hex(values["rationale"].encode("utf-8")),
        "no_conflict_declared": True,
        "row_hash": row_hash(Decision(**values)),
    }
    tables.event(when, change.user, change.action, ("casework.case", case["id"]), label, data)


def open_case(tables: CaseTables, ids: Ids, plan: PlannedCase, world: World) -> CaseState:
    """As opening.open_or_update_cases_for_new_flags: the case, its first history row, its
    links, its case-opened notice and audit event; later, a joining flag's link and event."""
    from django.conf import settings

    evaluation = case_evaluation(plan, world)
    trace = evaluation.as_trace()
    case_id, system, version = ids.next("case"), world.staff.system, world.policy_version
    case = new_case_row(case_id, plan, world, trace)
    reason = f"threshold met under policy v{version}"
    tables.history.append(history_row(case, plan.opened_at, reason, "+", system))
    links = []
    for f in plan.flags:
        attached, via = (f.received_at, "joining") if f.joining else (plan.opened_at, "opening")
        links.append((ids.next("link"), case_id, f.id, attached, via, plan.category))
    tables.links += links
    opening = [link for link, f in zip(links, plan.flags, strict=True) if not f.joining]
    data = {
        "subject": plan.subject,
        "policy_version": version,
        "flags": evaluation.counted_flag_ids(),
        "trace_hash": sha256_of(trace),
        **named_links(opening),
    }
    tables.event(plan.opened_at, system, "case.opened", ("casework.case", case_id), reason, data)
    delay = timedelta(hours=settings.SUBJECT_NOTICE_DELAY_HOURS)
    notice = Notice(ids.next("notice"), OPENED, plan.opened_at, plan.opened_at + delay)
    for link, f in zip(links, plan.flags, strict=True):
        if f.joining:
            data = {"flags": [f.id], "policy_version": version, **named_links([link])}
            reason = f"new flags count under policy v{version}"
            tables.event(f.received_at, system, "case.flags_attached", ("casework.case", case_id),
                          reason, data)  # fmt: skip
    return CaseState(case, plan, {OPENED: notice})


def named_links(links: list[tuple[Any, ...]]) -> dict[str, Any]:
    """The ids of a case's new flag links and the hash of their rows, as opening names them."""
    from audit.insert_only import row_hash
    from casework.models import CaseFlag

    rows = [CaseFlag(**dict(zip(CASE_FLAG_COLUMNS, link, strict=True))) for link in links]
    return {"case_flags": [row.pk for row in rows], "row_hash": row_hash(rows)}


def build_case(
    tables: CaseTables, ids: Ids, rng: random.Random, plan: PlannedCase, world: World
) -> None:
    state = open_case(tables, ids, plan, world)
    names = story(rng, plan)
    for name, when in zip(names, step_times(rng, plan, len(names), world.now), strict=True):
        send_due(tables, state, when, world.staff.system)
        change = STEPS[name](state.row, plan, rng, world.staff)
        record_step(tables, ids, state, change, when, world)
    send_due(tables, state, world.now, world.staff.system)
    if state.row["status"] != plan.status:
        raise AssertionError(f"case {state.id} ended {state.row['status']}, planned {plan.status}")
    tables.cases.append(tuple(state.row[c] for c in CASE_COLUMNS))
    tables.notices += [notice_row(state, notice) for notice in state.notices.values()]


def notice_row(state: CaseState, notice: Notice) -> tuple[Any, ...]:
    values = {
        "id": notice.id,
        "case_id": state.id,
        "subject_id": state.row["subject_id"],
        "kind": notice.kind,
        "created_at": notice.created_at,
        "due_at": notice.due_at,
        "sent_at": notice.sent_at,
    }
    return model_row(notification_model(), values)


def notification_model() -> type["models.Model"]:
    from casework.models import Notification

    return Notification


def load_cases(dsn: str, rng: random.Random, plans: list[PlannedCase], world: World) -> list[Event]:
    """Load the cases and what hangs from them; return their audit events, in chain order."""
    from casework.models import Decision

    tables, ids = CaseTables(), Ids()
    for plan in plans:
        build_case(tables, ids, rng, plan, world)
    with psycopg.connect(dsn) as conn:
        copy_rows(conn, "casework_case", CASE_COLUMNS, tables.cases)
        copy_rows(conn, "casework_historicalcase", CASE_HISTORY_COLUMNS, tables.history)
        copy_rows(conn, "casework_caseflag", CASE_FLAG_COLUMNS, tables.links)
        copy_rows(conn, "casework_decision", copy_columns(Decision), tables.decisions)
        copy_rows(conn, "casework_notification", copy_columns(notification_model()), tables.notices)
    return sorted(tables.events, key=chain_order)


def chain_order(event: Event) -> tuple[datetime, int, int]:
    return event.at, event.rank, event.order


# --- the audit log ----------------------------------------------------------------------------

# Each flag's evidence ids and content hashes, in position order, as ingest lists them.
FLAG_EVENTS_SQL = """
SELECT f.received_at, f.id, f.detector_id, f.detector_version, f.subject_id, f.category, f.score,
       f.content_hash, f.external_id,
       coalesce(array_agg(e.id ORDER BY fe.position) FILTER (WHERE e.id IS NOT NULL), '{}'),
       coalesce(array_agg(e.content_hash ORDER BY fe.position) FILTER (WHERE e.id IS NOT NULL),
                '{}'),
       coalesce(array_agg(fe.id ORDER BY fe.position) FILTER (WHERE fe.id IS NOT NULL), '{}'),
       coalesce(array_agg(fe.position ORDER BY fe.position) FILTER (WHERE fe.id IS NOT NULL),
                '{}')
FROM flags_flag f
LEFT JOIN flags_flagevidence fe ON fe.flag_id = f.id
LEFT JOIN flags_evidencerecord e ON e.id = fe.evidence_id
GROUP BY f.id
ORDER BY f.received_at, f.id
"""


def flag_events(conn: psycopg.Connection[Any], world: World) -> Iterator[Event]:
    """Each flag's ``flag.received`` event, in the shape flags.services._store writes it, read
    back from the rows as stored, in the order the flags arrived."""
    from audit.insert_only import row_hash
    from flags.models import FlagEvidence

    slugs = {detector: (slug, user) for slug, (detector, user) in world.detectors.items()}
    with conn.cursor(name="flag_events") as cursor:
        cursor.itersize = 20_000
        cursor.execute(FLAG_EVENTS_SQL)
        for row in cursor:
            at, flag_id, detector, version, subject, category, score = row[:7]
            content_hash, external_id, evidence_ids, evidence_hashes, link_ids, positions = row[7:]
            slug, user = slugs[detector]
            links = [
                FlagEvidence(pk=pk, flag_id=flag_id, evidence_id=evidence, position=position)
                for pk, evidence, position in zip(link_ids, evidence_ids, positions, strict=True)
            ]
            data = {
                "detector": detector,
                "detector_version": version,
                "subject": subject,
                "category": category,
                "score": score,
                "content_hash": content_hash,
                "evidence": [[i, h] for i, h in zip(evidence_ids, evidence_hashes, strict=True)],
                "flag_evidence": link_ids,
                "row_hash": row_hash(links),
            }
            reason = f"flag {external_id} from detector {slug}"
            yield Event(at, 0, flag_id, user, "flag.received", "flags.flag", flag_id, reason, data)


def audit_columns() -> list[str]:
    """The audit log's columns, which must be the hashed fields and the hash: a new column
    would need a value here, and a hashed field this script does not know would break it."""
    from django.utils import timezone

    from audit.models import AuditEvent

    columns = [column.attname for column in AuditEvent._meta.concrete_fields]
    if set(columns) != {*AuditEvent(occurred_at=timezone.now()).chain_fields(), "hash"}:
        raise AssertionError(f"the audit log's columns changed: {columns}")
    return columns


def write_chain(dsn: str, case_events: list[Event], world: World) -> int:
    """Append the events the services would have written (flags' arrivals, cases' openings,
    decisions, notices), merged in time order, to the chain the set-up's services began; one
    COPY. Hashes come from audit.chain, the same code verify_audit checks them with."""
    from audit.chain import GENESIS_HASH, canonical_json, canonical_time, event_hash
    from audit.registry import require

    columns = audit_columns()
    people = {user: (a.username, str(a.role)) for user, a in world.staff.actors.items()}
    count = 0
    with psycopg.connect(dsn) as read, psycopg.connect(dsn) as write:
        head = write.execute("SELECT seq, hash FROM audit_auditevent ORDER BY seq DESC LIMIT 1")
        seq, prev_hash = head.fetchone() or (0, GENESIS_HASH)
        events = heapq.merge(flag_events(read, world), case_events, key=chain_order)
        known: set[str] = set()
        with write.cursor().copy(copy_sql("audit_auditevent", columns)) as copy:
            for event in events:
                if event.action not in known:
                    known.add(require(event.action))
                seq += 1
                username, role = people[event.user]
                fields = {
                    "seq": seq,
                    "occurred_at": canonical_time(event.at),
                    "actor_user_id": event.user,
                    "actor_username": username,
                    "actor_role": role,
                    "on_behalf_of_user_id": None,
                    "action": event.action,
                    "target_type": event.target_type,
                    "target_id": str(event.target_id),
                    "reason": event.reason[:300],
                    "data": event.data,
                    "prev_hash": prev_hash,
                }
                prev_hash = event_hash(fields)
                fields.update(
                    occurred_at=event.at,
                    data=canonical_json(event.data).decode("utf-8"),
                    hash=prev_hash,
                )
                copy.write_row([fields[column] for column in columns])
                count += 1
    return count


# --- checks: the data passes the application's own --------------------------------------------


def verify_audit() -> tuple[list[str], str]:
    """Run manage.py verify_audit on the current database: its problems (none when intact) and
    its report."""
    from io import StringIO

    from django.core.management import CommandError, call_command

    out = StringIO()
    try:
        call_command("verify_audit", stdout=out)
    except CommandError as failure:
        return [f"verify_audit: {failure}"], out.getvalue().strip()
    return [], out.getvalue().strip()


def latest_history_differs(model: type["models.Model"]) -> list[str]:
    """Rows of ``model`` whose latest history row is missing, a deletion, or holds other values
    than the row: one SQL aggregate over the table and its history."""
    from django.db import connection

    history = model.history.model  # type: ignore[attr-defined]
    quote = connection.ops.quote_name
    tracked = [quote(column.column) for column in history.tracked_fields]
    own = ", ".join(f"r.{column}" for column in tracked)
    theirs = ", ".join(f"h.{column}" for column in tracked)
    differs = f"h.history_type = '-' OR ({own}) IS DISTINCT FROM ({theirs})"
    sql = f"""
        SELECT count(*) FILTER (WHERE h.history_id IS NULL),
               count(*) FILTER (WHERE h.history_id IS NOT NULL AND ({differs})),
               (array_agg(r.id ORDER BY r.id)
                    FILTER (WHERE h.history_id IS NULL OR {differs}))[1:5]
        FROM {quote(model._meta.db_table)} r
        LEFT JOIN (
            SELECT DISTINCT ON (id) * FROM {quote(history._meta.db_table)}
            ORDER BY id, history_date DESC, history_id DESC
        ) h ON h.id = r.id
    """  # noqa: S608 - names from the models
    with connection.cursor() as cursor:
        cursor.execute(sql)
        missing, different, examples = cursor.fetchone()
    label = model._meta.label_lower
    problems = []
    if missing:
        problems.append(f"{missing} {label} rows have no history row (e.g. ids {examples})")
    if different:
        problems.append(
            f"{different} {label} rows differ from their latest history row (e.g. ids {examples})"
        )
    return problems


# Per case: whether its decisions chain (each starts where the last ended, from open, and the
# last ends where the case is), and whether its history has one creation row, first, and one
# change of status per decision that changed it.
CASE_STORY_SQL = """
WITH decided AS (
    SELECT case_id,
           count(*) FILTER (WHERE status_before <> status_after) AS changes,
           count(*) FILTER (WHERE status_before <> previous) AS breaks,
           (array_agg(status_after ORDER BY made_at DESC, id DESC))[1] AS last_status
    FROM (
        SELECT case_id, id, made_at, status_before, status_after,
               coalesce(lag(status_after) OVER (PARTITION BY case_id ORDER BY made_at, id),
                        'open') AS previous
        FROM casework_decision
    ) d
    GROUP BY case_id
), told AS (
    SELECT id,
           count(*) FILTER (WHERE history_type = '+') AS created,
           count(*) FILTER (WHERE history_type = '+' AND previous IS NOT NULL) AS created_late,
           count(*) FILTER (WHERE status <> previous) AS changes
    FROM (
        SELECT id, status, history_type,
               lag(status) OVER (PARTITION BY id ORDER BY history_date, history_id) AS previous
        FROM casework_historicalcase
    ) h
    GROUP BY id
)
SELECT
    count(*) FILTER (WHERE coalesce(t.created, 0) <> 1 OR t.created_late > 0),
    count(*) FILTER (WHERE coalesce(t.changes, 0) <> coalesce(d.changes, 0)),
    count(*) FILTER (WHERE d.breaks > 0 OR coalesce(d.last_status, 'open') <> c.status),
    (array_agg(c.id ORDER BY c.id) FILTER (
        WHERE coalesce(t.created, 0) <> 1 OR t.created_late > 0
           OR coalesce(t.changes, 0) <> coalesce(d.changes, 0)
           OR d.breaks > 0 OR coalesce(d.last_status, 'open') <> c.status))[1:5]
FROM casework_case c
LEFT JOIN decided d ON d.case_id = c.id
LEFT JOIN told t ON t.id = c.id
"""
# Decisions that changed a case's state with no history row naming them in that state.
UNTOLD_DECISIONS_SQL = """
SELECT count(*), (array_agg(d.id ORDER BY d.id))[1:5]
FROM casework_decision d
WHERE d.status_before <> d.status_after
  AND NOT EXISTS (
      SELECT 1 FROM casework_historicalcase h
      WHERE h.id = d.case_id AND h.status = d.status_after
        AND h.history_change_reason LIKE '%%(decision ' || d.id || ')'
  )
"""


def case_story_problems() -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(CASE_STORY_SQL)
        created, changes, breaks, examples = cursor.fetchone()
        cursor.execute(UNTOLD_DECISIONS_SQL)
        untold, decisions = cursor.fetchone()
    found = [
        (created, "cases without exactly one creation history row, first"),
        (changes, "cases whose history changes state other than their decisions do"),
        (breaks, "cases whose decisions do not lead from open to the case's state"),
    ]
    problems = [f"{n} {what}" for n, what in found if n]
    if problems:
        problems.append(f"the first cases at fault: ids {examples}")
    if untold:
        problems.append(f"{untold} state-changing decisions have no history row (e.g. {decisions})")
    return problems


def history_problems() -> list[str]:
    """The history is consistent with the rows: each case's and flag's latest history row holds
    the row's values, and a case's history changes state once per decision that changed it."""
    from casework.models import Case
    from flags.models import Flag

    return [*latest_history_differs(Flag), *latest_history_differs(Case), *case_story_problems()]


def check_database(name: str) -> None:
    """Stop, with a clear message and a nonzero exit, unless ``name`` passes verify_audit and
    its history is consistent with its rows: no timings are printed over bad data."""
    use_database(name)
    with stage("check: verify_audit"):
        audit, report = verify_audit()
    print("\n".join(f"    {line}" for line in report.splitlines()))
    with stage("check: history against the rows"):
        history = history_problems()
    problems = audit + history
    if problems:
        listed = "\n".join(f"- {problem}" for problem in problems)
        sys.exit(f"Database {name} fails the application's own checks; no timings:\n{listed}")


# --- the build --------------------------------------------------------------------------------


SEQUENCED_TABLES = (
    "flags_subject", "flags_equalityprofile", "flags_flag", "flags_evidencerecord",
    "flags_flagevidence", "casework_case", "casework_caseflag", "casework_decision",
    "casework_notification",
)  # fmt: skip


def finish(dsn: str) -> None:
    """Move each sequence past the keys loaded by hand, and give the planner fresh statistics."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        for table in SEQUENCED_TABLES:
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"(SELECT max(id) FROM {table}))"
            )
        conn.execute("VACUUM (ANALYZE)")


@contextmanager
def stage(label: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    print(f"  {label:<44} {time.perf_counter() - started:6.1f} s")


def load_force(dsn: str, sizes: Sizes, seed: int) -> World:
    """The subjects, the detectors and the reviewers, and what the generators need of them."""
    from django.utils import timezone

    extra = len(SENIOR_NAMES) + len(REVIEWER_NAMES)
    force = build_force(sizes.subjects - extra, seed)
    staff_numbers = load_subjects(dsn, force)
    policy_id, policy_version, rules = active_policy()
    detectors = register_detectors()
    return World(
        staff_numbers=staff_numbers,
        weights=category_weights(force, extra),
        detectors=detectors,
        staff=set_up_people(detectors),
        policy_id=policy_id,
        policy_version=policy_version,
        rules=rules,
        now=timezone.now(),
    )


def build(name: str, sizes: Sizes, seed: int) -> float:
    """Build the database ``name`` from scratch; return the seconds it took."""
    from django.core.management import call_command

    started = time.perf_counter()
    dsn = f"{PG}/{name}"
    rng = random.Random(seed)
    with stage("new database, migrate"):
        fresh_database(name)
        use_database(name)
        call_command("migrate", interactive=False, verbosity=0)
    with stage("subjects, detectors, reviewers"):
        world = load_force(dsn, sizes, seed)
    with stage("flags, evidence and links (COPY)"):
        plans = plan_cases(rng, sizes, world)
        load_flags(dsn, rng, plan_flags(rng, sizes, plans, world), plans, world)
    with stage("flag history (INSERT ... SELECT)"), psycopg.connect(dsn) as conn:
        conn.execute(FLAG_HISTORY_SQL)
    with stage("cases, links, decisions, notices, history"):
        case_events = load_cases(dsn, rng, plans, world)
    started_chain = time.perf_counter()
    with stage("audit events: hash chain (COPY)"):
        events = write_chain(dsn, case_events, world)
    chain_seconds = time.perf_counter() - started_chain
    with stage("sequences, VACUUM ANALYZE"):
        finish(dsn)
    built = time.perf_counter() - started
    print(f"  {events:,} audit events added {chain_seconds:.0f} s of {built:.0f} s")
    check_database(name)
    mark_built(name, sizes)
    return time.perf_counter() - started


def ensure_built(
    name: str, sizes: Sizes, *, reuse: bool, seed: int, check: bool = False
) -> float | None:
    """Build ``name`` unless reusing one an earlier run finished; the build's seconds, or None.
    A build is checked before it is marked finished; a reused one only with ``check``."""
    if reuse and is_built(name, sizes):
        print(f"Reusing database {name} (applying any new migrations).")
        from django.core.management import call_command

        use_database(name)
        call_command("migrate", interactive=False, verbosity=0)
        with psycopg.connect(f"{PG}/{name}", autocommit=True) as conn:
            conn.execute("ANALYZE")
        if check:
            check_database(name)
        return None
    print(f"Building database {name}: {sizes.subjects:,} subjects, {sizes.flags:,} flags, ...")
    seconds = build(name, sizes, seed)
    print(f"  built in {seconds:.0f} s")
    return seconds


COUNTED = {
    "subjects": "flags_subject",
    "flags": "flags_flag",
    "evidence records": "flags_evidencerecord",
    "flag-evidence links": "flags_flagevidence",
    "cases": "casework_case",
    "case-flag links": "casework_caseflag",
    "decisions": "casework_decision",
    "notifications": "casework_notification",
    "case history rows": "casework_historicalcase",
    "flag history rows": "flags_historicalflag",
    "audit events": "audit_auditevent",
}


def scalar(conn: psycopg.Connection[Any], sql: str) -> int:
    row = conn.execute(sql).fetchone()
    return int(row[0]) if row else 0


def dataset_counts(name: str) -> dict[str, int]:
    with psycopg.connect(f"{PG}/{name}") as conn:
        found = {
            label: scalar(conn, f"SELECT count(*) FROM {table}")  # noqa: S608 - fixed names
            for label, table in COUNTED.items()
        }
        found["units"] = scalar(conn, "SELECT count(DISTINCT unit) FROM flags_subject")
        found["live cases"] = scalar(
            conn,
            "SELECT count(*) FROM casework_case "
            "WHERE status IN ('open', 'in_review', 'awaiting_sign_off', 'on_hold')",
        )
    return found


# --- measuring --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    name: str
    urls: list[str]


@dataclass(frozen=True)
class Measured:
    page: str
    times_ms: list[float]
    queries: list[int]

    @property
    def median(self) -> float:
        return statistics.median(self.times_ms)

    @property
    def p95(self) -> float:
        return statistics.quantiles(self.times_ms, n=20, method="inclusive")[18]

    @property
    def query_range(self) -> str:
        return f"{min(self.queries)}-{max(self.queries)}"


class PageFailed(RuntimeError):
    pass


def fetch(client: "Client", url: str, headers: dict[str, str]) -> None:
    response = client.get(url, secure=True, **headers)  # type: ignore[arg-type]
    if response.status_code != 200:
        body = response.content[:400].decode("utf-8", "replace")
        raise PageFailed(f"GET {url} answered {response.status_code}, not 200:\n{body}")


def measure(
    client: "Client", page: Page, requests: int, warmups: int, headers: dict[str, str]
) -> Measured:
    """Warm up, count each request's queries in a pass of their own, then time another pass."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    urls = [page.urls[i % len(page.urls)] for i in range(requests)]
    for url in urls[:warmups]:
        fetch(client, url, headers)
    queries = []
    for url in urls:
        with CaptureQueriesContext(connection) as captured:
            fetch(client, url, headers)
        queries.append(len(captured))
    times = []
    for url in urls:
        started = time.perf_counter()
        fetch(client, url, headers)
        times.append((time.perf_counter() - started) * 1000)
    return Measured(page.name, times, queries)


PATHS = {"html": ("/cases/", "/cases/{}/"), "api": ("/api/v1/cases/", "/api/v1/cases/{}/")}


def case_sample(reviewer: "User", count: int, seed: int) -> list[int]:
    """Live cases the reviewer may see, at random."""
    from casework.models import LIVE_STATUSES
    from casework.selectors import cases_visible_to

    visible = cases_visible_to(reviewer).filter(status__in=LIVE_STATUSES)
    ids = sorted(visible.values_list("pk", flat=True))
    return random.Random(seed).sample(ids, min(count, len(ids)))


def pages_for(mode: str, reviewer: "User", requests: int, seed: int, *, full: bool) -> list[Page]:
    queue, case = PATHS[mode]
    pages = [Page("bare page /accessibility/", ["/accessibility/"]), Page("queue", [queue])]
    if full:
        pages += [
            Page("queue in review, by due date", [f"{queue}?status=in_review&sort=due"]),
            Page("queue page 50", [f"{queue}?page=50"]),
            Page("queue, one category", [f"{queue}?category=system_misuse"]),
        ]
    ids = case_sample(reviewer, requests, seed)
    return [*pages, Page("case page", [case.format(pk) for pk in ids])]


def signed_in(mode: str) -> tuple["Client", "User", dict[str, str]]:
    """A test client signed in as the benchmark reviewer, and the headers the API needs."""
    from django.contrib.auth.models import User
    from django.test import Client

    from accounts.services import issue_personal_token
    from audit.actors import system_actor

    reviewer = User.objects.get(username=BENCH_REVIEWER)
    client = Client(raise_request_exception=False)  # a 500 is reported as a failed page
    client.force_login(reviewer)
    headers = {}
    if mode == "api":
        token = issue_personal_token(reviewer, actor=system_actor()).token
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client, reviewer, headers


def measure_dataset(name: str, args: argparse.Namespace, *, full: bool) -> list[Measured]:
    use_database(name)
    client, reviewer, headers = signed_in(args.pages)
    pages = pages_for(args.pages, reviewer, args.requests, args.seed, full=full)
    results = []
    for page in pages:
        headers_for_page = {} if page.name.startswith("bare") else headers
        results.append(measure(client, page, args.requests, args.warmups, headers_for_page))
    if args.explain and full:
        explain_slowest(client, pages, headers)
    return results


# --- explaining the slowest query of each page ------------------------------------------------


def slowest_query(client: "Client", url: str, headers: dict[str, str]) -> tuple[str, Any, float]:
    from django.db import connection

    seen: list[tuple[str, Any, float]] = []

    def timed(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            seen.append((sql, params, (time.perf_counter() - started) * 1000))

    with connection.execute_wrapper(timed):
        fetch(client, url, headers)
    selects = [query for query in seen if query[0].lstrip().upper().startswith(("SELECT", "WITH"))]
    return max(selects, key=lambda query: query[2])


def explain_slowest(client: "Client", pages: list[Page], headers: dict[str, str]) -> None:
    from django.db import connection

    for page in pages:
        sql, params, ms = slowest_query(client, page.urls[0], headers)
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
            plan = "\n".join(f"    {row[0]}" for row in cursor.fetchall())
        print(f"\nSlowest query of {page.name} ({page.urls[0]}): {ms:.1f} ms\n  {sql}\n{plan}")


# --- reporting --------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def print_timings(results: list[Measured], requests: int) -> None:
    bare = results[0].p95
    print(
        f"\n{'page':<32} {'requests':>8} {'median ms':>10} {'p95 ms':>8} {'queries':>8} "
        f"{'p95/bare':>9}  {'p95<150ms':>9}  {'<=3x bare':>9}"
    )
    for r in results:
        ratio = r.p95 / bare
        print(
            f"{r.page:<32} {requests:>8} {r.median:>10.1f} {r.p95:>8.1f} {r.query_range:>8} "
            f"{ratio:>9.2f}  {verdict(r.p95 < TARGET_P95_MS):>9}  "
            f"{verdict(ratio <= TARGET_RATIO):>9}"
        )


def print_growth(small: list[Measured], full: list[Measured]) -> None:
    by_page = {r.page: r for r in full}
    print(f"\n{'queries, small vs full data':<32} {'small':>8} {'full':>8}  {'same':>5}")
    for r in small:
        big = by_page[r.page]
        same = r.query_range == big.query_range
        print(f"{r.page:<32} {r.query_range:>8} {big.query_range:>8}  {verdict(same):>5}")


def print_sizes(names: list[str], seconds: list[float | None]) -> None:
    counts = [dataset_counts(name) for name in names]
    print(f"\n{'dataset':<22}" + "".join(f"{name:>24}" for name in names))
    for label in counts[0]:
        print(f"{label:<22}" + "".join(f"{c[label]:>24,}" for c in counts))
    shown = ["reused" if s is None else f"{s:.0f} s" for s in seconds]
    print(f"{'build time':<22}" + "".join(f"{s:>24}" for s in shown))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmups", type=int, default=20)
    parser.add_argument("--pages", choices=["html", "api"], default="html")
    parser.add_argument("--database", default="scrutiny_bench_pages")
    parser.add_argument("--reuse", action="store_true", help="keep databases already built")
    parser.add_argument(
        "--check", action="store_true", help="check reused databases as a build is checked"
    )
    parser.add_argument("--explain", action="store_true", help="EXPLAIN each page's slowest query")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    small_name = f"{args.database}_small"
    configure_django(args.database)
    seconds = [
        ensure_built(small_name, SMALL, reuse=args.reuse, seed=args.seed, check=args.check),
        ensure_built(args.database, FULL, reuse=args.reuse, seed=args.seed, check=args.check),
    ]
    print(f"Measuring the {args.pages} pages, {args.requests} requests each ...")
    try:
        small = measure_dataset(small_name, args, full=False)
        full = measure_dataset(args.database, args, full=True)
    except PageFailed as failure:
        sys.exit(str(failure))
    print_sizes([small_name, args.database], seconds)
    print(f"\nFull data ({args.database}), {args.pages} pages:")
    print_timings(full, args.requests)
    print_growth(small, full)


if __name__ == "__main__":
    main()

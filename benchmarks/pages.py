"""Reviewer pages: the work queue and a case page, timed and counted beside a bare page.

Builds a scratch PostgreSQL database holding a full-size force: 46,000 subjects from the project's
synthetic-force generator, four detectors, 1,000,000 flags with their evidence, and 50,000 cases
(about 8,000 live) with their flags, decisions, notices to the subject and version history. The
rows are loaded with COPY: they are fixtures, not governed writes, so they bypass the services,
but each is a row the services could have written (a case's trace is the threshold evaluation of
its own flags, its decisions follow the workflow, its history follows its decisions). A second,
small database (500 subjects, 10,000 flags, 500 cases) is built the same way.

Then a reviewer in Professional Standards signs in with Django's test client and requests, in
process, a bare page that renders only the base template, the work queue (first page, filtered,
sorted, deep in the pages) and case pages, printing the median and 95th-percentile time and the
SQL query count of each against the targets: 95th percentile under 150 ms and at most three times
the bare page's, and the same query count on the small data as on the full.

    .venv/bin/python benchmarks/pages.py [--requests 200] [--pages html|api] [--reuse] [--explain]

Both databases (--database, default scrutiny_bench_pages, and the same name with _small) are
dropped and rebuilt at the start, unless --reuse is given: it keeps a database an earlier run
finished building. Never point --database at a database you want to keep. Needs PostgreSQL on
127.0.0.1:5432 (trust auth, user postgres), as on the development machines.
"""

import argparse
import bisect
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
from typing import TYPE_CHECKING, Any, NamedTuple

import psycopg

from audit.chain import canonical_json, sha256_hex
from detectors.force_people import Force, build_force

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.test import Client

    from casework.thresholds import CategoryRule

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
        "Niche person look-up on {day} of record P-{n}40817 with no linked task",
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
        "Niche person look-up on {day} of vulnerable-person record V-{n}2291, no linked task",
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
    """The users who act on cases: the system, reviewers and senior reviewers."""

    system: int
    reviewers: list[int]
    seniors: list[int]

    def role(self, user_id: int) -> str:
        if user_id == self.system:
            return "system"
        return "senior_reviewer" if user_id in self.seniors else "reviewer"


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


def set_up_people() -> Staff:
    """The system user, the four detectors and the reviewers, through the services."""
    from accounts.services import create_user
    from audit.actors import Role, system_actor
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
    return Staff(actor.user.pk, [u.pk for u in reviewers], [u.pk for u in seniors])


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
DECISION_COLUMNS = (
    "id", "case_id", "kind", "outcome", "rationale", "made_at", "made_by_id", "role",
    "no_conflict_declared", "status_before", "status_after", "policy_version", "evidence_hashes",
)  # fmt: skip
CASE_FLAG_COLUMNS = ("id", "case_id", "flag_id", "attached_at", "via", "category")
NOTIFICATION_COLUMNS = ("id", "case_id", "subject_id", "kind", "created_at", "due_at", "sent_at")
DECISION_LABELS = {
    "triage": "review started",
    "recommendation": "recommendation",
    "sign_off": "sign-off",
    "second_signature": "second signature",
    "hold": "put on hold",
    "withdrawal": "withdrawal",
}


@dataclass
class CaseTables:
    """Rows for the case tables, in the order they are loaded."""

    cases: list[tuple[Any, ...]] = field(default_factory=list)
    history: list[tuple[Any, ...]] = field(default_factory=list)
    links: list[tuple[Any, ...]] = field(default_factory=list)
    decisions: list[tuple[Any, ...]] = field(default_factory=list)
    notices: list[tuple[Any, ...]] = field(default_factory=list)


@dataclass(frozen=True)
class Change:
    """One step of a case's review, as casework.services would record it."""

    kind: str
    user: int
    status_after: str
    fields: dict[str, Any]
    outcome: str = ""


# A field set to AT_STEP takes the time of the step, as timezone.now() does in the services.
AT_STEP = object()


def anyone_but(rng: random.Random, users: Sequence[int], *excluded: Any) -> int:
    return rng.choice([user for user in users if user not in excluded])


def start_review(
    case: dict[str, Any], plan: PlannedCase, rng: random.Random, staff: Staff
) -> Change:
    user = rng.choice(staff.reviewers + staff.seniors)
    fields = {"assignee_id": user, "review_started_by_id": user, "review_started_at": AT_STEP}
    return Change("triage", user, "in_review", fields)


def recommend(case: dict[str, Any], plan: PlannedCase, rng: random.Random, staff: Staff) -> Change:
    user = case["assignee_id"]  # only the assignee may recommend
    fields = {
        "recommended_outcome": plan.outcome,
        "recommended_by_id": user,
        "recommended_at": AT_STEP,
    }
    return Change("recommendation", user, "awaiting_sign_off", fields, plan.outcome)


def sign_off(case: dict[str, Any], plan: PlannedCase, rng: random.Random, staff: Staff) -> Change:
    user = anyone_but(rng, staff.reviewers + staff.seniors, case["recommended_by_id"])
    fields = {"concluded_by_id": user, "outcome": plan.outcome, "concluded_at": AT_STEP}
    return Change("sign_off", user, "closed", fields, plan.outcome)


def sign_referral(
    case: dict[str, Any], plan: PlannedCase, rng: random.Random, staff: Staff
) -> Change:
    user = anyone_but(rng, staff.seniors, case["recommended_by_id"])
    return Change("sign_off", user, case["status"], {}, "referral")


def second_signature(
    case: dict[str, Any], plan: PlannedCase, rng: random.Random, staff: Staff
) -> Change:
    user = anyone_but(rng, staff.seniors, case["recommended_by_id"], case["first_signer"])
    fields = {"concluded_by_id": user, "outcome": "referral", "concluded_at": AT_STEP}
    return Change("second_signature", user, "referred", fields, "referral")


def hold(case: dict[str, Any], plan: PlannedCase, rng: random.Random, staff: Staff) -> Change:
    return Change("hold", staff.system, "on_hold", {"held_from": case["status"]})


def withdraw(case: dict[str, Any], plan: PlannedCase, rng: random.Random, staff: Staff) -> Change:
    user = staff.system if case["status"] == "open" else case["assignee_id"]
    fields = {"concluded_by_id": user, "concluded_at": AT_STEP, "held_from": ""}
    return Change("withdrawal", user, "withdrawn", fields)


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


def case_trace(plan: PlannedCase, world: World) -> dict[str, Any]:
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
    return evaluation.as_trace()


def new_case_row(case_id: int, plan: PlannedCase, world: World) -> dict[str, Any]:
    return {
        "id": case_id,
        "status": "open",
        "trace": json.dumps(case_trace(plan, world)),
        "opened_at": plan.opened_at,
        "legal_hold": False,
        "assignee_id": None,
        "opened_by_id": world.staff.system,
        "subject_id": plan.subject,
        "policy_id": world.policy_id,
        "concluded_at": None,
        "concluded_by_id": None,
        "due_on": plan.opened_at.date() + 28 * DAY,
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


def record_step(
    tables: CaseTables, ids: Ids, case: dict[str, Any], plan: PlannedCase, change: Change,
    when: datetime, world: World,
) -> None:  # fmt: skip
    """Write the decision, the case's new state and its history row, as services._record does."""
    decision_id = ids.next("decision")
    hashes = sorted({h for f in plan.flags if f.received_at <= when for h in f.evidence_hashes})
    tables.decisions.append(
        (
            decision_id, case["id"], change.kind, change.outcome, RATIONALES[change.kind], when,
            change.user, world.staff.role(change.user), True, case["status"], change.status_after,
            world.policy_version, json.dumps(hashes),
        )
    )  # fmt: skip
    if change.kind == "sign_off" and change.outcome == "referral":
        case["first_signer"] = change.user  # not a column: the second signer must differ
    fields = {name: when if value is AT_STEP else value for name, value in change.fields.items()}
    if change.status_after != case["status"]:
        fields.update(status=change.status_after, status_changed_at=when)
    if fields:
        case.update(fields)
        reason = f"{DECISION_LABELS[change.kind]} (decision {decision_id})"
        tables.history.append(history_row(case, when, reason, "~", change.user))


def notices(tables: CaseTables, ids: Ids, case: dict[str, Any], now: datetime) -> None:
    """The notices to the subject: the case-opened notice a day after opening (sent at once if
    an adverse recommendation or a conclusion came first), and those that were sent at once."""
    opened = case["opened_at"]
    sent_early = [t for t in (case["recommended_at"], case["concluded_at"]) if t is not None]
    due = opened + DAY
    sent = min([due, *sent_early]) if min([due, *sent_early]) <= now else None
    rows = [("case_opened", opened, due, sent)]
    if case["recommended_outcome"] == "referral" or case["outcome"] == "referral":
        rows.append(("adverse_outcome_pending", *[case["recommended_at"]] * 3))
    if case["concluded_at"] is not None:
        rows.append(("case_concluded", *[case["concluded_at"]] * 3))
    for kind, created, due_at, sent_at in rows:
        tables.notices.append(
            (ids.next("notice"), case["id"], case["subject_id"], kind, created, due_at, sent_at)
        )


def links(tables: CaseTables, ids: Ids, case_id: int, plan: PlannedCase) -> None:
    for f in plan.flags:
        attached, via = (f.received_at, "joining") if f.joining else (plan.opened_at, "opening")
        tables.links.append((ids.next("link"), case_id, f.id, attached, via, plan.category))


def build_case(
    tables: CaseTables, ids: Ids, rng: random.Random, plan: PlannedCase, world: World
) -> None:
    case_id = ids.next("case")
    case = new_case_row(case_id, plan, world)
    reason = f"threshold met under policy v{world.policy_version}"
    tables.history.append(history_row(case, plan.opened_at, reason, "+", world.staff.system))
    names = story(rng, plan)
    for name, when in zip(names, step_times(rng, plan, len(names), world.now), strict=True):
        change = STEPS[name](case, plan, rng, world.staff)
        record_step(tables, ids, case, plan, change, when, world)
    if case["status"] != plan.status:
        raise AssertionError(f"case {case_id} ended {case['status']}, planned {plan.status}")
    tables.cases.append(tuple(case[c] for c in CASE_COLUMNS))
    links(tables, ids, case_id, plan)
    notices(tables, ids, case, world.now)


def load_cases(dsn: str, rng: random.Random, plans: list[PlannedCase], world: World) -> None:
    tables, ids = CaseTables(), Ids()
    for plan in plans:
        build_case(tables, ids, rng, plan, world)
    with psycopg.connect(dsn) as conn:
        copy_rows(conn, "casework_case", CASE_COLUMNS, tables.cases)
        copy_rows(conn, "casework_historicalcase", CASE_HISTORY_COLUMNS, tables.history)
        copy_rows(conn, "casework_caseflag", CASE_FLAG_COLUMNS, tables.links)
        copy_rows(conn, "casework_decision", DECISION_COLUMNS, tables.decisions)
        copy_rows(conn, "casework_notification", NOTIFICATION_COLUMNS, tables.notices)


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
    return World(
        staff_numbers=staff_numbers,
        weights=category_weights(force, extra),
        detectors=register_detectors(),
        staff=set_up_people(),
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
        load_cases(dsn, rng, plans, world)
    with stage("sequences, VACUUM ANALYZE"):
        finish(dsn)
    mark_built(name, sizes)
    return time.perf_counter() - started


def ensure_built(name: str, sizes: Sizes, *, reuse: bool, seed: int) -> float | None:
    """Build ``name`` unless reusing one an earlier run finished; the build's seconds, or None."""
    if reuse and is_built(name, sizes):
        print(f"Reusing database {name} (applying any new migrations).")
        from django.core.management import call_command

        use_database(name)
        call_command("migrate", interactive=False, verbosity=0)
        with psycopg.connect(f"{PG}/{name}", autocommit=True) as conn:
            conn.execute("ANALYZE")
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
    parser.add_argument("--explain", action="store_true", help="EXPLAIN each page's slowest query")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    small_name = f"{args.database}_small"
    configure_django(args.database)
    seconds = [
        ensure_built(small_name, SMALL, reuse=args.reuse, seed=args.seed),
        ensure_built(args.database, FULL, reuse=args.reuse, seed=args.seed),
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

"""Reports rendered at full scale: the oversight report for a year and a disclosure pack of 200
evidence records, each timed end to end beside WeasyPrint's own time for the same HTML.

Works on the full-size database of benchmarks/pages.py (46,000 subjects, 1,000,000 flags,
50,000 cases, their decisions, notices, history and an audit chain of about 1.27 million
events), built by that script's own builders unless --reuse finds one it finished. Each
measurement runs in a fresh child process, so that its peak memory (``ru_maxrss``, read just
after the rendering) is the rendering process's own, as a Celery worker's would be, and in one
transaction that the child rolls back at its end, so that every run starts from the same data
and the database is left as built:

1. **The oversight report** for the last 365 days (today included). An oversight user (created
   if the database has none) asks for it through ``reports.services.request_report``; then
   ``reports.services.render`` is timed end to end with the real builder
   (``reports.documents.build_document``: the figures, the fairness tables, the charts, the
   audit chain verified up to the snapshot) and a ``to_pdf`` that is the real one
   (``reports.rendering.render_pdf``) keeping the final HTML. In the same process, afterwards:
   WeasyPrint alone on that HTML (``render_pdf`` again), the statistics queries alone
   (``reports.figures.oversight_figures``, their SQL statements counted) and the chain
   verification alone (``audit.log.verify_stored_chain`` up to the snapshot).
2. **A disclosure pack** of one person's record holding 200 evidence records: the person with no
   account whose flags rest on the most distinct records, up to 200, among those with a case;
   any records short of 200 come in new attendance flags posted through
   ``flags.services.ingest_flags`` as the attendance detector (the real threshold evaluation
   attaches them to the person's case or opens one). The person gets a subject's account, the
   due notices are sent (``casework.services.send_due_notifications``) so that their cases, and
   the flags on them, show in their record; the script checks that the record shows exactly 200
   evidence records. The person asks for their pack, and ``render`` is timed end to end, then
   WeasyPrint alone on its HTML.

Celery queues nothing: the rendering is called in process, the request's ``delay_on_commit`` is
never sent (the transaction never commits, and the child sets CELERY_TASK_ALWAYS_EAGER off).
The files go to a temporary PRIVATE_FILES_ROOT, removed when the child ends. ``render`` reads
in a REPEATABLE READ READ ONLY transaction of its own when it has one; inside the child's open
transaction it reads in that transaction's view instead, and nothing else writes meanwhile.

The script prints each run and the median of --runs: the total time, WeasyPrint's time inside
the render and alone, their ratio (each run's total over its WeasyPrint alone; the verdict is
the median of those ratios), the statistics and the chain verification alone (oversight), the
SQL statements (of the statistics, and of the whole render), the PDF's pages and size, and the
peak memory; then PASS or FAIL against the targets: oversight report under 30 s, disclosure
pack under 5 s, each at most 1.3 times WeasyPrint's own time, and peak memory under 500 MB (the
largest of any run).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/scrutiny_bench_big \\
        .venv/bin/python benchmarks/reports.py [--runs 3] [--kinds oversight,disclosure] \\
        [--days 365] [--evidence 200] [--reuse] [--check] [--profile] [--keep-html DIR]

The database is the one DATABASE_URL names (else --database, default scrutiny_bench_pages, the
pages benchmark's own); it is dropped and rebuilt unless --reuse finds it built by pages.py.
Never point it at a database you want to keep. --check runs pages.py's checks (verify_audit, the
history against the rows) on a reused database before measuring; --profile renders each kind
once more under cProfile and prints where the time goes; --keep-html DIR writes each render's
final HTML to DIR/oversight.html and DIR/disclosure.html. Needs PostgreSQL on 127.0.0.1:5432
(trust auth, user postgres), as pages.py does.
"""

import argparse
import cProfile
import io
import json
import os
import pstats
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

# The apps of this checkout first, and not this script's directory, where this file's name
# would hide the reports app.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

from benchmarks import pages  # noqa: E402

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from flags.models import Subject
    from reports.rendering import RenderedPdf, Snapshot
    from reports.services import Document

KINDS = ("oversight", "disclosure")
TARGET_SECONDS = {"oversight": 30.0, "disclosure": 5.0}
TARGET_RATIO = 1.3
TARGET_PEAK_MB = 500.0
# The child's answer: the last line of its standard output.
RESULT_PREFIX = "RESULT "
DETECTOR = "attendance"


# --- in the child: the scenarios ----------------------------------------------------------------


def oversight_user() -> "User":
    """An oversight user: one the database has, else one created in the run's transaction."""
    from django.contrib.auth.models import User

    from accounts.services import create_user
    from audit.actors import Role, system_actor

    found = User.objects.filter(groups__name=Role.OVERSIGHT).order_by("pk").first()
    if found is not None:
        return found
    return create_user("bench.oversight", role=Role.OVERSIGHT, actor=system_actor())


def tell_everyone() -> None:
    """The scheduled sending of due notices, as often as it takes to send them all."""
    from audit.actors import system_actor
    from casework.services import send_due_notifications

    while send_due_notifications(actor=system_actor()):
        pass


def richest_record(evidence: int) -> "Subject":
    """The person with no account and a case whose flags rest on the most distinct evidence
    records, up to ``evidence``."""
    from django.db.models import Count

    from flags.models import Subject

    person = (
        Subject.objects.filter(active=True, user__isnull=True)
        .exclude(unit="Professional Standards")
        .filter(pk__in=Subject.objects.filter(cases__isnull=False).values("pk"))
        .annotate(records=Count("flags__evidence", distinct=True))
        .filter(records__lte=evidence)
        .order_by("-records", "pk")
        .first()
    )
    if person is None:
        raise SystemExit(f"No person with a case has at most {evidence} evidence records.")
    return person


def shown_evidence(user: "User", subject: "Subject") -> tuple[int, int, int]:
    """What the person's own record shows: distinct evidence records, flags, cases."""
    from appeals.selectors import flags_in_scope, scope_for
    from flags.models import FlagEvidence

    scope = scope_for(user, subject.pk)
    flags = flags_in_scope(scope)
    records = (
        FlagEvidence.objects.filter(flag__in=flags.values("pk"))
        .values("evidence_id")
        .distinct()
        .count()
    )
    return records, flags.count(), len(scope.case_ids)


def top_up(subject: "Subject", missing: int, stamp: str) -> None:
    """``missing`` new sickness records, ten to a flag, posted by the attendance detector."""
    from django.test import override_settings
    from django.utils import timezone

    from audit.actors import Actor, Role
    from flags.models import Detector
    from flags.services import ingest_flags

    today = timezone.localdate()
    items = []
    for number, start in enumerate(range(0, missing, 10)):
        end = today - timedelta(days=3 + 28 * number)
        records = [
            {
                "source_system": "hr_absence",
                "record_type": "sickness",
                "record_id": f"SI-bench-{stamp}-{start + n}",
                "occurred_at": f"{(end - timedelta(days=2 * n)).isoformat()}T08:00:00Z",
                "summary": f"Sickness absence from {(end - timedelta(days=2 * n)).isoformat()}: "
                "1 day(s), self-certified",
                "payload": {"reference": f"SI-bench-{stamp}-{start + n}", "quantity": 1},
            }
            for n in range(min(10, missing - start))
        ]
        items.append(
            {
                "external_id": f"bench-reports-{stamp}-{number}",
                "subject": subject.staff_number,
                "category": "attendance",
                "rule": "attendance.bradford_factor",
                "detector_version": pages.DETECTOR_VERSION,
                "score": 0.9,
                "explanation": f"Bradford factor 300 over 52 weeks from {len(records)} spells "
                "of sickness absence, at or above the trigger point of 250.",
                "factors": [{"name": "bradford_factor", "value": 300.0, "weight": 1.0}],
                "window": {
                    "start": (end - timedelta(days=27)).isoformat(),
                    "end": end.isoformat(),
                },
                "evidence": records,
            }
        )
    detector = Detector.objects.select_related("user").get(slug=DETECTOR)
    with override_settings(SUBJECT_NOTICE_DELAY_HOURS=0):
        outcomes = ingest_flags(
            detector=detector, raw_items=items, actor=Actor(detector.user, Role.DETECTOR)
        )
    refused = [outcome for outcome in outcomes if outcome.status != "created"]
    if refused:
        raise SystemExit(f"The ingest refused {len(refused)} flag(s): {refused[:3]}")


def disclosure_requester(evidence: int, run: int) -> tuple["User", "Subject", dict[str, int]]:
    """The person whose record shows ``evidence`` evidence records, with their account."""
    from accounts.services import create_user
    from audit.actors import Role, system_actor

    subject = richest_record(evidence)
    user = create_user(
        f"bench.subject.{run}", role=Role.SUBJECT, actor=system_actor(), subject=subject
    )
    tell_everyone()
    records, _flags, _cases = shown_evidence(user, subject)
    if records < evidence:
        top_up(subject, evidence - records, f"{run}-{time.time_ns()}")
        tell_everyone()
    records, flags, cases = shown_evidence(user, subject)
    if records != evidence:
        raise SystemExit(f"The record shows {records} evidence records, not {evidence}.")
    return user, subject, {"evidence": records, "flags": flags, "cases": cases}


# --- in the child: measuring --------------------------------------------------------------------


@dataclass
class Counted:
    statements: int = 0


@contextmanager
def counting() -> Iterator[Counted]:
    """The SQL statements sent through Django inside the block."""
    from django.db import connection

    counted = Counted()

    def wrapper(
        execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        counted.statements += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield counted


@dataclass
class Captured:
    """What the render handed WeasyPrint, and what it gave back."""

    calls: list[tuple["Document", "Snapshot", str, "RenderedPdf"]] = field(default_factory=list)

    def to_pdf(self, document: "Document", snapshot: "Snapshot", identifier: str) -> bytes:
        from reports.rendering import render_pdf

        rendered = render_pdf(
            document.html, snapshot=snapshot, title=document.title, identifier=identifier
        )
        self.calls.append((document, snapshot, identifier, rendered))
        return rendered.content


def peak_mb() -> float:
    # Linux gives ru_maxrss in kilobytes.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def render_timed(report_id: int, profile: bool) -> tuple[dict[str, Any], Captured]:
    from reports import services
    from reports.documents import build_document

    captured = Captured()
    profiler = cProfile.Profile() if profile else None
    with counting() as counted:
        started = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        outcome = services.render(report_id, build_document, captured.to_pdf)
        if profiler is not None:
            profiler.disable()
        total = time.perf_counter() - started
    peak = peak_mb()
    if outcome != "done" or len(captured.calls) != 1:
        raise SystemExit(f"Report {report_id} was not rendered: {outcome}.")
    _document, _snapshot, _identifier, rendered = captured.calls[0]
    if profiler is not None:
        print_profile(profiler)
    return {
        "total": total,
        "weasy_in_render": rendered.seconds,
        "render_queries": counted.statements,
        "pages": rendered.pages,
        "size": rendered.size,
        "peak_mb": peak,
    }, captured


def weasyprint_alone(captured: Captured, result: dict[str, Any], keep_html: Path | None) -> None:
    """WeasyPrint's own time for the render's final HTML, rendered again; and whether it gave
    the same bytes (the reports are reproducible)."""
    from reports.rendering import render_pdf

    document, snapshot, identifier, first = captured.calls[0]
    if keep_html is not None:
        keep_html.write_text(document.html)
    again = render_pdf(
        document.html, snapshot=snapshot, title=document.title, identifier=identifier
    )
    result["weasy"] = again.seconds
    result["same_bytes"] = again.content == first.content


def kept(args: argparse.Namespace) -> Path | None:
    """Where this child writes its render's final HTML (--keep-html), if anywhere."""
    return Path(args.keep_html, f"{args.child}.html") if args.keep_html else None


def measure_oversight(args: argparse.Namespace) -> dict[str, Any]:
    from django.utils import timezone

    from audit.log import verify_stored_chain
    from reports.figures import oversight_figures
    from reports.services import request_report

    last = timezone.localdate()
    first = last - timedelta(days=args.days - 1)
    report = request_report(
        "oversight",
        {"from": first.isoformat(), "to": last.isoformat()},
        user=oversight_user(),
    )
    result, captured = render_timed(report.pk, args.profile)
    weasyprint_alone(captured, result, kept(args))
    with counting() as counted:
        started = time.perf_counter()
        oversight_figures(first, last)
        result["stats"] = time.perf_counter() - started
    result["stats_queries"] = counted.statements
    snapshot = captured.calls[0][1]
    started = time.perf_counter()
    check = verify_stored_chain(up_to=snapshot.seq)
    result["chain"] = time.perf_counter() - started
    result["chain_ok"] = check.intact and check.head_seq == snapshot.seq
    result["events"] = snapshot.seq
    result["period"] = f"{first.isoformat()} to {last.isoformat()}"
    return result


def measure_disclosure(args: argparse.Namespace) -> dict[str, Any]:
    from reports.services import request_report

    user, subject, shown = disclosure_requester(args.evidence, args.run)
    report = request_report("disclosure", {"subject": subject.pk}, user=user)
    result, captured = render_timed(report.pk, args.profile)
    weasyprint_alone(captured, result, kept(args))
    result.update(shown)
    return result


def child(args: argparse.Namespace) -> None:
    """One measurement, in this process, in a transaction rolled back at its end."""
    private = tempfile.mkdtemp(prefix="scrutiny-bench-reports-")
    os.environ["PRIVATE_FILES_ROOT"] = private
    try:
        pages.configure_django(args.database)
        from django.conf import settings
        from django.db import transaction

        from config.celery import app

        settings.CELERY_TASK_ALWAYS_EAGER = False
        app.conf.task_always_eager = False
        measure = measure_oversight if args.child == "oversight" else measure_disclosure
        with transaction.atomic():
            result = measure(args)
            transaction.set_rollback(True)
    finally:
        shutil.rmtree(private, ignore_errors=True)
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def print_profile(profiler: cProfile.Profile) -> None:
    for order, lines in (("cumulative", 45), ("tottime", 25)):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(lines)
        print(f"\nWhere the render's time goes (cProfile, {order}):")
        print(out.getvalue())


# --- in the parent ------------------------------------------------------------------------------


def run_child(args: argparse.Namespace, kind: str, run: int, *, profile: bool) -> dict[str, Any]:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        kind,
        "--database",
        args.database,
        "--run",
        str(run),
        "--days",
        str(args.days),
        "--evidence",
        str(args.evidence),
    ]
    if profile:
        command.append("--profile")
    if args.keep_html:
        command += ["--keep-html", str(Path(args.keep_html).resolve())]
    finished = subprocess.run(command, capture_output=True, text=True, check=False)
    lines = finished.stdout.splitlines()
    answer = [line for line in lines if line.startswith(RESULT_PREFIX)]
    if finished.returncode or not answer:
        sys.stderr.write(finished.stderr[-5000:])
        raise SystemExit(f"The {kind} measurement (run {run}) failed: exit {finished.returncode}.")
    if profile:
        print("\n".join(line for line in lines if not line.startswith(RESULT_PREFIX)))
    result: dict[str, Any] = json.loads(answer[-1][len(RESULT_PREFIX) :])
    return result


def ratio(result: dict[str, Any]) -> float:
    return float(result["total"]) / float(result["weasy"])


def print_kind(kind: str, results: list[dict[str, Any]]) -> None:
    oversight = kind == "oversight"
    if oversight:
        print(
            f"\nOversight report, {results[0]['period']}, audit chain of "
            f"{results[0]['events']:,} events (each run a fresh process, rolled back):"
        )
        extra = f" {'stats s':>8} {'chain s':>8} {'stats q':>8}"
    else:
        print(
            f"\nDisclosure pack: {results[0]['evidence']} evidence records, "
            f"{results[0]['flags']} flags, {results[0]['cases']} cases "
            "(each run a fresh process, rolled back):"
        )
        extra = ""
    print(
        f"\n{'run':<8} {'total s':>8} {'weasy s':>8} {'ratio':>6} {'in-render':>10}"
        f"{extra} {'render q':>9} {'pages':>6} {'size KB':>8} {'peak MB':>8}"
    )

    def row(label: str, values: dict[str, Any], the_ratio: float) -> str:
        extra = (
            f" {values['stats']:>8.2f} {values['chain']:>8.2f} {values['stats_queries']:>8}"
            if oversight
            else ""
        )
        return (
            f"{label:<8} {values['total']:>8.2f} {values['weasy']:>8.2f} {the_ratio:>6.2f} "
            f"{values['weasy_in_render']:>10.2f}{extra} {values['render_queries']:>9} "
            f"{values['pages']:>6} {values['size'] / 1024:>8.0f} {values['peak_mb']:>8.0f}"
        )

    for number, result in enumerate(results, start=1):
        print(row(str(number), result, ratio(result)))
    median = {
        key: statistics.median(r[key] for r in results)
        for key in results[0]
        if isinstance(results[0][key], int | float) and not isinstance(results[0][key], bool)
    }
    print(row("median", median, statistics.median(ratio(r) for r in results)))
    if not all(r["same_bytes"] for r in results):
        print("WeasyPrint alone did NOT give the render's bytes for the same HTML.")
    if oversight and not all(r["chain_ok"] for r in results):
        print("The audit chain did NOT verify up to the snapshot.")


def print_verdicts(measured: dict[str, list[dict[str, Any]]]) -> None:
    print(f"\n{'target':<54} {'measured':>10}  {'':>5}")
    label = {"oversight": "oversight report", "disclosure": "disclosure pack"}
    for kind, results in measured.items():
        seconds = statistics.median(r["total"] for r in results)
        limit = TARGET_SECONDS[kind]
        the_ratio = statistics.median(ratio(r) for r in results)
        peak = max(r["peak_mb"] for r in results)
        print(
            f"{label[kind] + f' < {limit:.0f} s (median)':<54} {seconds:>9.2f}s  "
            f"{pages.verdict(seconds < limit)}\n"
            f"{label[kind] + ' <= 1.3 x WeasyPrint alone (median)':<54} {the_ratio:>9.2f}x  "
            f"{pages.verdict(the_ratio <= TARGET_RATIO)}\n"
            f"{label[kind] + ' peak memory < 500 MB (largest)':<54} {peak:>8.0f}MB  "
            f"{pages.verdict(peak < TARGET_PEAK_MB)}"
        )
        if kind == "oversight":
            ok = all(r["chain_ok"] for r in results)
            print(f"{'oversight report: chain verified to snapshot':<54} {'':>10}  "
                  f"{pages.verdict(ok)}")  # fmt: skip


def default_database() -> str:
    from urllib.parse import urlsplit

    url = os.environ.get("DATABASE_URL", "")
    name = urlsplit(url).path.lstrip("/") if url.startswith("postgres") else ""
    return name or "scrutiny_bench_pages"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=default_database())
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--kinds", default=",".join(KINDS), help="oversight,disclosure")
    parser.add_argument("--days", type=int, default=365, help="the oversight report's period")
    parser.add_argument("--evidence", type=int, default=200, help="records in the disclosure pack")
    parser.add_argument("--reuse", action="store_true", help="keep a database already built")
    parser.add_argument("--check", action="store_true", help="check a reused database first")
    parser.add_argument("--profile", action="store_true", help="cProfile one more render of each")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--keep-html", metavar="DIR", default="", help="write each render's final HTML here"
    )
    parser.add_argument("--child", choices=KINDS, help=argparse.SUPPRESS)
    parser.add_argument("--run", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    kinds = [kind for kind in args.kinds.split(",") if kind]
    if not kinds or any(kind not in KINDS for kind in kinds):
        parser.error(f"--kinds takes some of {', '.join(KINDS)}")
    if args.runs < 1 or args.days < 1 or args.evidence < 1:
        parser.error("--runs, --days and --evidence must be at least 1")

    if args.child:
        child(args)
        return
    pages.configure_django(args.database)
    pages.ensure_built(
        args.database, pages.FULL, reuse=args.reuse, seed=args.seed, check=args.check
    )
    measured: dict[str, list[dict[str, Any]]] = {kind: [] for kind in kinds}
    for number in range(1, args.runs + 1):
        for kind in kinds:
            result = run_child(args, kind, number, profile=False)
            measured[kind].append(result)
            print(
                f"  run {number}: {kind} {result['total']:.2f} s "
                f"(WeasyPrint alone {result['weasy']:.2f} s, peak {result['peak_mb']:.0f} MB)",
                flush=True,
            )
    for kind in kinds:
        print_kind(kind, measured[kind])
    print_verdicts(measured)
    if args.profile:
        for kind in kinds:
            print(f"\n--- {kind}: one more render under cProfile ---")
            run_child(args, kind, args.runs + 1, profile=True)


if __name__ == "__main__":
    main()

"""Ingest throughput: flags per second through the HTTP API, beside PostgreSQL's COPY.

Builds a scratch PostgreSQL database, loads a workforce of --subjects people through the
workforce import, registers a detector, starts gunicorn, and posts --flags flags (two evidence
records each) in batches of 1,000 from --clients concurrent clients. Every flag goes through the
whole path: validation, history rows, audit events, threshold evaluation and case opening. Then it
loads the same rows with COPY into a scratch table in the same database and prints both rates.

    .venv/bin/python benchmarks/ingest.py [--flags 100000] [--workers 3] [--clients 3]

Needs PostgreSQL on 127.0.0.1:5432 (trust auth, user postgres), as on the development machines.
"""

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
PG = "postgres://postgres@127.0.0.1:5432"
CATEGORIES = ["overtime_fraud", "attendance", "system_misuse", "complaints_pattern", "other"]


def run(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def fresh_database(name: str) -> None:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def workforce_csv(subjects: int, path: Path) -> None:
    rng = random.Random(7)
    lines = [
        "staff_number,name,rank,role,unit,line_manager,working_pattern,employment_type,"
        "sex,ethnicity,disability,age_band,long_term_sickness"
    ]
    for n in range(subjects):
        manager = "" if n < 50 else str(100000 + rng.randrange(0, n // 10 + 50))
        lines.append(
            f"{100000 + n},Person {n},constable,Response officer,Unit {n % 200},{manager},"
            f"{rng.choice(['full_time', 'part_time'])},officer,{rng.choice(['female', 'male'])},"
            f"{rng.choice(['white', 'asian', 'black', ''])},{rng.choice(['yes', 'no', ''])},"
            "35_44,no"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def flag_items(count: int, subjects: int, seed: int) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    today = datetime.now(tz=UTC).date()
    for n in range(count):
        end = today - timedelta(days=rng.randrange(0, 120))
        # One flag in five concerns a small group who draw repeated, stronger flags, so cases
        # open and later flags join them: the whole threshold path is exercised.
        repeat = rng.random() < 0.2
        subject = 100000 + rng.randrange(min(subjects, 2000) if repeat else subjects)
        yield {
            "external_id": f"bench-{seed}-{n}",
            "subject": str(subject),
            "category": rng.choice(CATEGORIES),
            "rule": "bench.rule",
            "detector_version": "1.0.0",
            # Mostly weak flags, as real detectors produce: a few percent of people get cases.
            "score": round(rng.betavariate(5, 2) if repeat else rng.betavariate(2, 5), 4),
            "explanation": "Synthetic benchmark flag.",
            "factors": [{"name": "z", "value": round(rng.random() * 5, 3), "weight": 0.5}],
            "window": {"start": (end - timedelta(days=30)).isoformat(), "end": end.isoformat()},
            "evidence": [
                {
                    "source_system": "bench",
                    "record_type": "overtime",
                    "record_id": f"bench-{seed}-{n}-{k}",
                    "occurred_at": f"{end.isoformat()}T1{k}:00:00Z",
                    "summary": "Synthetic source record",
                    "payload": {"hours": rng.randrange(1, 12), "k": k},
                }
                for k in range(2)
            ],
        }


def batches(items: list[dict[str, Any]], size: int = 1000) -> list[bytes]:
    return [json.dumps({"flags": items[i : i + size]}).encode() for i in range(0, len(items), size)]


def post_all(
    url: str, token: str, bodies: list[bytes], clients: int
) -> tuple[float, dict[str, int]]:
    totals = {"created": 0, "duplicate": 0, "rejected": 0}
    lock = threading.Lock()
    queue = list(enumerate(bodies))
    failures: list[str] = []

    def worker() -> None:
        with httpx.Client(
            base_url=url,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            timeout=300,
        ) as client:
            while True:
                with lock:
                    if not queue:
                        return
                    _, body = queue.pop(0)
                response = client.post("/api/v1/flags/", content=body)
                if response.status_code != 200:
                    failures.append(f"{response.status_code}: {response.text[:300]}")
                    return
                summary = response.json()
                with lock:
                    for key in totals:
                        totals[key] += summary[key]

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        sys.exit(f"ingest failed: {failures[0]}")
    return elapsed, totals


def copy_rate(dsn: str, items: list[dict[str, Any]]) -> float:
    """Load the same flags and evidence with COPY into scratch tables; return flags per second."""
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "CREATE TEMP TABLE scratch_flag (external_id text, subject text, category text, "
            "rule text, detector_version text, score double precision, explanation text, "
            "factors jsonb, window_start date, window_end date)"
        )
        conn.execute(
            "CREATE TEMP TABLE scratch_evidence (flag_external_id text, source_system text, "
            "record_type text, record_id text, occurred_at timestamptz, summary text, "
            "payload jsonb)"
        )
        started = time.perf_counter()
        with conn.cursor() as cursor:
            with cursor.copy("COPY scratch_flag FROM STDIN") as copy:
                for item in items:
                    copy.write_row(
                        (
                            item["external_id"],
                            item["subject"],
                            item["category"],
                            item["rule"],
                            item["detector_version"],
                            item["score"],
                            item["explanation"],
                            json.dumps(item["factors"]),
                            item["window"]["start"],
                            item["window"]["end"],
                        )
                    )
            with cursor.copy("COPY scratch_evidence FROM STDIN") as copy:
                for item in items:
                    for evidence in item["evidence"]:
                        copy.write_row(
                            (
                                item["external_id"],
                                evidence["source_system"],
                                evidence["record_type"],
                                evidence["record_id"],
                                evidence["occurred_at"],
                                evidence["summary"],
                                json.dumps(evidence["payload"]),
                            )
                        )
        conn.commit()
        return len(items) / (time.perf_counter() - started)


def count(conn: psycopg.Connection[Any], table: str) -> int:
    row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608 - fixed names
    return int(row[0]) if row else 0


def wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/api/schema/", timeout=5)
            return
        except httpx.HTTPError:
            time.sleep(0.3)
    sys.exit("gunicorn did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flags", type=int, default=100_000)
    parser.add_argument("--subjects", type=int, default=46_000)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--clients", type=int, default=3)
    parser.add_argument("--port", type=int, default=8077)
    parser.add_argument("--database", default="scrutiny_bench")
    args = parser.parse_args()

    dsn = f"{PG}/{args.database}"
    env = {
        **os.environ,
        "DATABASE_URL": dsn,
        "SECRET_KEY": "benchmark-only-not-a-secret",
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "CONN_MAX_AGE": "600",
        # gunicorn serves plain HTTP on the loopback address here: nothing to redirect to.
        "SECURE_SSL_REDIRECT": "false",
        # WhiteNoise's warning that no static files were collected, once per worker: none are
        # served here.
        "PYTHONWARNINGS": "ignore:No directory at:UserWarning",
    }
    python = str(ROOT / ".venv" / "bin" / "python")
    print(f"Preparing PostgreSQL database {args.database} with {args.subjects:,} subjects ...")
    fresh_database(args.database)
    run([python, "manage.py", "migrate", "--no-input"], env)
    csv_path = ROOT / "var" / "bench-workforce.csv"
    csv_path.parent.mkdir(exist_ok=True)
    workforce_csv(args.subjects, csv_path)
    run([python, "manage.py", "import_workforce", str(csv_path)], env)
    token = run([python, "manage.py", "create_detector", "bench", "--name", "Benchmark"], env)
    token = token.strip()

    items = list(flag_items(args.flags, args.subjects, seed=1))
    bodies = batches(items)
    url = f"http://127.0.0.1:{args.port}"
    server = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{args.port}",
            "--workers",
            str(args.workers),
            "--timeout",
            "300",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        wait_for(url)
        print(
            f"Posting {len(items):,} flags in {len(bodies)} batches of 1,000 "
            f"({args.clients} clients, {args.workers} gunicorn workers) ..."
        )
        elapsed, totals = post_all(url, token, bodies, args.clients)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    api_rate = totals["created"] / elapsed
    rate_copy = copy_rate(dsn, items)
    with psycopg.connect(dsn) as conn:
        cases, events, history = (
            count(conn, table)
            for table in ("casework_case", "audit_auditevent", "flags_historicalflag")
        )
    started = time.perf_counter()
    verdict = run([python, "manage.py", "verify_audit"], env).strip()
    verify_seconds = time.perf_counter() - started

    print()
    print(
        f"flags created            {totals['created']:>10,}  (duplicate {totals['duplicate']}, "
        f"rejected {totals['rejected']})"
    )
    print(f"cases opened             {cases:>10,}")
    print(f"audit events             {events:>10,}")
    print(f"flag history rows        {history:>10,}")
    print(f"API wall time            {elapsed:>10.1f} s")
    print(f"API ingest rate          {api_rate:>10,.0f} flags/s   (target >= 3,000)")
    print(f"PostgreSQL COPY rate     {rate_copy:>10,.0f} flags/s   (same rows, scratch tables)")
    print(f"API / COPY               {api_rate / rate_copy:>10.3f}")
    # verify_audit reports the chain and the insert-only rows, a line each.
    print(f"verify_audit             {verify_seconds:>10.1f} s")
    for line in verdict.splitlines():
        print(f"  {line}")


if __name__ == "__main__":
    main()

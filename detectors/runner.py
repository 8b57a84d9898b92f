"""Running a reference detector: from the command line, or from ``manage.py seed_demo``.

    python -m detectors.overtime --data-dir var/demo-force --url http://127.0.0.1:8000 \\
        --token TOKEN        # or SCRUTINY_TOKEN in the environment
"""

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from detectors.client import (
    MAX_BATCH,
    IngestClient,
    IngestRefused,
    IngestSummary,
    IngestUnavailable,
)

DEFAULT_DATA_DIR = Path("var/demo-force")
DEFAULT_URL = "http://127.0.0.1:8000"
TOKEN_VARIABLE = "SCRUTINY_TOKEN"  # noqa: S105 - the variable's name, not a token


@dataclass(frozen=True)
class ReferenceDetector:
    """A detector as Scrutiny registers it, and the function that finds its flags."""

    slug: str
    name: str
    description: str
    version: str
    find_flags: Callable[[Path], list[dict[str, Any]]]


@dataclass(frozen=True)
class DetectorRun:
    detector: ReferenceDetector
    flags: int
    summary: IngestSummary
    seconds: float


def run_detector(
    detector: ReferenceDetector,
    data_dir: Path,
    http: httpx.Client,
    token: str,
    *,
    batch_size: int = MAX_BATCH,
) -> DetectorRun:
    """Find the detector's flags in the extracts and post them; the time covers both."""
    started = time.perf_counter()
    flags = detector.find_flags(data_dir)
    summary = IngestClient(http, token).post_flags(flags, batch_size=batch_size)
    return DetectorRun(detector, len(flags), summary, time.perf_counter() - started)


def describe_run(run: DetectorRun) -> str:
    s = run.summary
    return (
        f"{run.detector.slug}: {run.flags} flags posted in {s.batches} batch(es); "
        f"{s.created} created, {s.duplicate} duplicate, {s.rejected} rejected; "
        f"{len(s.cases)} case(s) opened or joined; {run.seconds:.1f} s"
    )


def _arguments(detector: ReferenceDetector, argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=f"python -m detectors.{detector.slug.replace('-', '_')}",
        description=f"{detector.name} (version {detector.version}): {detector.description}",
    )
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--url", default=DEFAULT_URL, help=f"Scrutiny's address ({DEFAULT_URL})")
    parser.add_argument(
        "--token",
        default=os.environ.get(TOKEN_VARIABLE),
        help=f"the detector's API token (default: ${TOKEN_VARIABLE})",
    )
    parser.add_argument("--batch-size", type=int, default=MAX_BATCH)
    parser.add_argument(
        "--dry-run", action="store_true", help="print the flags as JSON lines; post nothing"
    )
    args = parser.parse_args(argv)
    if not args.dry_run and not args.token:
        parser.error(f"give the detector's API token with --token or ${TOKEN_VARIABLE}")
    return args


def main_for(detector: ReferenceDetector, argv: Sequence[str] | None = None) -> int:
    args = _arguments(detector, argv)
    if args.dry_run:
        for flag in detector.find_flags(args.data_dir):
            print(json.dumps(flag, sort_keys=True))
        return 0
    try:
        with httpx.Client(base_url=args.url, timeout=300) as http:
            run = run_detector(
                detector, args.data_dir, http, args.token, batch_size=args.batch_size
            )
    except (IngestRefused, IngestUnavailable, FileNotFoundError) as exc:
        print(f"{detector.slug}: {exc}", file=sys.stderr)
        return 2
    print(describe_run(run))
    for rejection in run.summary.rejections:
        print(f"  rejected {rejection.external_id}: {rejection.errors}", file=sys.stderr)
    return 1 if run.summary.rejected else 0

"""``manage.py seed_demo``: a synthetic force, its detectors, an administrator, and flags.

Everything goes through the doors real data uses: the workforce through the HR-extract import,
detectors through ``register_detector``, and with ``--run-detectors`` the flags through the ingest
API, with Django's whole stack (middleware, token authentication, the view) running in-process
behind an ``httpx`` WSGI transport, so no server is needed. Running it again on the same database
reuses what is there: the workforce import finds nothing to change, detectors and their tokens are
kept, and re-posted flags come back as duplicates. A different seed or size is refused: it would
load another force's people and records under the same staff numbers and record ids.
"""

import json
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone

from accounts.services import create_or_reset_superuser
from audit.actors import Actor, UnknownActor, command_actor
from casework.models import Case
from demo.models import SeededForce
from demo.private_files import write_private
from detectors.client import IngestRefused, IngestUnavailable
from detectors.extracts import WORKFORCE_FILE, ExtractMissing, Manifest, read_manifest
from detectors.force_structure import MIN_SUBJECTS
from detectors.reference import REFERENCE_DETECTORS
from detectors.runner import DetectorRun, ReferenceDetector, run_detector
from detectors.synthetic_force import write_force
from flags.models import Detector, Flag, Subject
from flags.services import issue_detector_token, register_detector
from flags.workforce import (
    ImportSummary,
    WorkforceImportError,
    import_workforce,
    read_workforce_file,
)
from tokens.services import TokenRefused, find_token

ADMIN_USERNAME = "admin"
TOKENS_FILE = "tokens.json"
DETECTOR_OWNER = "Scrutiny reference detectors"


def force_in_database(data_dir: Path) -> tuple[int, int] | None:
    """The seed and size of the force this database holds, or None for an empty register."""
    held = SeededForce.objects.first()
    if held is not None:
        return held.seed, held.subjects
    if not Subject.objects.exists():
        return None
    # A register loaded before the force was recorded here: its extracts say which one it was.
    try:
        manifest = read_manifest(data_dir)
    except ExtractMissing:
        return None
    return manifest.seed, manifest.subjects


def check_same_force(data_dir: Path, *, seed: int, subjects: int) -> None:
    """Refuse a second force over the first: the same ids would name other people and records."""
    held = force_in_database(data_dir)
    if held is None or held == (seed, subjects):
        return
    held_seed, held_subjects = held
    raise CommandError(
        f"This database holds the synthetic force of {held_subjects:,} people made with seed "
        f"{held_seed}. Seed {seed} with {subjects:,} people is another force, whose people and "
        "records would arrive under the same staff numbers and record ids and be mixed with "
        f"these. Run seed_demo again with --seed {held_seed} --subjects {held_subjects}, or "
        "start from an empty database (delete scrutiny.sqlite3, or point DATABASE_URL at a "
        "new database) to build another force."
    )


def remember_force(*, seed: int, subjects: int) -> None:
    SeededForce.objects.get_or_create(
        defaults={"seed": seed, "subjects": subjects, "seeded_at": timezone.now()}
    )


def import_demo_workforce(data_dir: Path, *, actor: Actor) -> ImportSummary:
    """Load workforce.csv exactly as ``manage.py import_workforce`` would."""
    path = data_dir / WORKFORCE_FILE
    rows, sha256 = read_workforce_file(path)
    return import_workforce(
        rows, actor=actor, source=f"seed_demo {path.name}", source_sha256=sha256
    )


def _token_is_live(detector: Detector, token: str | None) -> bool:
    if not token:
        return False
    try:
        return find_token(token).user_id == detector.user_id
    except TokenRefused:
        return False


def _read_tokens(path: Path) -> dict[str, str]:
    try:
        held = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except ValueError as exc:
        raise CommandError(f"{path} is not the JSON this command writes: {exc}") from exc
    return {str(slug): str(token) for slug, token in held.items()}


def ensure_detectors(tokens_path: Path, *, actor: Actor) -> tuple[dict[str, str], list[str]]:
    """Register the reference detectors that are missing, and make sure a working token for
    each is in ``tokens_path``; return the tokens and what was done."""
    tokens = _read_tokens(tokens_path)
    notes = []
    for reference in REFERENCE_DETECTORS:
        detector = Detector.objects.filter(slug=reference.slug).first()
        if detector is None:
            _, issued = register_detector(
                reference.slug,
                name=reference.name,
                owner=DETECTOR_OWNER,
                description=reference.description,
                version=reference.version,
                actor=actor,
            )
            tokens[reference.slug] = issued.token
            notes.append(f"{reference.slug} registered")
        elif _token_is_live(detector, tokens.get(reference.slug)):
            notes.append(f"{reference.slug} already registered")
        else:
            # The token file went missing, or belongs to another database: issue a fresh one.
            tokens[reference.slug] = issue_detector_token(detector, actor=actor).token
            notes.append(f"{reference.slug} already registered; new token issued")
    write_private(tokens_path, json.dumps(tokens, indent=2, sort_keys=True) + "\n")
    return tokens, notes


def ensure_admin(credentials_path: Path, *, actor: Actor) -> tuple[str, str | None]:
    """Make sure the superuser ``admin`` exists and its password is in ``credentials_path``.

    Returns what was done, and the password when one was set.
    """
    users = get_user_model().objects
    user = users.filter(username=ADMIN_USERNAME).first()
    if user is not None and credentials_path.exists():
        return "kept", None
    password = secrets.token_urlsafe(18)
    if create_or_reset_superuser(ADMIN_USERNAME, password, actor=actor):
        done = "created"
    else:
        done = "password reset (the credentials file was missing)"
    write_private(
        credentials_path,
        "# Scrutiny demo sign-in, written by manage.py seed_demo\n"
        f"username={ADMIN_USERNAME}\npassword={password}\n",
    )
    return done, password


def api_host() -> str:
    """A host name ALLOWED_HOSTS accepts: in-process requests still pass Django's host check."""
    for host in settings.ALLOWED_HOSTS:
        if host == "*":
            return "127.0.0.1"
        if host.lstrip("."):
            return host.lstrip(".")
    raise CommandError(
        "--run-detectors posts through Django's full stack, and ALLOWED_HOSTS is empty, so every "
        "request would be refused. Set DEBUG=true (which allows 127.0.0.1) or "
        "ALLOWED_HOSTS=127.0.0.1."
    )


@contextmanager
def in_process_api() -> Iterator[httpx.Client]:
    """An HTTP client whose requests run through Django in this process.

    Django closes the database connection when each request finishes. Here that connection is
    this command's own (and, under a test, the test's open transaction), so it is kept open for
    the duration, as Django's test client does.
    """
    # As HTTPS, as a deployment's detectors send them: with DEBUG off plain HTTP is redirected.
    base_url = f"https://{api_host()}"
    started = request_started.disconnect(close_old_connections)
    finished = request_finished.disconnect(close_old_connections)
    try:
        transport = httpx.WSGITransport(app=get_wsgi_application())
        with httpx.Client(transport=transport, base_url=base_url) as client:
            yield client
    finally:
        if started:
            request_started.connect(close_old_connections)
        if finished:
            request_finished.connect(close_old_connections)


def count_cases() -> int:
    return Case.objects.count()


class Command(BaseCommand):
    help = (
        "Build a synthetic force, load it through the workforce import, register the reference "
        "detectors and a demo administrator, and optionally run the detectors through the API."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--subjects", type=int, default=6000, help="force size (6000)")
        parser.add_argument("--seed", type=int, default=1, help="random seed (1)")
        parser.add_argument(
            "--data-dir",
            type=Path,
            default=Path(settings.BASE_DIR) / "var" / "demo-force",
            help="where the source extracts and detector tokens are written (var/demo-force)",
        )
        parser.add_argument(
            "--as-of",
            type=date.fromisoformat,
            default=None,
            help="the extracts' date, YYYY-MM-DD (today)",
        )
        parser.add_argument(
            "--run-detectors",
            action="store_true",
            help="run the reference detectors against the ingest API, in-process",
        )
        parser.add_argument(
            "--credentials-file",
            type=Path,
            default=Path(settings.BASE_DIR) / ".demo-credentials",
            help="where the admin password is written (.demo-credentials)",
        )
        parser.add_argument("--actor", help="username of the administrator doing the set-up")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        if not settings.DEBUG:
            # It creates a superuser and resets its password: never on a production database.
            raise CommandError("seed_demo builds a demonstration and runs only with DEBUG=true.")
        if options["subjects"] < MIN_SUBJECTS:
            raise CommandError(f"--subjects must be at least {MIN_SUBJECTS}")
        try:
            actor = command_actor(options["actor"])
        except UnknownActor as exc:
            raise CommandError(str(exc)) from exc
        data_dir: Path = options["data_dir"]
        as_of: date = options["as_of"] or timezone.localdate()
        seed, subjects = options["seed"], options["subjects"]
        check_same_force(data_dir, seed=seed, subjects=subjects)
        self._generate(data_dir, subjects=subjects, seed=seed, as_of=as_of)
        self._import(data_dir, actor=actor)
        remember_force(seed=seed, subjects=subjects)
        tokens = self._register(data_dir, actor=actor)
        self._admin(options["credentials_file"], actor=actor)
        if options["run_detectors"]:
            self._run_detectors(data_dir, tokens)
        self.stdout.write(
            f"\nThe database holds {Flag.objects.count():,} flags and {count_cases():,} cases. "
            f"seed_demo took {time.perf_counter() - started:.1f} s."
        )

    def _generate(self, data_dir: Path, *, subjects: int, seed: int, as_of: date) -> Manifest:
        started = time.perf_counter()
        manifest = write_force(data_dir, subjects=subjects, seed=seed, as_of=as_of)
        counts = ", ".join(
            f"{name.removesuffix('.csv')} {facts['rows']:,}"
            for name, facts in sorted(manifest.files.items())
        )
        self.stdout.write(
            f"Synthetic force of {subjects:,} (seed {seed}, extracts to {as_of.isoformat()}) "
            f"written to {data_dir} in {time.perf_counter() - started:.1f} s\n  {counts}"
        )
        return manifest

    def _import(self, data_dir: Path, *, actor: Actor) -> None:
        started = time.perf_counter()
        try:
            summary = import_demo_workforce(data_dir, actor=actor)
        except WorkforceImportError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Workforce import: {summary.rows:,} rows; {summary.created:,} created, "
            f"{summary.updated:,} updated, {summary.unchanged:,} unchanged "
            f"({time.perf_counter() - started:.1f} s)"
        )

    def _register(self, data_dir: Path, *, actor: Actor) -> dict[str, str]:
        tokens_path = data_dir / TOKENS_FILE
        tokens, notes = ensure_detectors(tokens_path, actor=actor)
        self.stdout.write(f"Detectors: {'; '.join(notes)}. Tokens in {tokens_path} (mode 0600).")
        return tokens

    def _admin(self, credentials_path: Path, *, actor: Actor) -> None:
        done, password = ensure_admin(credentials_path, actor=actor)
        if password is None:
            self.stdout.write(
                f"Administrator '{ADMIN_USERNAME}' kept; its password is in {credentials_path}."
            )
        else:
            self.stdout.write(
                f"Administrator '{ADMIN_USERNAME}' {done}. Password: {password} "
                f"(also in {credentials_path}, mode 0600)"
            )

    def _run_detectors(self, data_dir: Path, tokens: dict[str, str]) -> None:
        self.stdout.write("\nRunning the reference detectors through the ingest API (in-process):")
        self.stdout.write(
            f"  {'detector':<15}{'flags':>7}{'created':>9}{'duplicate':>11}{'rejected':>10}"
            f"{'cases opened':>14}{'time':>9}"
        )
        with in_process_api() as http:
            for reference in REFERENCE_DETECTORS:
                before = count_cases()
                run = self._run_one(reference, data_dir, http, tokens[reference.slug])
                self._report(run, opened=count_cases() - before)

    def _run_one(
        self, reference: ReferenceDetector, data_dir: Path, http: httpx.Client, token: str
    ) -> DetectorRun:
        try:
            return run_detector(reference, data_dir, http, token)
        except (IngestRefused, IngestUnavailable) as exc:
            raise CommandError(f"detector {reference.slug}: {exc}") from exc

    def _report(self, run: DetectorRun, *, opened: int) -> None:
        s = run.summary
        self.stdout.write(
            f"  {run.detector.slug:<15}{run.flags:>7,}{s.created:>9,}{s.duplicate:>11,}"
            f"{s.rejected:>10,}{opened:>14,}{run.seconds:>8.1f}s"
        )
        for rejection in s.rejections[:5]:
            self.stderr.write(f"    rejected {rejection.external_id}: {rejection.errors}")

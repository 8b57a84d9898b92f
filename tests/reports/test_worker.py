"""Reports rendered by a real Celery worker on Redis, as a deployment with a broker runs them.

Each test starts ``celery -A config worker`` (prefork, one pool process) in a process group of
its own, on the test database and a Redis database this file alone uses, and asks for reports
through the services in transactions that really commit. Workers are killed with SIGKILL while a
report renders: the pool process alone (its parent puts the message back: reject on worker lost),
or the whole worker (Redis hands the unacknowledged message to the next worker once the
visibility timeout has passed). Either way the report is finished once: one file, one completion
event, and an audit chain that verifies. A task delivered again for a finished report does
nothing, and a render past its soft time limit is stopped and recorded as failed.

PostgreSQL only: the worker is another process, and sees only what the test commits. Redis is
TEST_CELERY_BROKER_URL (redis://127.0.0.1:6379/11 by default), emptied before and after each
test; ``.ci/run`` starts Redis. Waiting on the other process polls the database or the worker's
log, with a deadline.
"""

import ctypes
import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import pytest
import redis
from django.conf import settings as django_settings
from django.db import connection
from django.test import override_settings

from audit.models import AuditEvent
from config.celery import app
from reports import services
from reports.models import Report, ReportStatus
from reports.storage import report_storage
from tests.appeals.conftest import World, overtime_flags, verify_audit
from tests.factories import EvidenceItemFactory

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

BROKER_URL = os.environ.get("TEST_CELERY_BROKER_URL", "redis://127.0.0.1:6379/11")
# Generous: the machine may be running other tests beside these.
WAIT_SECONDS = 120
POLL_SECONDS = 0.05
# A short visibility timeout, for the test that kills a whole worker: the next worker takes the
# abandoned message over this many seconds after it was delivered.
SHORT_VISIBILITY_SECONDS = 4
# Evidence records enough that a disclosure pack takes seconds to lay out (about five here, with
# 400), so that a test can catch it rendering; the ingest API takes at most 50 a flag.
SLOW_PACK_FLAGS = 8
RECORDS_PER_FLAG = 50
TASK = "reports.tasks.render_report"

T = TypeVar("T")


# --- Redis, and this process sending to it --------------------------------------------------------


@pytest.fixture
def broker() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(BROKER_URL)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        message = (
            f"Redis does not answer at {BROKER_URL} ({exc}): start it with "
            "`redis-server --daemonize yes --bind 127.0.0.1 --port 6379`, as .ci/run does"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    client.flushdb()
    try:
        yield client
    finally:
        client.flushdb()
        client.close()


def forget_broker_connections() -> None:
    """The app holds on to the connection pools of the broker it first used (the in-memory one
    of the embedded default, in other tests): let go of them, so that the next task takes the
    pools of the broker configured now. kombu keeps each pool, keyed by its broker, for when that
    broker is configured again."""
    app._pool = None
    app.amqp._producer_pool = None


@contextmanager
def sending_to_workers() -> Iterator[None]:
    """Tasks queued in the block go to Redis, as a web process with a broker sends them, instead
    of running in this process (the tests' default, with no broker)."""
    with override_settings(CELERY_TASK_ALWAYS_EAGER=False, CELERY_BROKER_URL=BROKER_URL):
        forget_broker_connections()
        try:
            yield
        finally:
            forget_broker_connections()


# --- workers --------------------------------------------------------------------------------------


def database_url() -> str:
    """The test database, for the worker: pytest-django's, not the one DATABASE_URL names."""
    db = connection.settings_dict
    user = quote(db["USER"] or "", safe="")
    password = f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
    host = quote(db["HOST"] or "", safe="")
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{user}{password}@{host}{port}/{quote(db['NAME'], safe='')}"


def children_of(pid: int) -> list[int]:
    """The processes whose parent is ``pid``, read from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # it ended meanwhile
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after it.
        if int(stat.rpartition(")")[2].split()[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


PR_SET_PDEATHSIG = 1


def killed_with_the_tests() -> None:
    """Run in the worker's process before celery starts: Linux sends it SIGKILL when the test
    process ends, even where that ends without its teardown (a timeout's kill)."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class Worker:
    """One ``celery worker`` process group, its output in a log file."""

    def __init__(self, name: str, env: dict[str, str], log: Path) -> None:
        self.name = name
        self.log = log
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=prefork",
            "--concurrency=1",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "--loglevel=info",
            f"--hostname={name}@%h",
        ]
        with log.open("wb") as output:
            self.process = subprocess.Popen(  # noqa: S603 - this interpreter, our own app
                command,
                cwd=django_settings.BASE_DIR,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=killed_with_the_tests,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def pool_process(self) -> int:
        """The pool process (concurrency 1: the only one) running the worker's task."""
        children = children_of(self.process.pid)
        assert len(children) == 1, (children, self.output())
        return children[0]

    def kill(self) -> None:
        """SIGKILL to the whole process group: the worker and its pool process at once."""
        if self.process.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(WAIT_SECONDS)
        # And whatever is left of the group: a pool process whose parent had already ended.
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            pytest.fail(
                f"Worker {self.name} exited with {self.process.returncode}:\n{self.output()}"
            )


class Workers:
    """Starts workers on the test database and Redis; every one is killed at teardown."""

    def __init__(self, log_dir: Path, private_root: Path) -> None:
        self.log_dir = log_dir
        self.started: list[Worker] = []
        self.env = {
            name: value
            for name, value in os.environ.items()
            # The settings refuse a variable and its _FILE form both set; the owner's URL is not
            # the worker's.
            if not name.endswith("_FILE") and name != "MIGRATE_DATABASE_URL"
        }
        self.env.update(
            DATABASE_URL=database_url(),
            CELERY_BROKER_URL=BROKER_URL,
            PRIVATE_FILES_ROOT=str(private_root),
            SECRET_KEY=str(django_settings.SECRET_KEY),
            DEBUG="false",
            DOTENV_PATH="",
            DJANGO_SETTINGS_MODULE="config.settings",
        )
        self.env.pop("FILES_S3_BUCKET", None)

    def start(self, **env: str) -> Worker:
        name = f"scrutiny-test-{len(self.started) + 1}"
        worker = Worker(name, {**self.env, **env}, self.log_dir / f"{name}.log")
        self.started.append(worker)
        return worker

    def kill_all(self) -> None:
        for worker in self.started:
            worker.kill()


@pytest.fixture
def workers(broker: redis.Redis, private_root: Path, tmp_path: Path) -> Iterator[Workers]:
    started = Workers(tmp_path, private_root)
    try:
        yield started
    finally:
        started.kill_all()


def wait_for(what: str, check: Callable[[], T | None], worker: Worker) -> T:
    """Poll ``check`` until it gives something, while the worker works."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        worker.check_alive()
        time.sleep(POLL_SECONDS)
    pytest.fail(
        f"Waited {WAIT_SECONDS} s for {what}. Worker {worker.name}'s log:\n{worker.output()}"
    )


# --- reports --------------------------------------------------------------------------------------


def ask_for_disclosure(world: World) -> Report:
    """Fay asks for her disclosure pack: committed, its rendering sent to the workers."""
    with sending_to_workers():
        report = services.request_report(
            "disclosure", {"subject": world.subject.pk}, user=world.fay
        )
    return report


def report_row(report: Report) -> Report:
    return Report.objects.get(pk=report.pk)


def finished(report: Report) -> Report | None:
    row = report_row(report)
    assert row.status in (ReportStatus.QUEUED, ReportStatus.RENDERING, ReportStatus.DONE), (
        row.status,
        row.error,
    )
    return row if row.status == ReportStatus.DONE else None


def laying_out(report: Report) -> Report | None:
    """The report's row once WeasyPrint is at work on it, in its first attempt."""
    row = report_row(report)
    assert row.status != ReportStatus.DONE and row.progress < 90, (
        "The report was storing its file or done before it could be caught laying out its pages: "
        "give it more evidence records."
    )
    if row.status == ReportStatus.RENDERING and row.progress >= 40:
        assert row.attempts == 1
        return row
    return None


def files_in_folder(report: Report, private_root: Path) -> list[str]:
    folder = private_root / "reports" / str(report.pk)
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


def assert_finished_once(report: Report, private_root: Path) -> None:
    """One file, named by its SHA-256, holding what the row says (with the HTML it was rendered
    from beside it); one completion event; the chain intact."""
    assert report.status == ReportStatus.DONE
    assert files_in_folder(report, private_root) == [
        f"{report.sha256}.html",
        f"{report.sha256}.pdf",
    ]
    with report_storage().open(report.stored_name, "rb") as file:
        content = file.read()
    assert content.startswith(b"%PDF-")
    assert (hashlib.sha256(content).hexdigest(), len(content)) == (report.sha256, report.size)
    completed = AuditEvent.objects.filter(action="report.completed", target_id=str(report.pk))
    assert completed.count() == 1
    assert completed.get().data["sha256"] == report.sha256
    assert "Audit chain intact" in verify_audit()


@pytest.fixture
def slow_pack(world: World, detector_client: Any) -> World:
    """Fay with several hundred evidence records: her pack takes seconds to render."""
    overtime_flags(
        detector_client,
        world.subject,
        [
            [EvidenceItemFactory.create() for _ in range(RECORDS_PER_FLAG)]
            for _ in range(SLOW_PACK_FLAGS)
        ],
    )
    return world


# --- the tests ------------------------------------------------------------------------------------


def test_a_report_asked_for_is_rendered_by_the_worker(
    world: World, workers: Workers, private_root: Path
) -> None:
    worker = workers.start()

    report = ask_for_disclosure(world)
    done = wait_for("the report to be rendered", lambda: finished(report), worker)

    assert_finished_once(done, private_root)
    assert done.attempts == 1
    # Rendered by the worker, not in this process.
    assert f"{TASK}[" in worker.output()
    assert "succeeded" in worker.output()


def test_a_pool_process_killed_mid_render_is_replaced_and_the_report_finished_once(
    slow_pack: World, workers: Workers, private_root: Path
) -> None:
    # The default visibility timeout (an hour): the message can only come back through the
    # worker, which puts it back when its pool process dies.
    worker = workers.start()
    report = ask_for_disclosure(slow_pack)
    wait_for("the report to be laid out", lambda: laying_out(report), worker)
    pool_process = worker.pool_process()

    os.kill(pool_process, signal.SIGKILL)
    done = wait_for("the report to be rendered again", lambda: finished(report), worker)

    assert done.attempts == 2
    assert_finished_once(done, private_root)
    assert pool_process not in children_of(worker.process.pid)
    assert "WorkerLostError" in worker.output()


def test_a_worker_killed_outright_mid_render_leaves_the_report_to_the_next_worker(
    slow_pack: World, workers: Workers, private_root: Path
) -> None:
    short = {"CELERY_VISIBILITY_TIMEOUT": str(SHORT_VISIBILITY_SECONDS)}
    first = workers.start(**short)
    report = ask_for_disclosure(slow_pack)
    wait_for("the report to be laid out", lambda: laying_out(report), first)

    first.kill()
    left = report_row(report)
    assert (left.status, left.attempts) == (ReportStatus.RENDERING, 1)
    assert files_in_folder(report, private_root) == []
    second = workers.start(**short)
    done = wait_for("the next worker to render the report", lambda: finished(report), second)

    # At least twice: a message still unacknowledged past the visibility timeout may be handed
    # over once more while the second worker renders it, and then finds the report finished.
    assert done.attempts >= 2
    assert_finished_once(done, private_root)


def test_a_task_delivered_again_for_a_finished_report_changes_nothing(
    world: World, workers: Workers, private_root: Path
) -> None:
    worker = workers.start()
    report = ask_for_disclosure(world)
    done = wait_for("the report to be rendered", lambda: finished(report), worker)
    events = AuditEvent.objects.count()

    with sending_to_workers():
        again = app.send_task(TASK, args=[report.pk])
    line = wait_for(
        "the second delivery to be run",
        lambda: next(
            (
                line
                for line in worker.output().splitlines()
                if f"{TASK}[{again.id}] succeeded" in line
            ),
            None,
        ),
        worker,
    )

    assert "'finished already'" in line
    assert AuditEvent.objects.count() == events
    after = report_row(report)
    assert (after.status, after.attempts, after.sha256) == (ReportStatus.DONE, 1, done.sha256)
    assert_finished_once(after, private_root)


def test_a_render_past_its_time_limit_is_stopped_and_recorded_as_failed(
    slow_pack: World, broker: redis.Redis, workers: Workers, private_root: Path
) -> None:
    report = ask_for_disclosure(slow_pack)
    # The time limits travel in the message, from the process that queues the task: here, as
    # from a web process whose REPORT_RENDER_SOFT_TIME_LIMIT is a second, for a pack that takes
    # several.
    broker.flushdb()
    with sending_to_workers():
        app.send_task(TASK, args=[report.pk], soft_time_limit=1, time_limit=60)
    worker = workers.start(REPORT_MAX_ATTEMPTS="1")

    failed = wait_for(
        "the render to be stopped",
        lambda: row if (row := report_row(report)).status == ReportStatus.FAILED else None,
        worker,
    )

    assert failed.attempts == 1
    assert "SoftTimeLimitExceeded" in failed.error
    assert files_in_folder(report, private_root) == []
    event = AuditEvent.objects.get(action="report.failed", target_id=str(report.pk))
    assert event.data["attempts"] == 1
    assert not AuditEvent.objects.filter(action="report.completed").exists()
    assert "Audit chain intact" in verify_audit()

"""Real concurrency on PostgreSQL: threads with their own connections, released together.

Tests park their writers on a row lock held by a third connection before letting them go at
once, so the interleaving that matters happens every run rather than by luck.
"""

import threading
import time
from collections.abc import Callable
from typing import Any

from django.db import connection, connections, transaction
from django.db.models import Model

WAIT_SECONDS = 20


def in_thread(target: Callable[[], Any], results: dict[str, Any], key: str) -> threading.Thread:
    def run() -> None:
        try:
            results[key] = target()
        except BaseException as exc:  # the test inspects whatever happened
            results[key] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, name=key, daemon=True)
    thread.start()
    return thread


class RowLock:
    """Holds a row's lock (a subject's, a case's) from another connection until released."""

    def __init__(self, row: Model) -> None:
        self.model = type(row)
        self.pk = row.pk
        self.locked = threading.Event()
        self.release = threading.Event()
        self.results: dict[str, Any] = {}

    def __enter__(self) -> "RowLock":
        self.thread = in_thread(self._hold, self.results, "holder")
        assert self.locked.wait(WAIT_SECONDS), self.results
        return self

    def _hold(self) -> None:
        with transaction.atomic():
            list(self.model._default_manager.select_for_update().filter(pk=self.pk))
            self.locked.set()
            self.release.wait(WAIT_SECONDS)

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.thread.join(WAIT_SECONDS)


def wait_for_lock_waiters(count: int) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    waiting = 0
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            waiting = cursor.fetchone()[0]
        if waiting >= count:
            return
        time.sleep(0.02)
    raise AssertionError(f"expected {count} sessions waiting on a lock, saw {waiting}")


class ChainLock(RowLock):
    """Holds the audit chain's lock from another connection until released: a transaction that
    would append to the chain waits there, everything before it done and not yet committed."""

    def __init__(self) -> None:
        self.locked = threading.Event()
        self.release = threading.Event()
        self.results = {}

    def _hold(self) -> None:
        from audit.log import CHAIN_LOCK_KEY

        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])
            self.locked.set()
            self.release.wait(WAIT_SECONDS)

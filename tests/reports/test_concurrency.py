"""request_report under real concurrency: one person asking for reports at the same moment is
held to their limit of reports waiting to be rendered."""

from functools import partial
from typing import Any

import pytest

from audit.log import verify_stored_chain
from reports import services
from reports.errors import ReportError
from reports.models import Report, ReportStatus
from tests.appeals.conftest import World
from tests.concurrency import WAIT_SECONDS, ChainLock, in_thread, wait_for_lock_waiters

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def test_two_requests_at_once_are_held_to_the_limit_of_reports_waiting(
    world: World, settings: Any
) -> None:
    """Both requests are let go while the audit chain is locked: each would have counted the
    person's waiting reports and written its own before waiting there, had the count not been
    taken one request at a time."""
    settings.CELERY_TASK_ALWAYS_EAGER = False  # a worker renders them, later
    settings.REPORT_MAX_UNFINISHED_PER_PERSON = 1
    ask = partial(services.request_report, "disclosure", {"subject": world.subject.pk})
    results: dict[str, Any] = {}

    with ChainLock():
        threads = [in_thread(partial(ask, user=world.fay), results, name) for name in "ab"]
        wait_for_lock_waiters(len(threads))
    for thread in threads:
        thread.join(WAIT_SECONDS)

    made = [result for result in results.values() if isinstance(result, Report)]
    refused = [result for result in results.values() if isinstance(result, ReportError)]
    assert (len(made), len(refused)) == (1, 1), results
    assert "1 reports waiting to be rendered" in str(refused[0])
    assert Report.objects.filter(status=ReportStatus.QUEUED).count() == 1
    assert verify_stored_chain().intact

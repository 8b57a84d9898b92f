"""Ingest under real concurrency: threads with their own PostgreSQL connections.

Each test parks its writers on the subject's row lock (held by a third connection) before letting
them go together, so the interleaving that matters happens every run rather than by luck.
"""

import threading
from functools import partial
from typing import Any

import pytest
from django.utils import timezone

from audit.actors import Actor
from audit.log import verify_stored_chain
from audit.models import AuditEvent
from casework.models import LIVE_STATUSES, Case, CaseFlag
from flags.models import Flag, Subject
from flags.services import register_detector
from tests.concurrency import WAIT_SECONDS, RowLock, in_thread, wait_for_lock_waiters
from tests.factories import StrongFlagItemFactory, SubjectFactory
from tests.ingest_client import client_for, post_flags

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def _post(token: str, items: list[Any]) -> Any:
    return post_flags(client_for(token), items)


def post_together(subject: Subject, batches: dict[str, tuple[str, list[Any]]]) -> dict[str, Any]:
    """Post each ``{name: (token, items)}`` from its own thread, released at the same moment."""
    results: dict[str, Any] = {}
    with RowLock(subject):
        threads = [
            in_thread(partial(_post, token, items), results, name)
            for name, (token, items) in batches.items()
        ]
        wait_for_lock_waiters(len(threads))
    for thread in threads:
        thread.join(WAIT_SECONDS)
        assert not thread.is_alive(), f"{thread.name} is still running"
    return results


def assert_chain_has_no_fork() -> None:
    seqs = list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    assert len(set(AuditEvent.objects.values_list("prev_hash", flat=True))) == len(seqs)
    check = verify_stored_chain()
    assert check.intact, check
    assert check.count == len(seqs)


def strong_item(subject: Subject, external_id: str) -> dict[str, Any]:
    return StrongFlagItemFactory.build(
        subject=subject.staff_number, external_id=external_id, today=timezone.localdate()
    )


def test_two_detectors_flagging_one_subject_at_once_open_exactly_one_case(
    admin_actor: Actor,
) -> None:
    subject = SubjectFactory.create()
    token_one = register_detector("overtime", name="Overtime", actor=admin_actor)[1].token
    token_two = register_detector("access", name="Access", actor=admin_actor)[1].token

    results = post_together(
        subject,
        {
            "one": (token_one, [strong_item(subject, "one-1")]),
            "two": (token_two, [strong_item(subject, "two-1")]),
        },
    )

    bodies = [results[name] for name in ("one", "two")]
    assert [getattr(body, "status_code", body) for body in bodies] == [200, 200]
    items = [body.json()["items"][0] for body in bodies]
    assert [item["status"] for item in items] == ["created", "created"]
    case = Case.objects.get(subject=subject)
    assert case.status in LIVE_STATUSES
    assert {item["case"] for item in items} == {case.pk}
    assert set(CaseFlag.objects.filter(case=case).values_list("flag_id", flat=True)) == {
        item["flag"] for item in items
    }
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert actions.count("case.opened") == 1
    assert actions.count("case.flags_attached") == 1
    assert actions.count("flag.received") == 2
    assert_chain_has_no_fork()


def test_two_concurrent_replays_of_one_flag_store_it_once(
    detector_with_token: tuple[Any, str],
) -> None:
    subject = SubjectFactory.create()
    token = detector_with_token[1]
    item = strong_item(subject, "same-1")

    results = post_together(subject, {"first": (token, [item]), "second": (token, [item])})

    responses = [results["first"], results["second"]]
    assert [getattr(r, "status_code", repr(r)) for r in responses] == [200, 200]
    statuses = sorted(r.json()["items"][0]["status"] for r in responses)
    assert statuses == ["created", "duplicate"]
    assert len({r.json()["items"][0]["flag"] for r in responses}) == 1
    assert Flag.objects.count() == 1
    assert_chain_has_no_fork()


def test_concurrent_writers_for_different_subjects_extend_one_unforked_chain(
    admin_actor: Actor,
) -> None:
    writers = 4
    subjects = SubjectFactory.create_batch(writers)
    tokens = [
        register_detector(f"detector-{n}", name=f"Detector {n}", actor=admin_actor)[1].token
        for n in range(writers)
    ]
    start = threading.Barrier(writers)
    results: dict[str, Any] = {}

    def write(n: int) -> list[int]:
        client = client_for(tokens[n])
        start.wait(WAIT_SECONDS)
        return [
            post_flags(client, [strong_item(subjects[n], f"w{n}-{batch}")]).status_code
            for batch in range(3)
        ]

    items = {f"writer-{n}": n for n in range(writers)}
    threads = [in_thread(partial(write, n), results, name) for name, n in items.items()]
    for thread in threads:
        thread.join(WAIT_SECONDS * 2)
        assert not thread.is_alive()

    assert results == {name: [200, 200, 200] for name in items}
    assert Flag.objects.count() == writers * 3
    assert Case.objects.count() == writers
    assert_chain_has_no_fork()

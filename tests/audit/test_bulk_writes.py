"""``audit.bulk_writes.update_with_history``: many rows changed and their history written, in
the same statements for one row as for many."""

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.actors import system_actor
from audit.bulk_writes import insert_objects, update_with_history
from flags.models import EvidenceRecord, Flag, FlagStatus
from tests.factories import NOW, EvidenceRecordFactory, FlagFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def system_user() -> User:
    return system_actor().user


def latest_history(flags: list[Flag]) -> dict[int, Any]:
    rows = Flag.history.filter(id__in=[flag.pk for flag in flags]).order_by("history_id")
    return {row.id: row for row in rows}


def test_a_value_all_share_is_set_once_and_each_row_gets_its_history(system_user: User) -> None:
    flags = FlagFactory.create_batch(3)
    for flag in flags:
        flag.status = FlagStatus.WITHDRAWN

    with CaptureQueriesContext(connection) as captured:
        update_with_history(
            Flag, flags, ["status"], user=system_user, reason="withdrawn: a test", when=NOW
        )

    [update] = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("UPDATE")]
    assert "CASE" not in update
    assert set(Flag.objects.values_list("status", flat=True)) == {FlagStatus.WITHDRAWN}
    for flag, row in zip(flags, latest_history(flags).values(), strict=True):
        assert (row.id, row.status, row.history_type) == (flag.pk, FlagStatus.WITHDRAWN, "~")
        assert (row.history_user, row.history_change_reason) == (system_user, "withdrawn: a test")
        assert row.history_date == NOW
        assert (row.score, row.external_id) == (flag.score, flag.external_id)


def test_values_that_differ_are_written_row_by_row_with_each_rows_reason(
    system_user: User,
) -> None:
    flags = FlagFactory.create_batch(3)
    statuses = [FlagStatus.WITHDRAWN, FlagStatus.EXPIRED, FlagStatus.WITHDRAWN]
    for flag, status in zip(flags, statuses, strict=True):
        flag.status = status

    update_with_history(
        Flag,
        flags,
        ["status"],
        user=system_user,
        reason=lambda flag: f"{flag.status} (flag {flag.pk})",
        when=NOW,
    )

    assert [Flag.objects.get(pk=flag.pk).status for flag in flags] == statuses
    history = latest_history(flags)
    assert [history[flag.pk].history_change_reason for flag in flags] == [
        f"{status} (flag {flag.pk})" for flag, status in zip(flags, statuses, strict=True)
    ]


def test_one_update_for_one_row_or_many(system_user: User) -> None:
    def queries(count: int) -> list[str]:
        flags = FlagFactory.create_batch(count)
        for n, flag in enumerate(flags):
            flag.status = FlagStatus.WITHDRAWN if n % 2 else FlagStatus.EXPIRED
        with CaptureQueriesContext(connection) as captured:
            update_with_history(Flag, flags, ["status"], user=system_user, reason="x", when=NOW)
        assert Flag.history.filter(
            id__in=[flag.pk for flag in flags], history_type="~"
        ).count() == (count)
        return [query["sql"] for query in captured.captured_queries]

    few, many = queries(2), queries(200)
    for sent in (few, many):
        assert len([sql for sql in sent if sql.startswith("UPDATE")]) == 1
    if connection.vendor == "postgresql":
        # The history rows go by COPY, whatever their number; SQLite takes them in batches.
        assert len(few) == len(many)


def test_nothing_to_write_sends_nothing(system_user: User) -> None:
    with CaptureQueriesContext(connection) as captured:
        update_with_history(Flag, [], ["status"], user=system_user, reason="x", when=NOW)
    assert len(captured) == 0


def test_inserted_objects_take_their_keys_and_hold_what_was_stored() -> None:
    records = EvidenceRecordFactory.build_batch(3, payload={"hours": 4.5, "rest_day": True})

    inserted = insert_objects(records)

    assert inserted == records
    assert all(record.pk is not None and not record._state.adding for record in records)
    for record in records:
        stored = EvidenceRecord.objects.get(pk=record.pk)
        assert (stored.record_id, stored.payload, stored.occurred_at) == (
            record.record_id,
            {"hours": 4.5, "rest_day": True},
            record.occurred_at,
        )


def test_no_objects_to_insert_sends_nothing() -> None:
    with CaptureQueriesContext(connection) as captured:
        assert insert_objects([]) == []
    assert len(captured) == 0

"""manage.py verify_audit: exit 0 with the head on an intact chain; 1 naming the first bad event.
The check of insert-only rows against their events is in test_insert_only.py."""

import io
from typing import Any

import pytest
from django.core.management import ManagementUtility, call_command
from django.core.management.base import CommandError
from django.db import connection, transaction

from audit import log
from audit.actors import Actor
from audit.chain import GENESIS_HASH, event_hash
from audit.models import AuditEvent
from audit.triggers import unprotect_table
from tests.factories import SubjectFactory

pytestmark = pytest.mark.django_db

TABLE = AuditEvent._meta.db_table
NO_ROWS = (
    "Insert-only rows match the audit log: appeals.challengeattachment 0, audit.accessevent 0, "
    "casework.caseflag 0, casework.casereevaluation 0, casework.decision 0, "
    "casework.declaredconflict 0, casework.referralresult 0, flags.evidencecontext 0, "
    "flags.flagevidence 0\n"
)


class CursorSchemaEditor:
    """What audit.triggers needs of a schema editor; Django's SQLite one cannot open inside the
    test's transaction. Dropping the triggers here is rolled back with the test."""

    connection = connection

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


@pytest.fixture
def chain(admin_actor: Actor) -> list[AuditEvent]:
    """Six events: the default policy's, then five more."""
    subjects = SubjectFactory.create_batch(5)
    with transaction.atomic():
        log.record_many(
            [log.Entry("subject.created", s, {"n": n}) for n, s in enumerate(subjects)],
            actor=admin_actor,
        )
    return list(AuditEvent.objects.order_by("seq"))


@pytest.fixture
def tamper() -> Any:
    """Drop the append-only triggers, as an attacker with the database's owner role could."""
    unprotect_table(CursorSchemaEditor(), TABLE)  # type: ignore[arg-type]

    def run(sql: str, *params: Any) -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)

    return run


def verify() -> str:
    out = io.StringIO()
    call_command("verify_audit", stdout=out)
    return out.getvalue()


def verify_broken() -> tuple[str, CommandError]:
    out = io.StringIO()
    with pytest.raises(CommandError) as broken:
        call_command("verify_audit", stdout=out)
    return out.getvalue(), broken.value


def test_an_intact_chain_exits_0_with_its_count_and_head_hash(chain: list[AuditEvent]) -> None:
    head = chain[-1]

    assert verify() == (
        f"Audit chain intact: 6 events; head seq {head.seq}, hash {head.hash}\n{NO_ROWS}"
    )
    assert head.seq == 6


def test_changed_data_is_named_by_its_sequence_number(chain: list[AuditEvent], tamper: Any) -> None:
    tamper(f"UPDATE {TABLE} SET data = %s WHERE seq = 4", '{"n": 99}')  # noqa: S608

    out, error = verify_broken()

    assert out == (
        "Audit chain BROKEN at sequence number 4: its stored hash does not match its contents.\n"
        f"Intact events before it: 3; last good hash: {chain[2].hash}\n{NO_ROWS}"
    )
    assert str(error) == "audit chain broken at seq 4"
    assert error.returncode == 1


def test_a_rewritten_event_with_a_recomputed_hash_is_caught_at_the_next_link(
    chain: list[AuditEvent], tamper: Any
) -> None:
    forged = chain[3].chain_fields()
    forged["data"] = {"n": 99}
    tamper(
        f"UPDATE {TABLE} SET data = %s, hash = %s WHERE seq = 4",  # noqa: S608
        '{"n": 99}',
        event_hash(forged),
    )

    out, error = verify_broken()

    assert out.startswith(
        "Audit chain BROKEN at sequence number 5: its previous-hash does not match the hash of "
        "the event before it.\nIntact events before it: 4;"
    )
    assert str(error) == "audit chain broken at seq 5"


def test_a_deleted_middle_event_is_named_as_the_gap(chain: list[AuditEvent], tamper: Any) -> None:
    tamper(f"DELETE FROM {TABLE} WHERE seq = 3")  # noqa: S608

    out, error = verify_broken()

    assert out.startswith(
        "Audit chain BROKEN at sequence number 3: expected sequence number 3, found 4 "
        "(a gap or reorder)."
    )
    assert str(error) == "audit chain broken at seq 3"


def test_an_emptied_log_is_intact_at_genesis(chain: list[AuditEvent], tamper: Any) -> None:
    """Deleting everything (or the tail) leaves a valid shorter chain: hence signed checkpoints."""
    tamper(f"DELETE FROM {TABLE}")  # noqa: S608

    assert verify() == (f"Audit chain intact: 0 events; head seq 0, hash {GENESIS_HASH}\n{NO_ROWS}")


def test_from_the_command_line_a_broken_chain_exits_1(
    chain: list[AuditEvent], tamper: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    tamper(f"UPDATE {TABLE} SET reason = 'edited' WHERE seq = 2")  # noqa: S608

    with pytest.raises(SystemExit) as exited:
        ManagementUtility(["manage.py", "verify_audit"]).execute()

    assert exited.value.code == 1
    streams = capsys.readouterr()
    assert "Audit chain BROKEN at sequence number 2" in streams.out
    assert "CommandError: audit chain broken at seq 2" in streams.err


def test_from_the_command_line_an_intact_chain_exits_0(
    chain: list[AuditEvent], capsys: pytest.CaptureFixture[str]
) -> None:
    ManagementUtility(["manage.py", "verify_audit"]).execute()

    assert capsys.readouterr().out.startswith("Audit chain intact: 6 events")

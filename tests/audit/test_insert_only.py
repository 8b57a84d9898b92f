"""audit.insert_only: the insert-only tables, their triggers, and verify_audit's check that each
row is still what the audit event recording it hashed (audit.access for the access log,
casework's decisions)."""

import io
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from accounts.roles import actor_for
from audit import insert_only
from audit.access import ACCESS_EVENTS_KEY, Shown, record_access
from audit.actors import Actor
from audit.chain import canonical_json, canonical_time, sha256_hex
from audit.models import AccessEvent, AuditEvent
from audit.triggers import unprotect_table
from casework.models import Decision
from casework.services import DecisionRequest, act_on_case
from tests.db_writes import AuditTail, row_counts
from tests.factories import CaseFactory, EvidenceRecordFactory, SubjectFactory

pytestmark = pytest.mark.django_db

REASONS = "The overtime claims match the duty roster; nothing is wrong."
DECISIONS = Decision._meta.db_table
ACCESS = AccessEvent._meta.db_table


class CursorSchemaEditor:
    """What audit.triggers needs of a schema editor; dropping triggers through it is rolled back
    with the test."""

    connection = connection

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


def tamper(table: str, sql: str, *params: Any) -> None:
    """Drop ``table``'s append-only triggers, as its owner could, and run ``sql``."""
    unprotect_table(CursorSchemaEditor(), table)  # type: ignore[arg-type]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def verify_broken() -> tuple[str, str]:
    out = io.StringIO()
    with pytest.raises(CommandError) as broken:
        call_command("verify_audit", stdout=out)
    assert broken.value.returncode == 1
    return out.getvalue(), str(broken.value)


def counted(**counts: int) -> str:
    """verify_audit's row counts, every checked table in order: those named here, others 0."""
    return ", ".join(
        f"{spec.label} {counts.get(spec.label.replace('.', '_'), 0)}"
        for spec in insert_only.registered()
        if spec.audit_key is not None
    )


def verify() -> str:
    out = io.StringIO()
    call_command("verify_audit", stdout=out)
    return out.getvalue()


@pytest.fixture
def decision(people: dict[str, Any], frozen_today: Any) -> Decision:
    case = CaseFactory.create(subject=SubjectFactory.create(unit="East Response"))
    request = DecisionRequest(action="start_review", rationale=REASONS, no_conflict_declared=True)
    return act_on_case(case.pk, request, actor=actor_for(people["rita.reviewer"]))


def recording_event(decision: Decision) -> AuditEvent:
    return AuditEvent.objects.get(action="case.review_started", target_id=str(decision.case_id))


def seen(n: int) -> list[Shown]:
    return [
        Shown(subject.pk, "flags.subject", subject.pk) for subject in SubjectFactory.create_batch(n)
    ]


# --- decisions ------------------------------------------------------------------------------------


def test_a_decisions_audit_event_carries_the_hash_of_its_row(decision: Decision) -> None:
    stored = Decision.objects.get(pk=decision.pk)
    governed = {
        "id": stored.pk,
        "case_id": stored.case_id,
        "kind": "triage",
        "outcome": "",
        "rationale": REASONS,
        "made_at": canonical_time(stored.made_at),
        "made_by_id": stored.made_by_id,
        "role": "reviewer",
        "on_behalf_of_id": None,
        "no_conflict_declared": True,
        "status_before": "open",
        "status_after": "in_review",
        "policy_version": stored.policy_version,
        "evidence_hashes": stored.evidence_hashes,
        "deferred_until": None,
        "assigned_to_id": None,
        "sets_aside_id": None,
    }

    event = recording_event(decision)

    assert event.data["decision"] == decision.pk
    assert event.data["row_hash"] == sha256_hex(canonical_json(governed))
    assert verify().splitlines()[1] == (
        "Insert-only rows match the audit log: "
        + counted(casework_decision=1, casework_caseflag=1, flags_flagevidence=1)
    )


def test_a_rewritten_rationale_is_named_by_the_seq_of_the_event_that_recorded_it(
    decision: Decision,
) -> None:
    seq = recording_event(decision).seq
    tamper(DECISIONS, f"UPDATE {DECISIONS} SET rationale = %s WHERE id = %s", "x" * 30, decision.pk)  # noqa: S608

    out, error = verify_broken()

    assert out.startswith("Audit chain intact:")
    assert out.splitlines()[1:] == [
        "Insert-only rows DIFFER from the audit log ("
        + counted(casework_decision=1, casework_caseflag=1, flags_flagevidence=1)
        + "):",
        f"- audit event seq {seq}: casework.decision {decision.pk} differ from what it recorded",
    ]
    assert error == f"insert-only rows differ from audit events at seq {seq}"


def test_a_deleted_decision_is_named_by_the_seq_of_the_event_that_recorded_it(
    decision: Decision,
) -> None:
    seq = recording_event(decision).seq
    tamper(DECISIONS, f"DELETE FROM {DECISIONS} WHERE id = %s", decision.pk)  # noqa: S608

    out, error = verify_broken()

    assert (
        f"- audit event seq {seq} recorded casework.decision {decision.pk}: not in the table" in out
    )
    assert error == f"insert-only rows differ from audit events at seq {seq}"


def test_a_decision_no_audit_event_recorded_is_reported(decision: Decision) -> None:
    forged = Decision.objects.get(pk=decision.pk)
    forged.pk = None
    forged.save()

    out, error = verify_broken()

    assert f"- casework.decision {forged.pk}: no audit event records it" in out
    assert error == "1 insert-only rows recorded by no audit event"


# --- the access log -------------------------------------------------------------------------------


def test_record_access_appends_one_audit_event_listing_the_rows_and_their_hash(
    admin_actor: Actor,
) -> None:
    shown = seen(3)
    tail = AuditTail()

    assert record_access(shown, actor=admin_actor, channel="page", view="v", purpose="p") == 3

    rows = list(AccessEvent.objects.order_by("pk"))
    (event,) = tail.events()
    assert (event.action, event.target_type, event.target_id, event.reason) == (
        "access.recorded",
        "audit.accessevent",
        str(rows[0].pk),
        "v",
    )
    assert event.data == {
        ACCESS_EVENTS_KEY: [row.pk for row in rows],
        "row_hash": insert_only.row_hash(rows),
    }
    assert verify().splitlines()[1] == (
        "Insert-only rows match the audit log: " + counted(audit_accessevent=3)
    )


def test_recording_nothing_shown_writes_nothing(admin_actor: Actor) -> None:
    before = row_counts()

    assert record_access([], actor=admin_actor, channel="page", view="v", purpose="p") == 0

    assert row_counts() == before
    assert not AccessEvent.objects.exists()


@pytest.fixture
def accesses(admin_actor: Actor) -> tuple[int, list[AccessEvent]]:
    record_access(seen(1), actor=admin_actor, channel="page", view="first", purpose="p")
    tail = AuditTail()
    record_access(seen(4), actor=admin_actor, channel="api", view="second", purpose="p")
    (event,) = tail.events()
    return event.seq, list(AccessEvent.objects.filter(view="second").order_by("pk"))


def test_a_deleted_access_event_is_named_by_the_seq_of_its_audit_event(
    accesses: tuple[int, list[AccessEvent]],
) -> None:
    seq, rows = accesses
    tamper(ACCESS, f"DELETE FROM {ACCESS} WHERE id = %s", rows[2].pk)  # noqa: S608

    out, error = verify_broken()

    assert out.splitlines()[1:] == [
        "Insert-only rows DIFFER from the audit log (" + counted(audit_accessevent=4) + "):",
        f"- audit event seq {seq} recorded audit.accessevent {rows[2].pk}: "
        "not in the table any more",
    ]
    assert error == f"insert-only rows differ from audit events at seq {seq}"


def test_a_rewritten_access_event_is_named_by_the_seq_of_its_audit_event(
    accesses: tuple[int, list[AccessEvent]],
) -> None:
    seq, rows = accesses
    tamper(ACCESS, f"UPDATE {ACCESS} SET purpose = 'audit' WHERE id = %s", rows[0].pk)  # noqa: S608

    out, _ = verify_broken()

    ids = ", ".join(str(row.pk) for row in rows)
    assert f"- audit event seq {seq}: audit.accessevent {ids} differ from what it recorded" in out


def test_an_access_event_inserted_without_an_audit_event_is_reported(
    accesses: tuple[int, list[AccessEvent]],
) -> None:
    _, rows = accesses
    forged = AccessEvent.objects.get(pk=rows[0].pk)
    forged.pk = None
    forged.save()

    out, error = verify_broken()

    assert out.splitlines()[1:] == [
        "Insert-only rows DIFFER from the audit log (" + counted(audit_accessevent=6) + "):",
        f"- audit.accessevent {forged.pk}: no audit event records it",
    ]
    assert error == "1 insert-only rows recorded by no audit event"


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_record_access_outside_a_transaction_opens_its_own(admin_actor: Actor) -> None:
    assert not connection.in_atomic_block

    record_access(seen(2), actor=admin_actor, channel="page", view="v", purpose="p")

    assert AccessEvent.objects.count() == 2
    assert AuditEvent.objects.filter(action="access.recorded").count() == 1


# --- the registry ---------------------------------------------------------------------------------


def _triggers_on(table: str) -> set[str]:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND tgenabled = 'A'",
                [table],
            )
        else:
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s", [table]
            )
        return {name for (name,) in cursor.fetchall()}


@pytest.mark.parametrize(
    "spec", insert_only.registered(), ids=[spec.label for spec in insert_only.registered()]
)
def test_every_insert_only_table_has_its_triggers_from_a_migration(
    spec: insert_only.InsertOnly,
) -> None:
    table = spec.table
    expected = (
        {f"{table}_append_only"}
        if connection.vendor == "postgresql"
        else {f"{table}_no_update", f"{table}_no_delete"}
    )

    assert _triggers_on(table) >= expected


def test_the_insert_only_tables_are_the_logs_decisions_and_links() -> None:
    assert {(spec.label, spec.audit_key) for spec in insert_only.registered()} == {
        ("audit.auditevent", None),
        ("audit.accessevent", "access_events"),
        ("casework.decision", "decision"),
        ("casework.caseflag", "case_flags"),
        ("casework.declaredconflict", "declared_conflict"),
        ("flags.flagevidence", "flag_evidence"),
        ("flags.evidencecontext", "evidence_context"),
        ("casework.casereevaluation", "reevaluation"),
        ("casework.referralresult", "referral_result"),
        ("appeals.challengeattachment", "attachments"),
    }


def test_a_rewritten_declaration_of_conflict_is_named_by_the_seq_of_its_event(
    people: dict[str, Any], frozen_today: Any
) -> None:
    from casework.models import DeclaredConflict
    from casework.services import declare_conflict

    subject = SubjectFactory.create()
    declared = declare_conflict(subject, actor=actor_for(people["rita.reviewer"]))
    seq = AuditEvent.objects.get(action="conflict.declared").seq
    table = DeclaredConflict._meta.db_table
    other = SubjectFactory.create()
    # Pointing the declaration at someone else would let the reviewer see the first person's case.
    tamper(table, f"UPDATE {table} SET subject_id = %s WHERE id = %s", other.pk, declared.pk)  # noqa: S608

    out, error = verify_broken()

    assert f"- audit event seq {seq}: casework.declaredconflict {declared.pk} differ" in out
    assert error == f"insert-only rows differ from audit events at seq {seq}"


def test_an_insert_only_table_cannot_be_updated_through_the_orm(decision: Decision) -> None:
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        Decision.objects.filter(pk=decision.pk).update(rationale="x" * 30)


@pytest.fixture
def scratch_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(insert_only, "_REGISTERED", {})


@pytest.mark.usefixtures("scratch_registry")
def test_a_table_is_registered_once_and_an_audit_key_names_one_table() -> None:
    insert_only.register(Decision, audit_key="decision")

    with pytest.raises(ValueError, match="registered as insert-only twice"):
        insert_only.register(Decision)
    with pytest.raises(ValueError, match="already names another insert-only table"):
        insert_only.register(AccessEvent, audit_key="decision")


@pytest.mark.usefixtures("scratch_registry")
def test_only_a_registered_rows_hash_can_be_taken() -> None:
    with pytest.raises(insert_only.NotInsertOnly, match=r"casework\.decision is not registered"):
        insert_only.row_hash(Decision())
    with pytest.raises(ValueError, match="at least one row"):
        insert_only.row_hash([])


@pytest.mark.usefixtures("scratch_registry")
def test_the_row_hash_covers_only_the_registered_fields_and_the_id(admin_actor: Actor) -> None:
    insert_only.register(AccessEvent, fields=["purpose"], audit_key="access")
    row = AccessEvent(pk=7, purpose="p", view="v")

    assert insert_only.row_hash(row) == sha256_hex(canonical_json({"id": 7, "purpose": "p"}))
    assert insert_only.row_hash([row]) == sha256_hex(canonical_json([{"id": 7, "purpose": "p"}]))


def test_a_flag_taken_off_its_case_is_named_by_the_seq_of_the_event_that_attached_it(
    decision: Decision,
) -> None:
    from casework.models import CaseFlag

    link = CaseFlag.objects.get(case_id=decision.case_id)
    seq = AuditEvent.objects.get(action="case.flags_attached", target_id=str(link.case_id)).seq
    table = CaseFlag._meta.db_table
    tamper(table, f"DELETE FROM {table} WHERE id = %s", link.pk)  # noqa: S608

    out, error = verify_broken()

    assert f"- audit event seq {seq} recorded casework.caseflag {link.pk}: not in the table" in out
    assert error == f"insert-only rows differ from audit events at seq {seq}"


def test_evidence_swapped_under_a_flag_is_named_by_the_seq_of_the_event_that_received_it(
    decision: Decision,
) -> None:
    from flags.models import FlagEvidence

    link = FlagEvidence.objects.get()
    seq = AuditEvent.objects.get(action="flag.received", target_id=str(link.flag_id)).seq
    other = EvidenceRecordFactory.create()
    table = FlagEvidence._meta.db_table
    tamper(table, f"UPDATE {table} SET evidence_id = %s WHERE id = %s", other.pk, link.pk)  # noqa: S608

    out, error = verify_broken()

    assert f"- audit event seq {seq}: flags.flagevidence {link.pk} differ" in out
    assert error == f"insert-only rows differ from audit events at seq {seq}"

"""The hash-chained audit log: audit.chain (pure), audit.log (appending), audit.registry, and the
append-only triggers of migration 0002 (audit.triggers)."""

import itertools
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
from hypothesis import given, settings
from hypothesis import strategies as st

from audit import log, registry
from audit.actors import Actor, Role, UnknownActor, command_actor, system_actor
from audit.chain import (
    GENESIS_HASH,
    canonical_json,
    canonical_time,
    event_hash,
    sha256_hex,
    verify_chain,
)
from audit.models import AuditEvent
from audit.triggers import protect_table, unprotect_table
from flags.models import Subject
from tests.db_writes import head_seq, row_counts
from tests.factories import StrongFlagItemFactory, SubjectFactory, UserFactory
from tests.ingest_client import post_flags

TABLE = AuditEvent._meta.db_table


# --- canonical JSON and hashes (no database) -----------------------------------------------------


def test_canonical_json_sorts_keys_drops_whitespace_and_keeps_utf8() -> None:
    assert canonical_json({"b": 1, "a": [1, 2], "é": "ø"}) == '{"a":[1,2],"b":1,"é":"ø"}'.encode()


@pytest.mark.parametrize("value", [float("nan"), float("inf"), {"x": float("-inf")}])
def test_canonical_json_refuses_values_json_cannot_hold(value: Any) -> None:
    with pytest.raises(ValueError, match="Out of range float values"):
        canonical_json(value)


def test_canonical_time_is_utc_with_microseconds() -> None:
    bst = timezone(timedelta(hours=1))

    assert canonical_time(datetime(2026, 6, 15, 12, 0, 0, 5, tzinfo=bst)) == (
        "2026-06-15T11:00:00.000005Z"
    )
    with pytest.raises(ValueError, match="timezone-aware"):
        canonical_time(datetime(2026, 6, 15, 12, 0))  # noqa: DTZ001 - the point of the test


def test_an_events_hash_covers_every_field_but_the_hash() -> None:
    fields = {"seq": 1, "prev_hash": GENESIS_HASH, "data": {"a": 1}}

    assert event_hash(fields) == sha256_hex(canonical_json(fields))
    assert event_hash({**fields, "hash": "anything"}) == event_hash(fields)


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=15,
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.text(), JSON, max_size=6), st.randoms())
def test_canonical_json_does_not_depend_on_key_order(value: dict[str, Any], rnd: Any) -> None:
    items = list(value.items())
    rnd.shuffle(items)

    assert canonical_json(dict(items)) == canonical_json(value)
    assert json.loads(canonical_json(value)) == value


def chain_of(datas: list[Any]) -> list[dict[str, Any]]:
    events = []
    prev = GENESIS_HASH
    for seq, data in enumerate(datas, start=1):
        event = {
            "seq": seq,
            "occurred_at": "2026-06-15T11:00:00.000000Z",
            "action": "test.event",
            "data": data,
            "prev_hash": prev,
        }
        event["hash"] = prev = event_hash(event)
        events.append(event)
    return events


def test_an_intact_chain_verifies_to_its_head() -> None:
    events = chain_of([{"n": n} for n in range(5)])

    check = verify_chain(events)

    assert check.intact
    assert (check.count, check.head_seq, check.head_hash) == (5, 5, events[-1]["hash"])


def test_an_empty_chain_is_intact_at_genesis() -> None:
    check = verify_chain([])

    assert (check.intact, check.count, check.head_seq, check.head_hash) == (
        True,
        0,
        0,
        GENESIS_HASH,
    )


@pytest.mark.parametrize(
    ("tamper", "bad_seq", "problem"),
    [
        (lambda ev: ev[2]["data"].update(n=99), 3, "its stored hash does not match its contents"),
        (
            lambda ev: ev[2].update(prev_hash="f" * 64),
            3,
            "its previous-hash does not match the hash of the event before it",
        ),
        (lambda ev: ev.pop(2), 3, "expected sequence number 3, found 4 (a gap or reorder)"),
        (
            lambda ev: ev.insert(1, ev.pop(3)),
            2,
            "expected sequence number 2, found 4 (a gap or reorder)",
        ),
        (lambda ev: ev.pop(0), 1, "expected sequence number 1, found 2 (a gap or reorder)"),
    ],
    ids=["changed data", "relinked", "deleted", "reordered", "first deleted"],
)
def test_verification_names_the_first_bad_event(tamper: Any, bad_seq: int, problem: str) -> None:
    events = chain_of([{"n": n} for n in range(5)])
    tamper(events)

    check = verify_chain(events)

    assert (check.intact, check.first_bad_seq, check.problem) == (False, bad_seq, problem)
    assert check.count == bad_seq - 1


def test_rehashing_a_tampered_event_is_caught_at_the_next_one() -> None:
    events = chain_of([{"n": n} for n in range(5)])
    events[1]["data"] = {"n": 99}
    events[1]["hash"] = event_hash(events[1])

    check = verify_chain(events)

    assert (check.first_bad_seq, check.problem) == (
        3,
        "its previous-hash does not match the hash of the event before it",
    )


@settings(max_examples=100, deadline=None)
@given(st.lists(JSON, min_size=1, max_size=8), st.data())
def test_changing_any_events_data_is_caught_at_that_event(datas: list[Any], data: Any) -> None:
    events = chain_of(datas)
    index = data.draw(st.integers(0, len(events) - 1))
    replacement = data.draw(
        JSON.filter(lambda v: canonical_json(v) != canonical_json(datas[index]))
    )
    events[index]["data"] = replacement

    check = verify_chain(events)

    assert verify_chain(chain_of(datas)).intact
    assert check.first_bad_seq == index + 1


# --- appending (audit.log) -----------------------------------------------------------------------


@pytest.mark.django_db
def test_recorded_events_are_gapless_from_1_linked_and_recomputable(admin_actor: Actor) -> None:
    subjects = SubjectFactory.create_batch(3)

    with transaction.atomic():
        log.record("subject.created", subjects[0], actor=admin_actor, reason="one")
        log.record_many(
            [log.Entry("subject.created", s, {"n": n}) for n, s in enumerate(subjects[1:])],
            actor=admin_actor,
        )

    events = list(AuditEvent.objects.order_by("seq"))
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert events[0].action == "threshold_policy.seeded"  # installed by migrate
    assert events[0].prev_hash == GENESIS_HASH
    for before, event in itertools.pairwise(events):
        assert event.prev_hash == before.hash
    for event in events:
        assert event.hash == event_hash(event.chain_fields())
    check = log.verify_stored_chain()
    assert (check.intact, check.count, check.head_seq, check.head_hash) == (
        True,
        len(events),
        events[-1].seq,
        events[-1].hash,
    )


@pytest.mark.django_db
def test_an_event_names_its_actor_target_and_reason(admin_actor: Actor) -> None:
    subject = SubjectFactory.create()
    representative = UserFactory.create()
    actor = Actor(user=admin_actor.user, role=Role.REPRESENTATIVE, on_behalf_of=representative)

    with transaction.atomic():
        by_model = log.record(
            "subject.updated", subject, actor=actor, data={"k": [1, "v"]}, reason="x" * 400
        )
        by_tuple = log.record("workforce.imported", ("workforce.extract", 42), actor=actor)

    stored = AuditEvent.objects.get(seq=by_model.seq)
    assert (stored.actor_user_id, stored.actor_username, stored.actor_role) == (
        admin_actor.user.pk,
        "admin.one",
        "representative",
    )
    assert stored.on_behalf_of_user_id == representative.pk
    assert (stored.target_type, stored.target_id) == ("flags.subject", str(subject.pk))
    assert stored.data == {"k": [1, "v"]}
    assert stored.reason == "x" * 300
    assert AuditEvent.objects.get(seq=by_tuple.seq).target_id == "42"
    assert list(log.events_for("flags.subject", [subject.pk])) == [stored]


@pytest.mark.django_db
def test_an_empty_batch_records_nothing(admin_actor: Actor) -> None:
    before = head_seq()

    with transaction.atomic():
        assert log.record_many([], actor=admin_actor) == []

    assert head_seq() == before


@pytest.mark.django_db
def test_an_unknown_action_code_is_refused_and_writes_nothing(admin_actor: Actor) -> None:
    subject = SubjectFactory.create()
    before = head_seq()

    with pytest.raises(registry.UnknownAuditAction) as refused, transaction.atomic():
        log.record_many(
            [log.Entry("subject.created", subject), log.Entry("subject.renamed", subject)],
            actor=admin_actor,
        )

    assert str(refused.value) == (
        "Audit action code 'subject.renamed' is not declared in the registry."
    )
    assert head_seq() == before


# --- the registry --------------------------------------------------------------------------------


@pytest.fixture
def scratch_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_ACTIONS", dict(registry._ACTIONS))


@pytest.mark.usefixtures("scratch_registry")
def test_a_code_is_registered_once_with_a_description() -> None:
    code = registry.register("widget.polished", "A widget was polished.")

    assert registry.require(code) == "widget.polished"
    assert registry.describe(code) == "A widget was polished."
    with pytest.raises(ValueError, match="declared twice"):
        registry.register("widget.polished", "Again.")


@pytest.mark.usefixtures("scratch_registry")
@pytest.mark.parametrize(
    ("code", "description", "message"),
    [
        ("polished", "Words.", "must look like 'noun.verb'"),
        ("Widget.Polished", "Words.", "must look like 'noun.verb'"),
        ("widget.polished", "   ", "needs a description"),
    ],
)
def test_a_malformed_code_is_refused(code: str, description: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        registry.register(code, description)


def test_every_code_the_apps_write_is_declared() -> None:
    assert {
        "detector.registered",
        "detector.token_issued",
        "detector.token_revoked",
        "flag.received",
        "subject.created",
        "subject.updated",
        "equality_profile.recorded",
        "workforce.imported",
        "threshold_policy.seeded",
        "case.opened",
        "case.flags_attached",
    } <= set(registry.all_actions())
    with pytest.raises(registry.UnknownAuditAction):
        registry.describe("nothing.declared")


# --- actors --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_system_actor_is_one_user_who_cannot_sign_in() -> None:
    first, second = system_actor(), system_actor()

    assert first.user == second.user
    assert first.role == Role.SYSTEM
    assert not first.user.is_active
    assert not first.user.has_usable_password()


@pytest.mark.django_db
def test_a_command_actor_must_be_an_active_user(admin_actor: Actor) -> None:
    assert command_actor("admin.one") == Actor(user=admin_actor.user, role=Role.ADMINISTRATOR)
    assert command_actor(None).role == Role.SYSTEM
    UserFactory.create(username="left", is_active=False)
    for name in ("ghost", "left"):
        with pytest.raises(UnknownActor):
            command_actor(name)


# --- append-only triggers ------------------------------------------------------------------------


@pytest.fixture
def event(db: Any) -> AuditEvent:
    return AuditEvent.objects.order_by("seq")[0]


def _refused(statement: Any) -> None:
    with pytest.raises(DatabaseError) as refused, transaction.atomic():
        statement()
    assert "append-only" in str(refused.value)


def _edit_and_save(event: AuditEvent) -> None:
    event.reason = "edited"
    event.save()


REFUSED_CHANGES = {
    "queryset update": lambda e: AuditEvent.objects.filter(seq=e.seq).update(reason="edited"),
    "save": _edit_and_save,
    "instance delete": lambda e: e.delete(),
    "queryset delete": lambda e: AuditEvent.objects.all().delete(),
}


@pytest.mark.parametrize("change", list(REFUSED_CHANGES.values()), ids=list(REFUSED_CHANGES))
def test_the_orm_cannot_change_or_delete_an_event(event: AuditEvent, change: Any) -> None:
    original = AuditEvent.objects.get(seq=event.seq).chain_fields()

    _refused(lambda: change(event))

    assert AuditEvent.objects.get(seq=event.seq).chain_fields() == original
    assert log.verify_stored_chain().intact


@pytest.mark.parametrize(
    "sql",
    [
        f"UPDATE {TABLE} SET data = '{{}}' WHERE seq = %s",  # noqa: S608 - a constant table
        f"UPDATE {TABLE} SET hash = prev_hash WHERE seq >= %s",  # noqa: S608
        f"DELETE FROM {TABLE} WHERE seq = %s",  # noqa: S608
    ],
    ids=["update data", "update hash", "delete"],
)
def test_raw_sql_cannot_change_or_delete_an_event(event: AuditEvent, sql: str) -> None:
    def execute() -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql, [event.seq])

    _refused(execute)

    assert log.verify_stored_chain().intact


@pytest.mark.postgres_only
def test_on_postgresql_the_trigger_fires_even_for_replication_sessions(event: AuditEvent) -> None:
    """ENABLE ALWAYS: session_replication_role = replica skips ordinary triggers, not this one."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgenabled FROM pg_trigger WHERE tgname = %s", [f"{TABLE}_append_only"]
        )
        assert cursor.fetchone() == ("A",)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")
        _refused(lambda: AuditEvent.objects.filter(seq=event.seq).update(reason="edited"))
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = origin")


class CursorSchemaEditor:
    """The two things the trigger helpers use of a schema editor. Django's SQLite schema editor
    refuses to open inside the test's transaction, so the helpers run through this instead."""

    def __init__(self, vendor: str | None = None) -> None:
        self.connection = connection if vendor is None else type("C", (), {"vendor": vendor})()

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


@pytest.mark.django_db
def test_the_triggers_can_be_dropped_and_restored(event: AuditEvent) -> None:
    editor: Any = CursorSchemaEditor()

    unprotect_table(editor, TABLE)
    AuditEvent.objects.filter(seq=event.seq).update(reason="edited")
    assert not log.verify_stored_chain().intact
    protect_table(editor, TABLE)

    _refused(lambda: AuditEvent.objects.filter(seq=event.seq).update(reason="again"))


def test_the_triggers_exist_only_for_known_databases() -> None:
    editor: Any = CursorSchemaEditor(vendor="oracle")

    with pytest.raises(NotImplementedError, match="oracle"):
        protect_table(editor, TABLE)


# --- what the database stores must hash as it was hashed -----------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "number",
    [
        0.1,
        1.0e-7,
        2**53 + 1,
        -0.0,
        1e20,
    ],
)
def test_numbers_in_event_data_survive_the_round_trip(admin_actor: Actor, number: float) -> None:
    subject = SubjectFactory.create()

    with transaction.atomic():
        recorded = log.record("subject.updated", subject, actor=admin_actor, data={"n": number})

    stored = AuditEvent.objects.get(seq=recorded.seq)
    assert canonical_json(stored.data) == canonical_json({"n": number})
    assert log.verify_stored_chain().intact


@pytest.mark.django_db
@pytest.mark.usefixtures("frozen_today")
def test_a_score_of_negative_zero_keeps_the_chain_verifiable(detector_client: Any) -> None:
    subject = SubjectFactory.create()
    item = StrongFlagItemFactory.build(subject=subject.staff_number, score=-0.0)

    response = post_flags(detector_client, [item])

    assert response.json()["created"] == 1
    assert log.verify_stored_chain().intact


# --- outside a transaction -----------------------------------------------------------------------


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_recording_outside_a_transaction_is_refused(admin_actor: Actor) -> None:
    subject: Subject = SubjectFactory.create()
    before = row_counts()

    with pytest.raises(log.AuditOutsideTransaction, match="inside the transaction"):
        log.record("subject.updated", subject, actor=admin_actor)

    assert row_counts() == before

"""flags.services.ingest_flags through the real API: POST /api/v1/flags/.

Every refused input gets its own clear error and writes nothing; replays change nothing; the
server never answers 500 to malformed input.
"""

import contextlib
import json
from collections.abc import Callable
from typing import Any
from unittest import mock

import pytest
from django.db import IntegrityError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from audit.actors import Actor, Role
from audit.insert_only import row_hash
from audit.log import verify_stored_chain
from casework.models import Case
from flags import services
from flags.ingest_schema import Evidence
from flags.models import (
    Detector,
    EvidenceRecord,
    EvidenceStatus,
    Flag,
    FlagEvidence,
    FlagStatus,
    Subject,
)
from flags.services import evidence_hash, issue_detector_token
from tests.db_writes import AuditTail, row_counts
from tests.factories import (
    NOW,
    DetectorTokenFactory,
    EvidenceItemFactory,
    EvidenceRecordFactory,
    FlagItemFactory,
    InactiveDetectorFactory,
    RevokedDetectorTokenFactory,
    StrongFlagItemFactory,
    SubjectFactory,
    WeakFlagItemFactory,
)
from tests.ingest_client import INGEST_URL, client_for, post_flags, post_raw
from tokens.services import revoke_token

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_today")]


@pytest.fixture
def subject() -> Subject:
    return SubjectFactory.create(staff_number="200001")


def rejected(index: int, external_id: str | None, errors: dict[str, list[str]]) -> dict[str, Any]:
    return {
        "index": index,
        "external_id": external_id,
        "status": "rejected",
        "errors": errors,
        "flag": None,
        "case": None,
    }


# --- a stored flag --------------------------------------------------------------------------------


def test_a_valid_flag_is_stored_with_its_evidence_and_answered_created(
    detector_client: APIClient, detector: Detector, subject: Subject
) -> None:
    item = WeakFlagItemFactory.build(subject=subject.staff_number, external_id="ot-1")
    tail = AuditTail()

    response = post_flags(detector_client, [item])

    assert response.status_code == 200, response.content
    flag = Flag.objects.get()
    assert response.json() == {
        "created": 1,
        "duplicate": 0,
        "rejected": 0,
        "items": [
            {
                "index": 0,
                "external_id": "ot-1",
                "status": "created",
                "errors": None,
                "flag": flag.pk,
                "case": None,
            }
        ],
    }
    assert (flag.detector, flag.subject, flag.external_id) == (detector, subject, "ot-1")
    assert flag.category == "overtime_fraud"
    assert flag.rule == item["rule"]
    assert flag.detector_version == "1.0.0"
    assert flag.score == 0.3
    assert flag.explanation == item["explanation"]
    assert flag.factors == [{"name": "peer_z", "value": 4.2, "weight": 0.8}]
    assert (flag.window_start.isoformat(), flag.window_end.isoformat()) == (
        item["window"]["start"],
        item["window"]["end"],
    )
    assert flag.status == FlagStatus.ACTIVE
    assert flag.received_at == NOW
    assert len(flag.content_hash) == 64

    evidence = EvidenceRecord.objects.get()
    sent = item["evidence"][0]
    assert (evidence.source_system, evidence.record_type, evidence.record_id) == (
        sent["source_system"],
        sent["record_type"],
        sent["record_id"],
    )
    assert evidence.occurred_at.isoformat() == "2026-05-14T18:00:00+00:00"
    assert (evidence.summary, evidence.payload) == (sent["summary"], sent["payload"])
    assert evidence.status == EvidenceStatus.AS_RECEIVED
    assert evidence.content_hash == evidence_hash(Evidence.model_validate(sent))
    assert list(FlagEvidence.objects.values_list("flag_id", "evidence_id", "position")) == [
        (flag.pk, evidence.pk, 0)
    ]

    assert tail.actions() == [("flag.received", "flags.flag", str(flag.pk))]
    event = tail.events()[0]
    assert (event.actor_user_id, event.actor_role) == (detector.user_id, Role.DETECTOR)
    assert event.data == {
        "detector": detector.pk,
        "detector_version": "1.0.0",
        "subject": subject.pk,
        "category": "overtime_fraud",
        "score": 0.3,
        "content_hash": flag.content_hash,
        "evidence": [[evidence.pk, evidence.content_hash]],
        "flag_evidence": [FlagEvidence.objects.get(flag=flag).pk],
        "row_hash": row_hash([FlagEvidence.objects.get(flag=flag)]),
    }
    assert verify_stored_chain().intact


def test_a_flag_meeting_the_threshold_names_the_case_it_opened(
    detector_client: APIClient, subject: Subject
) -> None:
    tail = AuditTail()

    response = post_flags(
        detector_client, [StrongFlagItemFactory.build(subject=subject.staff_number)]
    )

    case = Case.objects.get(subject=subject)
    flag = Flag.objects.get()
    assert response.json()["items"][0]["case"] == case.pk
    assert tail.actions() == [
        ("flag.received", "flags.flag", str(flag.pk)),
        ("case.opened", "casework.case", str(case.pk)),
    ]


def test_flags_sharing_one_identical_evidence_record_store_it_once(
    detector_client: APIClient, subject: Subject
) -> None:
    shared = EvidenceItemFactory.build()
    items = [
        WeakFlagItemFactory.build(subject=subject.staff_number, evidence=[shared]) for _ in "ab"
    ]
    later = WeakFlagItemFactory.build(subject=subject.staff_number, evidence=[dict(shared)])

    first = post_flags(detector_client, items)
    second = post_flags(detector_client, [later])

    assert first.json()["created"] == 2
    assert second.json()["created"] == 1
    assert EvidenceRecord.objects.count() == 1
    assert FlagEvidence.objects.filter(evidence=EvidenceRecord.objects.get()).count() == 3


# --- one refused item writes nothing ------------------------------------------------------------


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(item: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = item
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[last] = value

    return mutate


def _drop(name: str) -> Callable[[dict[str, Any]], None]:
    return lambda item: item.pop(name)


def _evidence_records(count: int) -> Callable[[dict[str, Any]], None]:
    return lambda item: item.update(evidence=EvidenceItemFactory.build_batch(count))


def _repeat_evidence(item: dict[str, Any]) -> None:
    item["evidence"] = [item["evidence"][0], dict(item["evidence"][0])]


REFUSED_ITEMS = {
    "unknown subject": (
        _set("subject", "999999"),
        {"subject": ["no subject with staff number '999999' is in the workforce register"]},
    ),
    "unknown category": (
        _set("category", "bribery"),
        {
            "category": [
                "must be one of 'overtime_fraud', 'attendance', 'system_misuse', "
                "'abuse_of_position', 'undeclared_conflict', 'complaints_pattern' or 'other'; "
                "got 'bribery'"
            ]
        },
    ),
    "score above 1": (_set("score", 1.5), {"score": ["must be between 0 and 1; got 1.5"]}),
    "score below 0": (_set("score", -0.1), {"score": ["must be between 0 and 1; got -0.1"]}),
    "score a word": (_set("score", "high"), {"score": ["must be a number; got 'high'"]}),
    "score null": (_set("score", None), {"score": ["must be a number; got None"]}),
    "score a list": (_set("score", [0.5]), {"score": ["must be a number; got [0.5]"]}),
    "score 'NaN'": (_set("score", "NaN"), {"score": ["must be a number; got 'NaN'"]}),
    "score 'nan'": (_set("score", "nan"), {"score": ["must be a number; got 'nan'"]}),
    "score 'inf'": (_set("score", "inf"), {"score": ["must be a number; got 'inf'"]}),
    "score '-Infinity'": (
        _set("score", "-Infinity"),
        {"score": ["must be a number; got '-Infinity'"]},
    ),
    "no evidence field": (_drop("evidence"), {"evidence": ["is required"]}),
    "empty evidence list": (
        _set("evidence", []),
        {
            "evidence": [
                "must hold at least one evidence record: a flag without evidence cannot be reviewed"
            ]
        },
    ),
    "51 evidence records": (
        _evidence_records(51),
        {"evidence": ["may hold at most 50 evidence records"]},
    ),
    "one record listed twice": (_repeat_evidence, None),
    "month 13": (
        _set("window.start", "2026-13-01"),
        {"window.start": ["must be a date written YYYY-MM-DD; got '2026-13-01'"]},
    ),
    "day-first date": (
        _set("window.end", "01/06/2026"),
        {"window.end": ["must be a date written YYYY-MM-DD; got '01/06/2026'"]},
    ),
    "date with a time": (
        _set("window.start", "2026-05-01T10:00:00Z"),
        {"window.start": ["must be a date written YYYY-MM-DD; got '2026-05-01T10:00:00Z'"]},
    ),
    "window end missing": (
        _set("window", {"start": "2026-05-01"}),
        {"window.end": ["is required"]},
    ),
    "window ending in the future": (
        _set("window", {"start": "2026-06-01", "end": "2026-06-17"}),
        {"window.end": ["must fall between 1900-01-01 and 2026-06-16; got 2026-06-17"]},
    ),
    "window starting before 1900": (
        _set("window.start", "1899-12-31"),
        {"window.start": ["must fall between 1900-01-01 and 2026-06-16; got 1899-12-31"]},
    ),
    "window start a number": (
        _set("window.start", 0),
        {"window.start": ["must be written as ISO 8601 text; got 0"]},
    ),
    "evidence time a number": (
        _set("evidence.0.occurred_at", 1700000000),
        {"evidence.0.occurred_at": ["must be written as ISO 8601 text; got 1700000000"]},
    ),
    "evidence time at the end of time": (
        _set("evidence.0.occurred_at", "9999-12-31T23:00:00-05:00"),
        {
            "evidence.0.occurred_at": [
                "must fall between 1900 and 2026-06-16; got 9999-12-31T23:00:00-05:00"
            ]
        },
    ),
    "evidence time at the start of time": (
        _set("evidence.0.occurred_at", "0001-01-01T00:00:00+05:00"),
        {
            "evidence.0.occurred_at": [
                "must fall between 1900 and 2026-06-16; got 0001-01-01T00:00:00+05:00"
            ]
        },
    ),
    "window start after end": (
        _set("window", {"start": "2026-06-02", "end": "2026-06-01"}),
        {"window": ["start (2026-06-02) is after end (2026-06-01)"]},
    ),
    "naive evidence time": (
        _set("evidence.0.occurred_at", "2026-05-14T18:00:00"),
        {
            "evidence.0.occurred_at": [
                "must include a time zone (Z or +01:00, say); got '2026-05-14T18:00:00'"
            ]
        },
    ),
    "evidence time a word": (
        _set("evidence.0.occurred_at", "yesterday"),
        {
            "evidence.0.occurred_at": [
                "must be a date and time in ISO 8601 with a time zone, such as "
                "2026-03-01T09:30:00Z; got 'yesterday'"
            ]
        },
    ),
    "unknown record type": (
        _set("evidence.0.record_type", "gossip"),
        {
            "evidence.0.record_type": [
                "must be one of 'sickness', 'overtime', 'access_log', 'complaint', "
                "'discipline', 'roster' or 'declaration'; got 'gossip'"
            ]
        },
    ),
    "extra field": (
        _set("colour", "red"),
        {"colour": ["is not a field of a flag; check its spelling"]},
    ),
    "extra evidence field": (
        _set("evidence.0.source", "hr"),
        {"evidence.0.source": ["is not a field of a flag; check its spelling"]},
    ),
    "rule missing": (_drop("rule"), {"rule": ["is required"]}),
    "external_id blank": (_set("external_id", "   "), {"external_id": ["must not be empty"]}),
    "external_id too long": (
        _set("external_id", "x" * 121),
        {"external_id": ["must be at most 120 characters"]},
    ),
    "external_id a number": (_set("external_id", 7), {"external_id": ["must be a string; got 7"]}),
    "explanation with NUL": (
        _set("explanation", "before\x00after"),
        {"explanation": ["contains a NUL character"]},
    ),
    "payload with NUL": (
        _set("evidence.0.payload", {"note": "a\x00b"}),
        {"evidence.0.payload.note": ["contains a NUL character"]},
    ),
    "payload with a lone surrogate": (
        _set("evidence.0.payload", {"note": "a\ud800b"}),
        {"evidence.0.payload.note": ["contains an unpaired surrogate (invalid Unicode)"]},
    ),
}


@pytest.mark.parametrize(
    ("mutate", "errors"), list(REFUSED_ITEMS.values()), ids=list(REFUSED_ITEMS)
)
def test_a_refused_item_gets_its_own_clear_error_and_writes_nothing(
    detector_client: APIClient,
    subject: Subject,
    mutate: Callable[[dict[str, Any]], None],
    errors: dict[str, list[str]] | None,
) -> None:
    item = FlagItemFactory.build(subject=subject.staff_number, external_id="bad-1")
    mutate(item)
    if errors is None:  # messages that name generated record ids
        record = item["evidence"][0]
        errors = {
            "evidence": [
                f"evidence 1 repeats evidence 0 ({record['source_system']} record "
                f"{record['record_id']!r})"
            ]
        }
    before = row_counts()

    response = detector_client.post(
        INGEST_URL,
        json.dumps({"flags": [item]}, ensure_ascii=True),
        content_type="application/json",
    )

    assert response.status_code == 200, response.content
    external_id = item.get("external_id") if isinstance(item.get("external_id"), str) else None
    assert response.json() == {
        "created": 0,
        "duplicate": 0,
        "rejected": 1,
        "items": [rejected(0, external_id, errors)],
    }
    assert row_counts() == before


@pytest.mark.parametrize("item", [5, "flag", None, [], [{"external_id": "x"}], True])
def test_an_item_that_is_not_an_object_is_refused(detector_client: APIClient, item: Any) -> None:
    before = row_counts()

    response = post_flags(detector_client, [item])

    assert response.json()["items"] == [
        rejected(0, None, {"flag": ["each flag must be a JSON object"]})
    ]
    assert row_counts() == before


def test_an_external_id_repeated_within_a_batch_is_refused_after_its_first_use(
    detector_client: APIClient, subject: Subject
) -> None:
    first = WeakFlagItemFactory.build(subject=subject.staff_number, external_id="twice")
    again = WeakFlagItemFactory.build(subject=subject.staff_number, external_id="twice")

    response = post_flags(detector_client, [first, again])

    body = response.json()
    assert (body["created"], body["rejected"]) == (1, 1)
    assert body["items"][1] == rejected(
        1, "twice", {"external_id": ["repeats the external_id of item 0 in this batch"]}
    )
    assert Flag.objects.count() == 1
    assert EvidenceRecord.objects.count() == 1  # the refused item's record was not stored


def _conflict(record_id: str) -> dict[str, list[str]]:
    return {
        "evidence.0": [
            f"record {record_id!r} of 'payroll' is already held with different contents; "
            "send the record as it was first received, or correct it through a challenge"
        ]
    }


def test_evidence_already_held_with_different_contents_is_refused(
    detector_client: APIClient, subject: Subject
) -> None:
    record = EvidenceItemFactory.build(record_id="OT-HELD")
    post_flags(
        detector_client,
        [WeakFlagItemFactory.build(subject=subject.staff_number, evidence=[record])],
    )
    changed = dict(record, summary="Overtime claim, 19.5 hours")
    item = WeakFlagItemFactory.build(
        subject=subject.staff_number, external_id="late", evidence=[changed]
    )
    before = row_counts()

    response = post_flags(detector_client, [item])

    assert response.json()["items"] == [rejected(0, "late", _conflict("OT-HELD"))]
    assert row_counts() == before
    assert EvidenceRecord.objects.get().summary == "Overtime claim, 9.5 hours"


def test_evidence_records_are_keyed_by_source_system_and_record_id(
    detector_client: APIClient, subject: Subject
) -> None:
    EvidenceRecordFactory.create(source_system="payroll", record_id="R-1")  # other contents
    same_key = EvidenceItemFactory.build(source_system="payroll", record_id="R-1")
    other_source = EvidenceItemFactory.build(source_system="roster", record_id="R-1")

    body = post_flags(
        detector_client,
        [
            WeakFlagItemFactory.build(
                subject=subject.staff_number, external_id="a", evidence=[same_key]
            ),
            WeakFlagItemFactory.build(
                subject=subject.staff_number, external_id="b", evidence=[other_source]
            ),
        ],
    ).json()

    assert body["items"][0] == rejected(0, "a", _conflict("R-1"))
    assert body["items"][1]["status"] == "created"
    assert sorted(EvidenceRecord.objects.values_list("source_system", "record_id")) == [
        ("payroll", "R-1"),
        ("roster", "R-1"),
    ]


def test_evidence_sent_twice_in_one_batch_with_different_contents_keeps_the_first(
    detector_client: APIClient, subject: Subject
) -> None:
    record = EvidenceItemFactory.build(record_id="OT-NEW")
    first = WeakFlagItemFactory.build(
        subject=subject.staff_number, external_id="a", evidence=[record]
    )
    second = WeakFlagItemFactory.build(
        subject=subject.staff_number,
        external_id="b",
        evidence=[dict(record, payload={"hours": 12})],
    )

    body = post_flags(detector_client, [first, second]).json()

    assert [item["status"] for item in body["items"]] == ["created", "rejected"]
    assert body["items"][1] == rejected(1, "b", _conflict("OT-NEW"))
    assert EvidenceRecord.objects.get().payload == {"hours": 9.5}


# --- the batch as a whole ------------------------------------------------------------------------


NOT_AN_OBJECT = {
    "error": "invalid_body",
    "detail": 'The body must be a JSON object with a "flags" list.',
}
NESTED_TOO_DEEP = {
    "error": "parse_error",
    "detail": "JSON parse error - the document is nested more than 64 levels deep.",
}


def _invalid(fields: dict[str, list[str]]) -> dict[str, Any]:
    detail = "Check these fields. " + " ".join(
        f"{name}: {' '.join(messages)}." for name, messages in fields.items()
    )
    return {"error": "invalid", "detail": detail, "fields": fields}


# The API's one rule: 400 for a body that is not JSON or not a JSON object, 422 for an object
# that is no batch, with each field at fault.
BAD_BODIES = {
    "empty list": ('{"flags": []}', 422, _invalid({"flags": ["is empty: send at least one flag"]})),
    "body a list": ("[]", 400, NOT_AN_OBJECT),
    "no flags key": (
        '{"items": []}',
        422,
        _invalid({"flags": ['is required: the body is a JSON object with a "flags" list']}),
    ),
    "body null": ("null", 400, NOT_AN_OBJECT),
    "body a number": ("12", 400, NOT_AN_OBJECT),
    "empty body": (
        "",
        400,
        {
            "error": "parse_error",
            "detail": "JSON parse error - the body is empty: send a JSON object.",
        },
    ),
    "flags an object": (
        '{"flags": {}}',
        422,
        _invalid({"flags": ["must be a JSON list of flags"]}),
    ),
    "unknown batch field": (
        '{"flags": [{}], "dry_run": true}',
        422,
        _invalid({"dry_run": ["is not a field of a batch"]}),
    ),
    "malformed JSON": (
        '{"flags": [',
        400,
        {
            "error": "parse_error",
            "detail": "JSON parse error - Expecting value: line 1 column 12 (char 11)",
        },
    ),
    "NaN literal": (
        '{"flags": [{"score": NaN}]}',
        400,
        {
            "error": "parse_error",
            "detail": "JSON parse error - NaN is not valid JSON",
        },
    ),
    "deeply nested list": ("[" * 100_000, 400, NESTED_TOO_DEEP),
    "deeply nested flags": ('{"flags": [' + '{"a": ' * 50_000, 400, NESTED_TOO_DEEP),
    "65 levels of valid JSON": ("[" * 65 + "]" * 65, 400, NESTED_TOO_DEEP),
}


@pytest.mark.parametrize(
    ("body", "status", "answer"), list(BAD_BODIES.values()), ids=list(BAD_BODIES)
)
def test_a_malformed_batch_is_refused_whole_with_a_clear_error(
    detector_client: APIClient, body: str, status: int, answer: dict[str, Any]
) -> None:
    before = row_counts()

    response = post_raw(detector_client, body)

    assert (response.status_code, response.json()) == (status, answer)
    assert row_counts() == before


def _nested(levels: int) -> dict[str, Any]:
    payload: dict[str, Any] = {"hours": 9.5}
    for _ in range(levels - 1):
        payload = {"inner": payload}
    return payload


@pytest.mark.parametrize("levels", [33, 58])
def test_a_payload_nested_more_than_32_levels_is_rejected_alone(
    detector_client: APIClient, subject: Subject, levels: int
) -> None:
    deep = FlagItemFactory.build(subject=subject.staff_number, external_id="deep")
    deep["evidence"][0]["payload"] = _nested(levels)
    fine = WeakFlagItemFactory.build(subject=subject.staff_number, external_id="fine")
    fine["evidence"][0]["payload"] = _nested(32)

    response = post_flags(detector_client, [deep, fine])

    assert response.status_code == 200, response.content
    items = response.json()["items"]
    assert items[0] == rejected(
        0, "deep", {"evidence.0.payload": ["is nested more than 32 levels deep"]}
    )
    assert items[1]["status"] == "created"
    assert verify_stored_chain().intact


def test_factors_nested_more_than_32_levels_are_rejected(
    detector_client: APIClient, subject: Subject
) -> None:
    item = FlagItemFactory.build(subject=subject.staff_number, external_id="deep")
    factors: Any = [{"name": "peer_z", "value": 1, "weight": 1}]
    for _ in range(32):
        factors = [factors]
    item["factors"] = factors

    response = post_flags(detector_client, [item])

    assert response.json()["items"][0]["errors"] == {
        "factors": ["is nested more than 32 levels deep"]
    }


def test_a_payload_930_levels_deep_is_a_400_not_a_500(
    detector_client: APIClient, subject: Subject
) -> None:
    item = FlagItemFactory.build(subject=subject.staff_number)
    item["evidence"][0]["payload"] = {"x": 1}
    body = json.dumps({"flags": [item]}).replace('{"x": 1}', '{"a": ' * 930 + "1" + "}" * 930)
    before = row_counts()

    response = post_raw(detector_client, body)

    assert (response.status_code, response.json()) == (400, NESTED_TOO_DEEP)
    assert row_counts() == before


def test_a_body_that_is_not_utf8_is_a_parse_error(detector_client: APIClient) -> None:
    response = post_raw(detector_client, b'{"flags": ["\xff"]}')

    assert response.status_code == 400
    assert response.json()["error"] == "parse_error"


def test_a_body_that_is_not_json_is_unsupported(detector_client: APIClient) -> None:
    response = post_raw(
        detector_client, "flags=1", content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 415
    assert response.json()["error"] == "unsupported_media_type"


def test_a_body_without_flags_is_answered_with_its_own_error_code(
    detector_client: APIClient,
) -> None:
    assert post_raw(detector_client, "[]").json()["error"] == "invalid_body"


def test_a_batch_of_1001_flags_is_too_large(detector_client: APIClient) -> None:
    before = row_counts()

    response = post_flags(detector_client, [{}] * 1001)

    assert response.status_code == 413
    assert response.json() == {
        "error": "batch_too_large",
        "detail": (
            "A batch may hold at most 1000 flags; this one holds 1001. "
            "Split it into smaller batches."
        ),
    }
    assert row_counts() == before


def test_a_batch_of_exactly_1000_items_is_read_item_by_item(detector_client: APIClient) -> None:
    response = post_flags(detector_client, [{}] * 1000)

    body = response.json()
    assert response.status_code == 200
    assert (body["created"], body["duplicate"], body["rejected"]) == (0, 0, 1000)
    assert [item["index"] for item in body["items"]] == list(range(1000))


def test_only_post_is_allowed(detector_client: APIClient) -> None:
    assert detector_client.get(INGEST_URL).status_code == 405


# --- who may post --------------------------------------------------------------------------------


def _post_with(header: str | None, item: dict[str, Any]) -> Any:
    client = APIClient()
    if header is not None:
        client.credentials(HTTP_AUTHORIZATION=header)
    return post_flags(client, [item])


ASK_FOR_BEARER = "Send your API token as 'Authorization: Bearer <token>'."
UNKNOWN_TOKEN = "This API token is not recognised, or has been revoked."


@pytest.mark.parametrize(
    ("header", "answer"),
    [
        (
            None,
            {
                "error": "not_authenticated",
                "detail": "Authentication credentials were not provided.",
            },
        ),
        ("Token sdt_abc", {"error": "authentication_failed", "detail": ASK_FOR_BEARER}),
        ("Basic dXNlcjpwYXNz", {"error": "authentication_failed", "detail": ASK_FOR_BEARER}),
        ("Bearer", {"error": "authentication_failed", "detail": ASK_FOR_BEARER}),
        ("Bearer    ", {"error": "authentication_failed", "detail": ASK_FOR_BEARER}),
        ("Bearer sdt_not-a-token", {"error": "authentication_failed", "detail": UNKNOWN_TOKEN}),
    ],
    ids=["no header", "token scheme", "basic scheme", "no token", "blank token", "bad token"],
)
def test_a_request_without_a_valid_token_is_unauthorised_and_writes_nothing(
    detector_with_token: Any, subject: Subject, header: str | None, answer: dict[str, str]
) -> None:
    item = FlagItemFactory.build(subject=subject.staff_number)
    before = row_counts()

    response = _post_with(header, item)

    assert response.status_code == 401
    assert response.json() == answer
    assert response["WWW-Authenticate"] == 'Bearer realm="scrutiny"'
    assert row_counts() == before


def test_a_revoked_token_is_unauthorised(
    detector_with_token: tuple[Detector, str], admin_actor: Actor
) -> None:
    detector, token = detector_with_token
    revoke_token(detector.user.api_tokens.get(), actor=admin_actor)

    response = post_flags(client_for(token), [FlagItemFactory.build()])

    assert response.status_code == 401
    assert response.json() == {"error": "authentication_failed", "detail": UNKNOWN_TOKEN}
    assert not Flag.objects.exists()


def test_a_token_row_revoked_earlier_is_unauthorised() -> None:
    RevokedDetectorTokenFactory.create(token="sdt_revoked-long-ago")

    response = post_flags(client_for("sdt_revoked-long-ago"), [FlagItemFactory.build()])

    assert response.status_code == 401


def test_an_inactive_detectors_flags_are_forbidden() -> None:
    token = DetectorTokenFactory.create(
        token="sdt_inactive", detector=InactiveDetectorFactory.create(slug="old")
    )
    assert token.user.detector.active is False

    response = post_flags(client_for("sdt_inactive"), [FlagItemFactory.build()])

    assert response.status_code == 403
    assert response.json() == {
        "error": "permission_denied",
        "detail": "Detector 'old' is inactive: its flags are not accepted.",
    }
    assert not Flag.objects.exists()


def test_a_rotated_token_works_alongside_the_old_one_until_that_is_revoked(
    detector_with_token: tuple[Detector, str], admin_actor: Actor, subject: Subject
) -> None:
    detector, old = detector_with_token
    new = issue_detector_token(detector, actor=admin_actor).token

    assert (
        post_flags(client_for(old), [WeakFlagItemFactory.build(subject="200001")]).status_code
        == 200
    )
    revoke_token(detector.user.api_tokens.get(prefix=old[:12]), actor=admin_actor)

    assert (
        post_flags(client_for(old), [WeakFlagItemFactory.build(subject="200001")]).status_code
        == 401
    )
    assert (
        post_flags(client_for(new), [WeakFlagItemFactory.build(subject="200001")]).status_code
        == 200
    )


def test_the_bearer_scheme_is_case_insensitive(
    detector_with_token: tuple[Detector, str], subject: Subject
) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"bearer {detector_with_token[1]}")

    assert post_flags(client, [WeakFlagItemFactory.build(subject="200001")]).status_code == 200


# --- replays -------------------------------------------------------------------------------------


def test_a_replayed_batch_is_all_duplicate_with_the_same_ids_and_writes_nothing(
    detector_client: APIClient, subject: Subject
) -> None:
    other = SubjectFactory.create()
    batch = [
        StrongFlagItemFactory.build(subject=subject.staff_number),
        WeakFlagItemFactory.build(subject=other.staff_number),
        FlagItemFactory.build(subject=subject.staff_number),
    ]
    first = post_flags(detector_client, batch).json()
    before = row_counts()
    tail = AuditTail()

    again = post_flags(detector_client, batch).json()

    assert (again["created"], again["duplicate"], again["rejected"]) == (0, 3, 0)
    assert again["items"] == [{**item, "status": "duplicate"} for item in first["items"]]
    case = Case.objects.get(subject=subject)
    assert [item["case"] for item in again["items"]] == [case.pk, None, case.pk]
    assert row_counts() == before
    assert tail.actions() == []


def test_a_replay_with_changed_contents_is_refused_and_changes_nothing(
    detector_client: APIClient, subject: Subject
) -> None:
    item = WeakFlagItemFactory.build(subject=subject.staff_number, external_id="same")
    post_flags(detector_client, [item])
    flag = Flag.objects.get()
    before = row_counts()

    changed = dict(item, score=0.99, explanation="Something else entirely.")
    body = post_flags(detector_client, [changed]).json()

    assert body["items"][0]["status"] == "rejected"
    assert body["items"][0]["errors"] == {
        "external_id": [
            f"was already used by this detector for flag {flag.pk}, with different contents; "
            "a new or corrected flag needs a new external_id"
        ]
    }
    assert Flag.objects.get().score == 0.3
    assert row_counts() == before


def test_the_same_external_id_from_another_detector_is_a_new_flag(
    detector_client: APIClient,
    other_detector_with_token: tuple[Detector, str],
    subject: Subject,
) -> None:
    item = WeakFlagItemFactory.build(subject=subject.staff_number, external_id="shared-id")
    post_flags(detector_client, [item])

    body = post_flags(client_for(other_detector_with_token[1]), [item]).json()

    assert body["items"][0]["status"] == "created"
    assert Flag.objects.filter(external_id="shared-id").count() == 2


# --- mixed batches -------------------------------------------------------------------------------


def test_a_mixed_batch_stores_the_valid_items_and_answers_each_in_order(
    detector_client: APIClient, subject: Subject
) -> None:
    held = WeakFlagItemFactory.build(subject=subject.staff_number, external_id="held")
    post_flags(detector_client, [held])
    batch = [
        WeakFlagItemFactory.build(subject=subject.staff_number, external_id="new-1"),
        FlagItemFactory.build(subject="999999", external_id="nobody"),
        held,
        "not an object",
        WeakFlagItemFactory.build(subject=subject.staff_number, external_id="new-2", score=2),
        WeakFlagItemFactory.build(subject=subject.staff_number, external_id="new-3"),
    ]
    tail = AuditTail()

    response = post_flags(detector_client, batch)

    body = response.json()
    assert (body["created"], body["duplicate"], body["rejected"]) == (2, 1, 3)
    assert [(i["index"], i["external_id"], i["status"]) for i in body["items"]] == [
        (0, "new-1", "created"),
        (1, "nobody", "rejected"),
        (2, "held", "duplicate"),
        (3, None, "rejected"),
        (4, "new-2", "rejected"),
        (5, "new-3", "created"),
    ]
    stored = dict(Flag.objects.values_list("external_id", "pk"))
    assert set(stored) == {"held", "new-1", "new-3"}
    assert [i["flag"] for i in body["items"]] == [
        stored["new-1"],
        None,
        stored["held"],
        None,
        None,
        stored["new-3"],
    ]
    assert tail.actions() == [
        ("flag.received", "flags.flag", str(stored["new-1"])),
        ("flag.received", "flags.flag", str(stored["new-3"])),
    ]
    assert EvidenceRecord.objects.count() == 3  # held, new-1 and new-3: none for refused items


# --- failures that must not become a 500 ---------------------------------------------------------


def test_a_retry_after_losing_an_insert_race_stores_the_batch(
    detector_client: APIClient, subject: Subject
) -> None:
    """The retry loop exists for a concurrent batch that inserts the same rows first. Simulated
    here: the first insert fails as the unique constraint would, and the retry must succeed."""
    real_insert = services.insert_with_history
    calls: list[str] = []

    def insert_losing_the_first_race(*args: Any, **kwargs: Any) -> list[int]:
        calls.append(args[0].__name__)
        if len(calls) == 1:
            raise IntegrityError("duplicate key value violates unique constraint")
        return real_insert(*args, **kwargs)

    with mock.patch.object(services, "insert_with_history", insert_losing_the_first_race):
        response = post_flags(
            detector_client, [WeakFlagItemFactory.build(subject=subject.staff_number)]
        )

    assert response.json()["created"] == 1
    assert Flag.objects.count() == 1
    assert calls == ["EvidenceRecord", "EvidenceRecord", "Flag"]


def test_a_payload_key_with_a_lone_surrogate_is_refused_not_a_500(
    detector_client: APIClient, subject: Subject
) -> None:
    item = WeakFlagItemFactory.build(subject=subject.staff_number, external_id="surrogate-key")
    item["evidence"][0]["payload"] = {"bad\ud800key": 1}

    response = post_raw(detector_client, json.dumps({"flags": [item]}, ensure_ascii=True))

    assert response.status_code == 200
    assert response.json()["items"][0]["status"] == "rejected"


def test_an_external_id_with_a_lone_surrogate_is_refused_not_a_500(
    detector_client: APIClient, subject: Subject
) -> None:
    item = WeakFlagItemFactory.build(subject=subject.staff_number, external_id="bad\ud800id")

    response = post_raw(detector_client, json.dumps({"flags": [item]}, ensure_ascii=True))

    assert response.status_code == 200
    assert response.json()["items"][0]["status"] == "rejected"


@pytest.mark.parametrize("score", [True, False])
def test_a_boolean_score_is_refused(
    detector_client: APIClient, subject: Subject, score: bool
) -> None:
    body = post_flags(
        detector_client, [FlagItemFactory.build(subject=subject.staff_number, score=score)]
    )

    assert body.json()["items"][0]["status"] == "rejected"
    assert not Case.objects.exists()


def test_an_invalid_factor_value_gets_one_clear_error(
    detector_client: APIClient, subject: Subject
) -> None:
    item = FlagItemFactory.build(subject=subject.staff_number)
    item["factors"] = [{"name": "peer_z", "value": None, "weight": 0.5}]

    errors = post_flags(detector_client, [item]).json()["items"][0]["errors"]

    assert list(errors) == ["factors.0.value"]


@pytest.mark.parametrize(
    "place", ["evidence.0.payload.hours", "factors.0.value", "factors.0.weight"]
)
def test_a_number_too_large_for_a_float_is_refused_not_a_500(
    detector_client: APIClient, subject: Subject, place: str
) -> None:
    item = FlagItemFactory.build(subject=subject.staff_number)
    _set(place, 12345.5)(item)
    body = json.dumps({"flags": [item]}).replace("12345.5", "1e999")

    response = post_raw(detector_client, body)

    assert response.status_code in {200, 400}
    assert not Flag.objects.exists()


JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    # -0.0 is left out here: it breaks the chain on PostgreSQL, see tests/audit/test_chain.py.
    | st.floats(allow_nan=False, allow_infinity=False).map(lambda x: x + 0.0)
    | st.text(max_size=30)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
FIELD_PATHS = st.sampled_from(
    [
        "external_id",
        "subject",
        "category",
        "rule",
        "detector_version",
        "score",
        "explanation",
        "factors",
        "window",
        "window.start",
        "window.end",
        "evidence",
        "evidence.0",
        "evidence.0.occurred_at",
        "evidence.0.payload",
        "evidence.0.record_id",
        "evidence.0.summary",
        "unknown_field",
    ]
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    changes=st.lists(st.tuples(FIELD_PATHS, JSON_VALUES), min_size=1, max_size=3),
    extra_items=st.lists(JSON_VALUES, max_size=2),
)
def test_random_items_never_get_a_server_error(
    detector_client: APIClient,
    subject: Subject,
    changes: list[tuple[str, Any]],
    extra_items: list[Any],
) -> None:
    item = FlagItemFactory.build(subject=subject.staff_number)
    for path, value in changes:
        # An earlier change may have replaced the parent with something else.
        with contextlib.suppress(KeyError, IndexError, TypeError):
            _set(path, value)(item)

    response = post_flags(detector_client, [item, *extra_items])

    assert response.status_code == 200, response.content
    body = response.json()
    assert len(body["items"]) == 1 + len(extra_items)
    for answer in body["items"]:
        assert answer["status"] in {"created", "duplicate", "rejected"}
        assert (answer["status"] == "rejected") == bool(answer["errors"])
    assert verify_stored_chain().intact


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=JSON_VALUES)
def test_random_json_bodies_never_get_a_server_error(detector_client: APIClient, body: Any) -> None:
    response = post_raw(detector_client, json.dumps(body))

    assert response.status_code in {200, 400, 413, 422}, response.content


def test_a_body_over_the_size_limit_is_a_clear_413(
    detector_client: APIClient, settings: Any
) -> None:
    settings.INGEST_MAX_BODY_BYTES = 2**20
    before = row_counts()

    response = post_raw(detector_client, '{"flags": ["' + "x" * 2**21 + '"]}')

    assert response.status_code == 413
    assert response.json() == {
        "error": "batch_too_large",
        "detail": "The body is larger than 1 MiB. Split it into smaller batches.",
    }
    assert row_counts() == before


def test_with_no_threshold_policy_in_force_nothing_is_stored_and_the_answer_is_503(
    detector_client: APIClient, subject: Subject
) -> None:
    from casework.models import PolicyStatus, ThresholdPolicy

    ThresholdPolicy.objects.update(status=PolicyStatus.RETIRED)  # setup only
    before = row_counts()

    response = post_flags(
        detector_client, [StrongFlagItemFactory.build(subject=subject.staff_number)]
    )

    assert response.status_code == 503
    assert response.json() == {
        "error": "cannot_evaluate",
        "detail": "No threshold policy is active, so no case can be opened. Nothing in this "
        "batch was stored; send it again later.",
    }
    assert row_counts() == before


def test_a_stored_evidence_record_still_matches_its_content_hash(
    detector_client: APIClient, subject: Subject
) -> None:
    from flags.ingest_schema import Evidence
    from flags.services import evidence_hash

    item = WeakFlagItemFactory.build(subject=subject.staff_number)
    item["evidence"][0]["payload"] = {"zero": -0.0, "large": 1e20, "tiny": 1e-7, "text": "é"}
    post_flags(detector_client, [item])

    stored = EvidenceRecord.objects.get(record_id=item["evidence"][0]["record_id"])
    again = Evidence.model_validate(
        {
            "source_system": stored.source_system,
            "record_type": stored.record_type,
            "record_id": stored.record_id,
            "occurred_at": stored.occurred_at.isoformat(),
            "summary": stored.summary,
            "payload": stored.payload,
        }
    )
    assert evidence_hash(again) == stored.content_hash

"""What a disclosure pack withholds of other people (reports/redaction.py), with the payload
shapes the reference detectors really send."""

import json
import random
import re
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casework.templatetags.evidence import payload_rows
from demo.management.commands.seed_demo_users import DEMO_CLAIMS, demo_flag
from detectors import attendance, overtime, system_misuse
from detectors.extracts import AccessEvent, OvertimeClaim, SicknessSpell
from flags.models import Flag, Subject
from reports.documents import redact_factors
from reports.redaction import WHY, Kind, Redaction, Redactor, marker
from tests.factories import SubjectFactory, UserFactory

STAFF_NUMBER = marker(Kind.STAFF_NUMBER)
NAME = marker(Kind.NAME)
RECORD = marker(Kind.RECORD_REFERENCE)
THIRD_PARTY = marker(Kind.THIRD_PARTY)

# The person the pack is about, and the rest of a small register.
OWN = ("100001", "Grace Carter")
REGISTER = [
    OWN,
    ("773812", "Nicola Davies"),
    ("102139", "Katie Taylor"),
    ("555001", "Karen Owen"),  # a reviewer who decided on the record
    ("600600", "Grace Carter"),  # shares the subject's name
    ("202601", "Mei Kaur"),  # a staff number that looks like a year and month
    ("300300", "J. Smith"),
    ("400400", "Carter Jones"),
]


def redactor(register: list[tuple[str, str]] = REGISTER, **kwargs: Any) -> Redactor:
    return Redactor(own_staff_number=OWN[0], own_name=OWN[1], register=register, **kwargs)


def claim(authorised_by: str, hours: float = 0.75) -> dict[str, Any]:
    return overtime._evidence(
        OvertimeClaim(
            claim_id="OT-202601-000294",
            staff_number=OWN[0],
            worked_on=date(2026, 1, 16),
            started_at="2026-01-16T07:00:00Z",
            hours=hours,
            claim_type="shift_extension",
            reason="Prisoner handover",
            authorised_by=authorised_by,
        )
    )


def lookup(record_type: str, record_ref: str, system: str = "RMS") -> dict[str, Any]:
    return system_misuse._evidence(
        AccessEvent(
            event_id="ACC-202601-0000093",
            staff_number=OWN[0],
            occurred_at="2026-01-20T23:15:02Z",
            system=system,
            record_type=record_type,
            record_ref=record_ref,
            task_ref="",
        )
    )


def where_of(evidence: dict[str, Any]) -> str:
    return f"Flag 12, evidence record {evidence['source_system']} {evidence['record_id']}"


# --- each rule, on what the detectors send ------------------------------------------------------


def test_the_officer_who_authorised_an_overtime_claim_is_withheld_and_the_claim_kept() -> None:
    evidence = claim(authorised_by="773812")
    r = redactor()

    payload = r.redact_payload(evidence["payload"], where=where_of(evidence))
    summary = r.redact_text(evidence["summary"], where=f"{where_of(evidence)}, summary")

    assert payload == {
        "worked_on": "2026-01-16",
        "hours": 0.75,
        "claim_type": "shift_extension",
        "reason": "Prisoner handover",
        "authorised_by": "[redacted: another person's staff number]",
    }
    assert summary == evidence["summary"]
    assert r.log == [
        Redaction(
            where="Flag 12, evidence record payroll-overtime OT-202601-000294, field authorised_by",
            kind=Kind.STAFF_NUMBER,
            why=WHY[Kind.STAFF_NUMBER],
            count=1,
        )
    ]
    # The caller's payload is left as it was.
    assert evidence["payload"]["authorised_by"] == "773812"


def test_a_look_up_of_a_member_of_the_publics_record_is_withheld_in_payload_and_summary() -> None:
    evidence = lookup("person", "PER-0989904")
    r = redactor()

    payload = r.redact_payload(evidence["payload"], where=where_of(evidence))
    summary = r.redact_text(evidence["summary"], where=f"{where_of(evidence)}, summary")

    assert payload == {
        "system": "RMS",
        "record_type": "person",
        "record_ref": "[redacted: a third party's record reference]",
        "task_ref": None,
    }
    assert summary == (
        "RMS person look-up of [redacted: a third party's record reference] with no linked task"
    )
    assert [(entry.where, entry.kind) for entry in r.log] == [
        (f"{where_of(evidence)}, field record_ref", Kind.RECORD_REFERENCE),
        (f"{where_of(evidence)}, summary", Kind.RECORD_REFERENCE),
    ]


@pytest.mark.parametrize(
    ("system", "record_type", "ref"),
    [
        ("PNC", "vehicle", "VEH-1770072"),
        ("RMS", "address", "ADR-0000450"),
        ("RMS", "crime_report", "CRI-1234567"),
        ("INTEL", "intelligence_report", "INT-0000001"),
        ("PNC", "person", "PER-0000007"),
    ],
)
def test_every_kind_of_police_record_looked_up_is_withheld(
    system: str, record_type: str, ref: str
) -> None:
    evidence = lookup(record_type, ref, system=system)
    r = redactor()

    payload = r.redact_payload(evidence["payload"], where=where_of(evidence))
    summary = r.redact_text(evidence["summary"], where="summary")

    assert payload["record_ref"] == RECORD
    assert payload["system"] == system
    assert payload["record_type"] == record_type
    kind = record_type.replace("_", " ")
    assert summary == f"{system} {kind} look-up of {RECORD} with no linked task"
    assert ref not in json.dumps(payload) + summary


def test_a_record_reference_is_withheld_wherever_it_is_written_and_only_whole() -> None:
    r = redactor()

    text = r.redact_text(
        "Looked up PER-0989904, then VEH-1770072 (twice: VEH-1770072). Not XPER-0989904, "
        "PER-0989904-A, or the incident INC-260116-0001.",
        where="Challenge 3, grounds",
    )

    assert text == (
        f"Looked up {RECORD}, then {RECORD} (twice: {RECORD}). Not XPER-0989904, "
        "PER-0989904-A, or the incident INC-260116-0001."
    )
    assert r.log[0].count == 3


def test_a_sickness_record_holds_nobody_else_and_passes_unchanged() -> None:
    evidence = attendance._evidence(
        SicknessSpell(
            spell_id="ABS-202501-000037",
            staff_number=OWN[0],
            start=date(2025, 1, 21),
            end=date(2025, 1, 26),
            days_lost=6,
            reason="Other",
            self_certified=True,
        )
    )
    r = redactor()

    assert r.redact_payload(evidence["payload"], where=where_of(evidence)) == evidence["payload"]
    assert r.redact_text(evidence["summary"], where="summary") == evidence["summary"]
    assert r.log == []


def test_an_authorisation_by_a_role_rather_than_a_person_is_kept() -> None:
    flag = demo_flag(OWN[0], DEMO_CLAIMS[0], date(2026, 6, 15))
    evidence = flag["evidence"][0]
    r = redactor()

    assert r.redact_payload(evidence["payload"], where=where_of(evidence)) == evidence["payload"]
    assert r.redact_text(flag["explanation"], where="explanation") == flag["explanation"]
    assert r.redact_payload(flag["factors"], where="factors") == flag["factors"]
    assert evidence["payload"]["authorised_by"] == "Duty inspector"
    assert r.log == []


def test_the_subjects_own_staff_number_and_name_are_never_withheld() -> None:
    r = redactor()
    text = "Grace Carter (100001) claimed it; GRACE CARTER's claim, staff number 100001."

    assert r.redact_text(text, where="Decision 1, rationale") == text
    payload = {"officer": 100001, "authorised_by": "100001", "note": "Grace Carter"}
    assert r.redact_payload(payload, where="Flag 1") == payload
    # Another person with the same name as the subject cannot be told apart, so is kept too.
    assert r.redact_text("Seen by Grace Carter", where="x") == "Seen by Grace Carter"
    assert r.log == []


def test_a_staff_number_in_a_sentence_is_withheld_as_a_whole_token() -> None:
    r = redactor()

    text = r.redact_text(
        "Authorised by 773812, countersigned by 102139.\nQueried with 773812 (payroll).",
        where="Challenge 4, grounds",
    )

    assert text == (
        f"Authorised by {STAFF_NUMBER}, countersigned by {STAFF_NUMBER}.\n"
        f"Queried with {STAFF_NUMBER} (payroll)."
    )
    assert r.log == [
        Redaction("Challenge 4, grounds", Kind.STAFF_NUMBER, WHY[Kind.STAFF_NUMBER], 3)
    ]


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("Shift swap 773812/102139", f"Shift swap {STAFF_NUMBER}/{STAFF_NUMBER}"),
        ("approved by 773812-PC", f"approved by {STAFF_NUMBER}-PC"),
        ("approved by PC-773812", f"approved by PC-{STAFF_NUMBER}"),
        ("staff_773812", f"staff_{STAFF_NUMBER}"),
        (
            "staff.773812 and 773812_102139",
            f"staff.{STAFF_NUMBER} and {STAFF_NUMBER}_{STAFF_NUMBER}",
        ),
        ("ref 202601-A", f"ref {STAFF_NUMBER}-A"),
    ],
)
def test_a_staff_number_joined_to_something_else_is_withheld(text: str, redacted: str) -> None:
    r = redactor()

    assert r.redact_text(text, where="Challenge 4, grounds") == redacted
    assert {entry.kind for entry in r.log} == {Kind.STAFF_NUMBER}


def test_record_ids_dates_and_decimals_are_not_taken_for_staff_numbers() -> None:
    # 202601 is Mei Kaur's staff number, and also January 2026 in the source systems' ids.
    r = redactor([*REGISTER, ("260116", "Tom Reed")])
    text = (
        "Claim OT-202601-000294 of 202601.5 hours on 2026-01-16 (ABS-202601-000037), "
        "ACC-202601-0000093 for task INC-260116, on 2026/01/16 or 16/01/2026 at 2026-01-16T07:00."
    )

    assert r.redact_text(text, where="x") == text
    assert r.redact_text("Signed by 202601.", where="x") == f"Signed by {STAFF_NUMBER}."
    assert r.redact_text("ref 1773812 or 7738120", where="x") == "ref 1773812 or 7738120"


def test_a_number_that_is_nobodys_staff_number_is_kept() -> None:
    r = redactor()
    # 773813 is no one's staff number; hours of 773812 are not an officer, whatever they equal.
    payload = {"hours": 773812, "days_lost": 773813, "authorised_by": 773813, "total": 8.5}

    assert r.redact_payload(payload, where="Flag 1") == payload
    assert r.redact_text("773813 hours", where="x") == "773813 hours"
    assert r.log == []


@pytest.mark.parametrize(
    "key",
    ["authorised_by", "approvedBy", "Entered-By", "officer", "line_manager", "collar_number"],
)
def test_a_number_is_a_staff_number_where_the_key_names_a_person(key: str) -> None:
    r = redactor()

    assert r.redact_payload({key: 773812}, where="Flag 1") == {key: STAFF_NUMBER}
    assert r.redact_payload({key: 773812.0}, where="Flag 2") == {key: STAFF_NUMBER}
    assert r.redact_payload({key: [773812, 5]}, where="Flag 3") == {key: [STAFF_NUMBER, 5]}


def test_nested_payloads_are_redacted_value_by_value_and_named_by_their_path() -> None:
    r = redactor()
    payload = {
        "claim": {"hours": 8, "worked_on": "2026-01-16"},
        "approvals": [
            {"authorised_by": "773812", "note": "Checked with Nicola Davies by phone"},
            {"authorised_by": 102139, "note": "Agreed"},
        ],
        "lookups": {"refs": ["PER-0000001", "INC-260116-0001"], "count": 2},
        "flags": [True, None, 3.5],
    }

    assert r.redact_payload(payload, where="Flag 7, evidence record payroll-overtime OT-1") == {
        "claim": {"hours": 8, "worked_on": "2026-01-16"},
        "approvals": [
            {"authorised_by": STAFF_NUMBER, "note": f"Checked with {NAME} by phone"},
            {"authorised_by": STAFF_NUMBER, "note": "Agreed"},
        ],
        "lookups": {"refs": [RECORD, "INC-260116-0001"], "count": 2},
        "flags": [True, None, 3.5],
    }
    prefix = "Flag 7, evidence record payroll-overtime OT-1, field "
    assert [(entry.where.removeprefix(prefix), entry.kind) for entry in r.log] == [
        ("approvals[1].authorised_by", Kind.STAFF_NUMBER),
        ("approvals[1].note", Kind.NAME),
        ("approvals[2].authorised_by", Kind.STAFF_NUMBER),
        ("lookups.refs[1]", Kind.RECORD_REFERENCE),
    ]


def test_everything_said_of_a_third_party_is_withheld() -> None:
    r = redactor()
    payload = {
        "allegation": "Discourtesy",
        "source": "public",
        "complainant": {"name": "Alex Moor", "age": 34, "anonymous": False, "contact": None},
        "witness_names": ["Sam Lowe", "Pat Hill"],
    }

    assert r.redact_payload(payload, where="Flag 2, evidence record complaints CMP-1") == {
        "allegation": "Discourtesy",
        "source": "public",
        "complainant": {"name": THIRD_PARTY, "age": THIRD_PARTY, "anonymous": False,
                        "contact": None},
        "witness_names": [THIRD_PARTY, THIRD_PARTY],
    }  # fmt: skip
    assert {entry.kind for entry in r.log} == {Kind.THIRD_PARTY}
    assert [entry.where.rsplit("field ", 1)[1] for entry in r.log] == [
        "complainant.age",
        "complainant.name",
        "witness_names[1]",
        "witness_names[2]",
    ]


def test_other_peoples_full_names_are_withheld_as_whole_words_in_any_case() -> None:
    r = redactor(kept_names=["Karen Owen"])

    assert r.redact_text("Spoke to Nicola Davies.", where="x") == f"Spoke to {NAME}."
    assert r.redact_text("KATIE  TAYLOR agreed", where="x") == f"{NAME} agreed"
    assert r.redact_text("Nicola\nDavies", where="x") == NAME
    assert r.redact_text("Nicola Davies's claim", where="x") == f"{NAME}'s claim"
    # With a typographic apostrophe (U+2019).
    assert r.redact_text("Nicola Davies\u2019s claim", where="x") == f"{NAME}\u2019s claim"
    assert r.redact_text("seen by J. Smith", where="x") == f"seen by {NAME}"
    # Not a full name, not whole words, or not next to each other: kept.
    for kept in (
        "Nicola said so",
        "Davies said so",
        "Nicola, Davies and Taylor",
        "Nicolas Davies",
        "Nicola Daviesson",
        "Nicola-Davies",
        "J.Smith",
    ):
        assert r.redact_text(kept, where="x") == kept
    # A reviewer who acted on the record keeps their name.
    assert r.redact_text("Reviewed by Karen Owen", where="x") == "Reviewed by Karen Owen"


def test_another_persons_name_written_surname_first_is_withheld() -> None:
    r = redactor(kept_names=["Karen Owen"])

    assert r.redact_text("Authorised by DAVIES, Nicola", where="x") == f"Authorised by {NAME}"
    assert r.redact_text("Davies, Nicola; Taylor,Katie", where="x") == f"{NAME}; {NAME}"
    assert r.redact_text("Smith, J. and Davies, Nicola's", where="x") == f"{NAME}. and {NAME}'s"
    # The subject's and the officials' are theirs, surname first too; a list is not a name.
    for kept in ("Carter, Grace", "OWEN, Karen", "Nicola, Davies and Taylor", "Davies Nicola"):
        assert r.redact_text(kept, where="x") == kept


def test_the_subjects_own_name_is_not_taken_for_part_of_someone_elses() -> None:
    # Carter Jones is someone else; "Grace Carter Jones" is the subject followed by a word.
    r = redactor()

    assert r.redact_text("Grace Carter Jones", where="x") == "Grace Carter Jones"
    assert r.redact_text("Carter Jones and Grace Carter", where="x") == f"{NAME} and Grace Carter"


def test_a_payload_key_that_is_another_persons_staff_number_or_name_is_withheld() -> None:
    r = redactor()
    payload = {
        "approvals": {
            "773812": "approved",
            "Nicola Davies": "approved",
            "102139": "refused",
            "Grace Carter": "her own",
            "hours": 8,
        },
        "by_person": {"773812": "PER-0000001"},
    }

    out = r.redact_payload(payload, where="Flag 1")

    # One marker per key, numbered where two would be the same, so that no value is lost.
    assert out == {
        "approvals": {
            STAFF_NUMBER: "approved",
            NAME: "approved",
            f"{STAFF_NUMBER} (2)": "refused",
            "Grace Carter": "her own",
            "hours": 8,
        },
        "by_person": {STAFF_NUMBER: RECORD},
    }
    # The rows the pack prints are labelled by the markers, never by the keys withheld.
    labels = " ".join(label for label, _text in payload_rows(out))
    assert "773812" not in labels
    assert "102139" not in labels
    assert "Nicola Davies" not in labels
    assert [(entry.where, entry.kind, entry.count) for entry in r.log] == [
        (f"Flag 1, field approvals.{NAME}", Kind.NAME, 1),
        (f"Flag 1, field approvals.{STAFF_NUMBER}", Kind.STAFF_NUMBER, 1),
        (f"Flag 1, field approvals.{STAFF_NUMBER} (2)", Kind.STAFF_NUMBER, 1),
        (f"Flag 1, field by_person.{STAFF_NUMBER}", Kind.RECORD_REFERENCE, 1),
        (f"Flag 1, field by_person.{STAFF_NUMBER}", Kind.STAFF_NUMBER, 1),
    ]


def test_a_withheld_key_is_numbered_past_a_key_already_named_like_its_marker() -> None:
    r = redactor()

    out = r.redact_payload({STAFF_NUMBER: 1, "773812": 2, "102139": 3}, where="Flag 1")

    assert out == {STAFF_NUMBER: 1, f"{STAFF_NUMBER} (2)": 2, f"{STAFF_NUMBER} (3)": 3}


def test_under_a_third_partys_key_a_key_that_is_not_a_field_name_is_withheld() -> None:
    r = redactor()

    out = r.redact_payload(
        {"witness_statements": {"Mary Public": "Saw it", "2": "Heard it", "taken_on": "today"}},
        where="Flag 2",
    )

    assert out == {
        "witness_statements": {THIRD_PARTY: THIRD_PARTY, f"{THIRD_PARTY} (2)": THIRD_PARTY,
                               "taken_on": THIRD_PARTY},
    }  # fmt: skip
    assert "Mary Public" not in json.dumps([entry.where for entry in r.log])


@pytest.mark.parametrize(
    "key", ["witnesses", "victims", "suspects", "complainants", "callers", "informants"]
)
def test_a_key_naming_third_parties_in_the_plural_withholds_everything_under_it(
    key: str,
) -> None:
    r = redactor()

    out = r.redact_payload(
        {key: [{"name": "Mary Public", "address": "1 High Street"}], "hours": 8}, where="Flag 2"
    )

    assert out == {key: [{"name": THIRD_PARTY, "address": THIRD_PARTY}], "hours": 8}
    assert r.redact_payload({key: "Mary Public, 1 High Street"}, where="Flag 3") == {
        key: THIRD_PARTY
    }


@pytest.mark.parametrize(
    "key", ["officers", "approvers", "reviewers", "supervisors", "staff_numbers", "people"]
)
def test_a_number_is_a_staff_number_where_the_key_names_people_in_the_plural(key: str) -> None:
    r = redactor()

    assert r.redact_payload({key: [773812, 102139, 5]}, where="Flag 1") == {
        key: [STAFF_NUMBER, STAFF_NUMBER, 5]
    }
    assert [(entry.where, entry.kind, entry.count) for entry in r.log] == [
        (f"Flag 1, field {key}[1]", Kind.STAFF_NUMBER, 1),
        (f"Flag 1, field {key}[2]", Kind.STAFF_NUMBER, 1),
    ]


def test_what_is_nested_under_a_persons_key_is_still_theirs() -> None:
    r = redactor()
    payload = {
        "authorised_by": {"id": 773812, "grade": {"collar": 102139}, "hours": 8},
        "claim": {"hours": 773812},
        "record_ref": {"system": "PNC", "id": "1770072"},
    }

    assert r.redact_payload(payload, where="Flag 1") == {
        "authorised_by": {"id": STAFF_NUMBER, "grade": {"collar": STAFF_NUMBER}, "hours": 8},
        # Not under a person's key: the hours are kept whatever they equal.
        "claim": {"hours": 773812},
        "record_ref": {"system": RECORD, "id": RECORD},
    }


# --- a flag's factors ---------------------------------------------------------------------------


def test_a_flags_factors_are_redacted_as_the_values_of_fields_they_name() -> None:
    r = redactor()
    flag = Flag(
        pk=12,
        factors=[
            {"name": "peer_z", "value": 4.1, "weight": 0.7},
            {"name": "authorised_by", "value": "773812", "weight": 0.0},
            {"name": "authorised_by", "value": 102139, "weight": 0.1},
            {"name": "note", "value": "Checked with Nicola Davies, PER-0000001", "weight": 0.0},
            {"name": "773812", "value": 3, "weight": 0.2},
            {"name": "witness", "value": "Mary Public", "weight": 0.0},
            "Katie Taylor agreed",
        ],
    )

    assert redact_factors(flag, r) == [
        {"name": "peer_z", "value": 4.1, "weight": 0.7},
        {"name": "authorised_by", "value": STAFF_NUMBER, "weight": 0.0},
        {"name": "authorised_by", "value": STAFF_NUMBER, "weight": 0.1},
        {"name": "note", "value": f"Checked with {NAME}, {RECORD}", "weight": 0.0},
        {"name": STAFF_NUMBER, "value": 3, "weight": 0.2},
        {"name": "witness", "value": THIRD_PARTY, "weight": 0.0},
        f"{NAME} agreed",
    ]
    # The flag's own factors are left as they were.
    assert flag.factors[1]["value"] == "773812"
    assert [(entry.where, entry.kind) for entry in r.log] == [
        ("Flag 12, factor 2, field authorised_by", Kind.STAFF_NUMBER),
        ("Flag 12, factor 3, field authorised_by", Kind.STAFF_NUMBER),
        ("Flag 12, factor 4, field note", Kind.RECORD_REFERENCE),
        ("Flag 12, factor 4, field note", Kind.NAME),
        (f"Flag 12, factor 5, field {STAFF_NUMBER}", Kind.STAFF_NUMBER),
        ("Flag 12, factor 6, field witness", Kind.THIRD_PARTY),
        ("Flag 12, factor 7", Kind.NAME),
    ]


# --- the log ------------------------------------------------------------------------------------


def test_the_markers_say_what_kind_of_thing_was_withheld() -> None:
    assert [marker(kind) for kind in Kind] == [
        "[redacted: another person's staff number]",
        "[redacted: another person's name]",
        "[redacted: a third party's record reference]",
        "[redacted: details of a third party]",
    ]


def test_the_log_is_ordered_by_place_then_kind_with_a_count_for_each() -> None:
    r = redactor()
    r.redact_text("Nicola Davies and 773812", where="Flag 12, explanation")
    r.redact_text("773812 and PER-0000001", where="Flag 9, explanation")
    r.redact_text("Nicola Davies; Katie Taylor", where="Flag 12, explanation")
    r.redact_text("by 102139", where="Access log")
    r.redact_payload({"record_ref": "X"}, where="Flag 100")

    assert [(entry.where, entry.kind, entry.count) for entry in r.log] == [
        ("Access log", Kind.STAFF_NUMBER, 1),
        ("Flag 9, explanation", Kind.RECORD_REFERENCE, 1),
        ("Flag 9, explanation", Kind.STAFF_NUMBER, 1),
        ("Flag 12, explanation", Kind.NAME, 3),
        ("Flag 12, explanation", Kind.STAFF_NUMBER, 1),
        ("Flag 100, field record_ref", Kind.RECORD_REFERENCE, 1),
    ]


def test_the_log_gives_the_grounds_without_claiming_more() -> None:
    for kind in Kind:
        why = WHY[kind]
        assert "UK GDPR Article 15(4)" in why
        assert "Data Protection Act 2018, Schedule 2, paragraph 16" in why
        assert "unless they consent or it is reasonable to disclose it without their consent" in (
            why
        )
        assert "must be withheld" not in why
    assert WHY[Kind.STAFF_NUMBER] == (
        "A staff number identifies another member of the workforce. Withheld as personal data "
        "of someone other than the person this pack is about: a copy of a person's data must "
        "not adversely affect the rights and freedoms of others (UK GDPR Article 15(4)), and "
        "the Data Protection Act 2018, Schedule 2, paragraph 16 does not oblige a controller "
        "to disclose information relating to another individual who can be identified from "
        "it, unless they consent or it is reasonable to disclose it without their consent."
    )


def test_the_log_never_includes_what_was_withheld() -> None:
    r = redactor()
    withheld = ["773812", "102139", "Nicola Davies", "PER-0989904", "VEH-1770072"]
    r.redact_text(
        "Nicola Davies (773812) looked up PER-0989904 and VEH-1770072 for 102139",
        # A careless caller names the place by what is in it: the log still does not repeat it.
        where="Flag 3, evidence record it-access-audit PER-0989904, Nicola Davies",
    )
    r.redact_payload(
        {"authorised_by": 102139, "record_ref": "VEH-1770072", "complainant": "Alex Moor"},
        where="Flag 4",
    )

    text = json.dumps([[entry.where, str(entry.kind), entry.why] for entry in r.log])
    assert r.log
    for value in [*withheld, "Alex Moor"]:
        assert value not in text


def test_the_same_input_gives_the_same_output_and_log() -> None:
    inputs = [
        claim("773812"),
        lookup("person", "PER-0989904"),
        claim("102139", hours=9),
        lookup("vehicle", "VEH-1770072", system="PNC"),
    ]

    def run(register: list[tuple[str, str]]) -> tuple[list[Any], list[Redaction]]:
        r = redactor(register)
        out = [
            (
                r.redact_payload(e["payload"], where=where_of(e)),
                r.redact_text(e["summary"], where=f"{where_of(e)}, summary"),
            )
            for e in inputs
        ]
        return out, r.log

    shuffled = list(REGISTER)
    random.Random(7).shuffle(shuffled)
    assert run(REGISTER) == run(REGISTER) == run(shuffled)


# --- a property over random payloads ------------------------------------------------------------

FIRST = ["Amira", "Ben", "Chen", "Dylan", "Eve", "Femi", "Gita", "Huw"]
LAST = ["Ashby", "Bello", "Cross", "Dunn", "Evans", "Flynn", "Gill", "Hart"]
PERSON_KEYS = ["authorised_by", "officer", "approvedBy", "line_manager", "officers", "approvers"]
OTHER_KEYS = ["hours", "reason", "note", "claim_type", "items", "detail"]
FILLER = ["claim", "rest day", "8.5", "hours", "2026-01-16", "by", "the"]
SEPARATORS = [" ", ", ", "; ", " (", ") ", ": ", "\n", ". ", "/", "_"]


@st.composite
def registers(draw: st.DrawFn) -> list[tuple[str, str]]:
    numbers = draw(st.lists(st.integers(100_000, 999_999), min_size=2, max_size=30, unique=True))
    names = [f"{draw(st.sampled_from(FIRST))} {draw(st.sampled_from(LAST))}" for _ in numbers]
    return [(str(n), name) for n, name in zip(numbers, names, strict=True)]


def texts(register: list[tuple[str, str]]) -> st.SearchStrategy[str]:
    word = st.sampled_from([part for person in register for part in person] + FILLER)
    return st.lists(st.tuples(word, st.sampled_from(SEPARATORS)), max_size=8).map(
        lambda parts: "".join(w + s for w, s in parts)
    )


def payloads(register: list[tuple[str, str]]) -> st.SearchStrategy[Any]:
    numbers = [int(number) for number, _ in register]
    person_value = st.one_of(st.sampled_from(numbers), texts(register), st.none())
    other_value = st.one_of(
        texts(register), st.integers(0, 99_999), st.floats(0, 24), st.booleans()
    )
    # Keys that are people's staff numbers or names, as a source keying its values by person.
    people_keys = st.sampled_from([part for person in register for part in person])
    leaf_dict = (
        st.dictionaries(st.sampled_from(PERSON_KEYS), person_value, max_size=3)
        | st.dictionaries(st.sampled_from(OTHER_KEYS), other_value, max_size=3)
        | st.dictionaries(people_keys, other_value, max_size=3)
    )
    return st.recursive(
        leaf_dict,
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(st.sampled_from(OTHER_KEYS + PERSON_KEYS), inner, max_size=3)
        ),
        max_leaves=12,
    )


def whole(pattern: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![0-9A-Za-z]){pattern}(?![0-9A-Za-z])", re.IGNORECASE)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), register=registers())
def test_no_other_persons_staff_number_survives_a_random_payload(
    data: st.DataObject, register: list[tuple[str, str]]
) -> None:
    own_number, own_name = register[0]
    payload = data.draw(payloads(register))
    r = Redactor(own_staff_number=own_number, own_name=own_name, register=register)

    out = r.redact_payload(payload, where="Flag 1, evidence record payroll-overtime OT-1")

    written = json.dumps(out)
    places = json.dumps([entry.where for entry in r.log])
    for number, name in register[1:]:
        assert not whole(number).search(written)
        assert number not in places
        if name != own_name:
            assert not whole(name.replace(" ", r"\s+")).search(written)
    # The subject's own staff number is never withheld.
    assert len(whole(own_number).findall(written)) == len(
        whole(own_number).findall(json.dumps(payload))
    )
    # What is withheld once is gone: a second pass finds nothing more.
    again = Redactor(own_staff_number=own_number, own_name=own_name, register=register)
    assert again.redact_payload(out, where="again") == out
    assert again.log == []


# --- the register, from the database --------------------------------------------------------


@pytest.mark.django_db
def test_for_subject_withholds_the_register_but_the_subject_and_the_officials() -> None:
    subject = SubjectFactory.create(staff_number="100001", name="Grace Carter")
    SubjectFactory.create(staff_number="773812", name="Nicola Davies")
    reviewer = UserFactory.create(username="k.owen")
    SubjectFactory.create(staff_number="555001", name="Karen Owen", user=reviewer)
    SubjectFactory.create(staff_number="555002", name="Other Owen", user=UserFactory.create())

    r = Redactor.for_subject(subject, officials=[reviewer.pk])

    text = "Grace Carter 100001, Nicola Davies 773812, Karen Owen 555001, Other Owen 555002"
    assert r.redact_text(text, where="x") == (
        f"Grace Carter 100001, {NAME} {STAFF_NUMBER}, Karen Owen {STAFF_NUMBER}, "
        f"{NAME} {STAFF_NUMBER}"
    )


REGISTER_SIZE = 46_000


def letters(n: int) -> str:
    """A different run of letters for each number: names stay names (no digits) and unique."""
    word = ""
    while True:
        n, digit = divmod(n, 26)
        word += chr(ord("a") + digit)
        if n == 0:
            return word


@pytest.mark.django_db
def test_a_46000_person_register_is_read_in_one_query_and_redacting_reads_nothing(
    django_assert_num_queries: Any,
) -> None:
    rng = random.Random(46)
    numbers = rng.sample(range(100_000, 1_000_000), REGISTER_SIZE)
    Subject.objects.bulk_create(
        (
            Subject(
                staff_number=str(number),
                name=f"{FIRST[i % 8]} {LAST[i // 8 % 8]}{letters(i)}",
                rank="constable",
                role="Response officer",
                unit="North Response",
                working_pattern="full_time",
                employment_type="officer",
            )
            for i, number in enumerate(numbers)
        ),
        batch_size=5_000,
    )
    subject = Subject.objects.get(staff_number=str(numbers[0]))
    other = Subject.objects.get(staff_number=str(numbers[-1]))

    with django_assert_num_queries(1):
        r = Redactor.for_subject(subject, officials=[])
        for n in range(200):
            evidence = claim(authorised_by=str(numbers[n]))
            payload = r.redact_payload(evidence["payload"], where=f"Flag {n}")
            r.redact_text(f"{evidence['summary']}; seen by {other.name}", where=f"Flag {n}")

    assert payload["authorised_by"] == STAFF_NUMBER
    assert len(r.log) == 199 * 2 + 1  # claim 0 was authorised by the subject themselves

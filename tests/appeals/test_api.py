"""The appeals API (appeals/api/): /me/, /records/{id}/, /representations/ and /challenges/, with
the same rules as the services and selectors they call, and every refusal in the one error
shape."""

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.roles import actor_for
from accounts.services import create_user, issue_personal_token
from appeals import services
from appeals.models import Challenge, ChallengeStatus, Representation, RepresentationStatus
from appeals.selectors import NO_SUCH_RECORD, no_such_challenge
from audit.access import Shown, record_access
from audit.actors import SYSTEM_USERNAME, Role, system_actor
from audit.models import AccessEvent, AuditEvent
from casework.models import Case, CaseStatus
from flags.models import EvidenceRecord, EvidenceStatus
from tests.appeals.conftest import Clients, World, flagged_subject, overtime_flags
from tests.factories import TODAY, EvidenceItemFactory
from tests.ingest_client import client_for
from tests.test_api_schema import answers_as_documented

GROUNDS = "I was on annual leave that week; the claim was never made by me."
REASONS = "The payroll extract shows the claim belongs to another officer with the same initials."


def grant(world: World, username: str = "fay.flagged", *, days: int = 30, **extra: Any) -> int:
    """A live grant from ``username`` to rhea.rep, made and accepted through the services."""
    user = User.objects.get(username=username)
    made = services.grant_representation(
        actor=actor_for(user),
        representative="rhea.rep",
        case_id=extra.get("case_id"),
        expires_on=TODAY + timedelta(days=days),
    )
    services.accept_representation(made.pk, actor=world.actor("rhea.rep"))
    return made.pk


def file_json(client: APIClient, **fields: Any) -> Any:
    return client.post("/api/v1/challenges/", fields, format="json")


def inaccurate(world: World, record: EvidenceRecord | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "kind": "inaccurate",
        "evidence": (record or world.records[0]).pk,
        "grounds": GROUNDS,
        "proposed_correction": "No overtime claimed in that week.",
        **extra,
    }


def act(client: APIClient, challenge_id: int, action: str, **fields: Any) -> Any:
    return client.post(
        f"/api/v1/challenges/{challenge_id}/transitions/",
        {"action": action, **fields},
        format="json",
    )


def filed(world: World, api: Clients) -> int:
    response = file_json(api("fay.flagged"), **inaccurate(world))
    assert response.status_code == 201, response.json()
    return int(response.json()["id"])


def api_views(**filters: Any) -> list[tuple[str, str, int | None, str]]:
    return list(
        AccessEvent.objects.filter(channel="api", **filters)
        .order_by("pk")
        .values_list("username", "object_type", "on_behalf_of_user_id", "view")
    )


# --- /me/ ----------------------------------------------------------------------------------------


def test_fay_reads_her_whole_record_and_the_read_is_logged(world: World, api: Clients) -> None:
    record_access(
        [Shown(world.subject.pk, "casework.case", world.case.pk)],
        actor=world.actor("rita.reviewer"),
        channel="page",
        view="case-page",
        purpose="case review",
    )

    response = api("fay.flagged").get("/api/v1/me/")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["username"], body["role"], body["represents"]) == ("fay.flagged", "subject", [])
    record = body["record"]
    assert record["subject"]["staff_number"] == world.subject.staff_number
    assert (record["representing"], record["whole_record"]) == (False, True)
    assert {flag["id"] for flag in record["flags"]} == {flag.pk for flag in world.flags}
    evidence = [item for flag in record["flags"] for item in flag["evidence"]]
    assert {item["id"] for item in evidence} == {r.pk for r in world.records}
    assert all(item["stands"] and item["status"] == "as_received" for item in evidence)
    assert all(flag["cases"] == [world.case.pk] for flag in record["flags"])
    [case] = record["cases"]
    assert case["id"] == world.case.pk
    assert case["why_opened"] == world.case.trace["summary"]
    assert [c["category"] for c in case["categories"]] == ["overtime_fraud"]
    assert [n["kind"] for n in case["notices"]] == ["case_opened"]
    [view] = record["access_log"]["results"]
    assert (view["username"], view["role"], view["view"]) == (
        "rita.reviewer",
        "reviewer",
        "case-page",
    )
    assert api_views() == [("fay.flagged", "flags.subject", None, "get_my_record")]


def test_decisions_show_who_in_what_role_and_why(world: World, api: Clients) -> None:
    services.file_challenge(
        services.ChallengeRequest(
            kind="inaccurate",
            evidence=world.records[0].pk,
            grounds=GROUNDS,
            proposed_correction="None.",
        ),
        actor=world.as_fay,
    )

    [case] = api("fay.flagged").get("/api/v1/me/").json()["record"]["cases"]

    [hold] = case["decisions"]
    assert (hold["kind"], hold["made_by"], hold["role"]) == ("hold", SYSTEM_USERNAME, "system")
    assert hold["status_before"] == "open" and hold["status_after"] == "on_hold"
    assert "Challenge" in hold["rationale"] and hold["on_behalf_of"] is None


def test_the_access_log_is_paged_newest_first(world: World, api: Clients) -> None:
    for number in range(30):
        record_access(
            [Shown(world.subject.pk, "casework.case", world.case.pk)],
            actor=world.actor("rita.reviewer"),
            channel="page",
            view=f"view-{number}",
            purpose="case review",
        )
    client = api("fay.flagged")

    first = client.get("/api/v1/me/").json()["record"]["access_log"]
    second = client.get(first["next"]).json()["record"]["access_log"]

    assert first["count"] == 30 and first["previous"] is None
    assert [v["view"] for v in first["results"]][:2] == ["view-29", "view-28"]
    assert len(first["results"]) == 25
    assert first["next"].endswith("/api/v1/me/?access_page=2")
    # Fay's own first read is now the newest entry, and pushed one onto the second page.
    assert second["count"] == 31
    assert [v["view"] for v in second["results"]] == [f"view-{n}" for n in range(5, -1, -1)]
    assert second["next"] is None and second["previous"].endswith("/api/v1/me/")
    past = client.get("/api/v1/me/?access_page=3")
    assert (past.status_code, past.json()["error"]) == (404, "not_found")
    bad = client.get("/api/v1/me/?access_page=0")
    assert (bad.status_code, bad.json()["error"]) == (400, "invalid_query")
    assert list(bad.json()["fields"]) == ["access_page"]


def test_someone_with_no_record_and_no_grants_is_told_there_is_none(world: World) -> None:
    olga = create_user("olga.oversight", role=Role.OVERSIGHT, actor=system_actor())
    token = issue_personal_token(olga, actor=actor_for(world.people["alan.admin"])).token

    response = client_for(token).get("/api/v1/me/")

    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "detail": NO_SUCH_RECORD}


def test_no_token_no_role_and_a_detectors_token_are_refused(
    world: World, detector_client: APIClient
) -> None:
    assert APIClient().get("/api/v1/me/").status_code == 401
    otto = world.people["otto.outsider"]
    token = issue_personal_token(otto, actor=actor_for(world.people["alan.admin"])).token
    no_role = client_for(token).get("/api/v1/challenges/")
    assert (no_role.status_code, no_role.json()["error"]) == (403, "no_role")
    detector = detector_client.get("/api/v1/me/")
    assert (detector.status_code, detector.json()["error"]) == (403, "permission_denied")


def test_a_deferred_case_is_absent_until_its_notice_is_sent(
    world: World, api: Clients, detector_client: Any, settings: Any
) -> None:
    settings.SUBJECT_NOTICE_DELAY_HOURS = 24
    hal = flagged_subject("hal.hidden")
    overtime_flags(
        detector_client,
        hal.subject,
        [[EvidenceItemFactory.create()], [EvidenceItemFactory.create()]],
    )

    record = api("hal.hidden").get("/api/v1/me/").json()["record"]

    assert (record["cases"], record["flags"], record["challenges"]) == ([], [], [])
    assert Case.objects.filter(subject=hal.subject).exists()


# --- a representative ----------------------------------------------------------------------------


def test_a_representative_sees_whom_they_represent_and_what_waits_for_them(
    world: World, api: Clients, gus: User
) -> None:
    live = grant(world)
    pending = services.grant_representation(
        actor=actor_for(gus),
        representative="rhea.rep",
        case_id=None,
        expires_on=TODAY + timedelta(days=10),
    )

    body = api("rhea.rep").get("/api/v1/me/").json()

    [represented] = body["represents"]
    assert represented["subject"] == {
        "id": world.subject.pk,
        "staff_number": world.subject.staff_number,
        "name": world.subject.name,
    }
    assert (represented["grant"], represented["scope"], represented["case"]) == (
        live,
        "all_cases",
        None,
    )
    assert represented["record"].endswith(f"/api/v1/records/{world.subject.pk}/")
    assert [g["id"] for g in body["pending_grants"]] == [pending.pk]
    # Fay's name was shown on her behalf, Gus's by the representative alone (not yet accepted).
    assert set(
        AccessEvent.objects.filter(object_type="appeals.representation").values_list(
            "subject_id", "on_behalf_of_user_id"
        )
    ) == {(world.subject.pk, world.fay.pk), (gus.subject.pk, None)}


def test_a_representative_reads_the_record_on_the_persons_behalf(
    world: World, api: Clients
) -> None:
    grant(world)

    response = api("rhea.rep").get(f"/api/v1/records/{world.subject.pk}/")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["representing"], body["whole_record"]) == (True, True)
    assert [case["id"] for case in body["cases"]] == [world.case.pk]
    assert api_views() == [("rhea.rep", "flags.subject", world.fay.pk, "get_record")]
    # Fay sees the representative's read, marked as done for her.
    log = api("fay.flagged").get("/api/v1/me/").json()["record"]["access_log"]["results"]
    assert (log[0]["username"], log[0]["on_behalf_of"]) == ("rhea.rep", "fay.flagged")


def test_no_grant_a_pending_grant_and_no_such_person_answer_alike(
    world: World, api: Clients
) -> None:
    rhea = api("rhea.rep")
    missing = rhea.get("/api/v1/records/999999/")
    without = rhea.get(f"/api/v1/records/{world.subject.pk}/")
    services.grant_representation(
        actor=world.as_fay, representative="rhea.rep", case_id=None, expires_on=TODAY + timedelta(9)
    )
    pending = rhea.get(f"/api/v1/records/{world.subject.pk}/")
    too_big = rhea.get(f"/api/v1/records/{2**70}/")

    assert missing.status_code == without.status_code == pending.status_code == 404
    assert missing.json() == without.json() == pending.json() == too_big.json()
    assert missing.json()["detail"] == NO_SUCH_RECORD
    assert not AccessEvent.objects.filter(channel="api").exists()


def test_an_expiry_between_two_requests_takes_effect_at_once(
    world: World, api: Clients, time_machine: Any
) -> None:
    grant(world, days=3)
    challenge = filed(world, api)
    rhea = api("rhea.rep")
    assert rhea.get(f"/api/v1/records/{world.subject.pk}/").status_code == 200
    assert rhea.get(f"/api/v1/challenges/{challenge}/").status_code == 200

    time_machine.move_to(TODAY + timedelta(days=5), tick=False)

    # The same token; the sweep that records the expiry has not run.
    assert Representation.objects.get().status == RepresentationStatus.ACTIVE
    record = rhea.get(f"/api/v1/records/{world.subject.pk}/")
    assert (record.status_code, record.json()["detail"]) == (404, NO_SUCH_RECORD)
    hidden = rhea.get(f"/api/v1/challenges/{challenge}/")
    assert hidden.json() == {"error": "not_found", "detail": no_such_challenge(challenge)}
    assert rhea.get("/api/v1/challenges/?status=all").json()["count"] == 0
    refused = file_json(rhea, **inaccurate(world, world.records[1], subject=world.subject.pk))
    assert (refused.status_code, refused.json()["detail"]) == (404, NO_SUCH_RECORD)


def test_a_revoked_grant_refuses_the_next_request(world: World, api: Clients) -> None:
    live = grant(world)
    rhea = api("rhea.rep")
    assert rhea.get(f"/api/v1/records/{world.subject.pk}/").status_code == 200

    revoked = api("fay.flagged").post(
        f"/api/v1/representations/{live}/transitions/", {"action": "revoke"}, format="json"
    )

    assert (revoked.status_code, revoked.json()["status"]) == (200, "revoked")
    assert rhea.get(f"/api/v1/records/{world.subject.pk}/").status_code == 404
    assert rhea.get("/api/v1/me/").json()["represents"] == []


def test_a_representative_of_two_people_never_sees_one_under_the_others_id(
    world: World, api: Clients, gus: User
) -> None:
    grant(world)
    grant(world, "gus.grey")
    rhea = api("rhea.rep")
    gus_records = list(EvidenceRecord.objects.filter(flags__subject=gus.subject))

    fays = rhea.get(f"/api/v1/records/{world.subject.pk}/")

    text = fays.content.decode()
    assert fays.status_code == 200
    assert gus.subject.staff_number not in text and gus.subject.name not in text
    assert all(f'"record_id":"{r.record_id}"' not in text for r in gus_records)
    assert {case["id"] for case in fays.json()["cases"]} == {world.case.pk}
    # Gus's record cannot be challenged as Fay's, nor Fay's as Gus's.
    as_fays = file_json(rhea, **inaccurate(world, gus_records[0], subject=world.subject.pk))
    as_guss = file_json(rhea, **inaccurate(world, world.records[0], subject=gus.subject.pk))
    missing = file_json(rhea, **inaccurate(world, subject=world.subject.pk) | {"evidence": 999999})
    assert as_fays.status_code == as_guss.status_code == 404
    assert (
        as_fays.json()["detail"]
        == f"There is no evidence record {gus_records[0].pk} that you may challenge."
    )
    assert missing.json()["detail"] == "There is no evidence record 999999 that you may challenge."
    assert not Challenge.objects.exists()
    # Each read is logged against the one person it showed, on their behalf.
    assert set(
        AccessEvent.objects.filter(view="get_record").values_list(
            "subject_id", "on_behalf_of_user_id"
        )
    ) == {(world.subject.pk, world.fay.pk)}


def test_a_one_case_grant_shows_only_that_case(world: World, api: Clients, gus: User) -> None:
    grant(world, case_id=world.case.pk)

    body = api("rhea.rep").get(f"/api/v1/records/{world.subject.pk}/").json()

    assert body["whole_record"] is False
    assert [case["id"] for case in body["cases"]] == [world.case.pk]
    assert api_views() == [("rhea.rep", "casework.case", world.fay.pk, "get_record")]


# --- /representations/ ---------------------------------------------------------------------------


def test_fay_appoints_rhea_who_accepts(world: World, api: Clients) -> None:
    fay, rhea = api("fay.flagged"), api("rhea.rep")
    expires_on = (TODAY + timedelta(days=60)).isoformat()

    made = fay.post(
        "/api/v1/representations/",
        {"representative": "rhea.rep", "case": None, "expires_on": expires_on},
        format="json",
    )

    assert made.status_code == 201, made.json()
    grant_id = made.json()["id"]
    assert (made.json()["status"], made.json()["live"], made.json()["scope"]) == (
        "pending",
        False,
        "all_cases",
    )
    assert [g["id"] for g in rhea.get("/api/v1/me/").json()["pending_grants"]] == [grant_id]
    accepted = rhea.post(
        f"/api/v1/representations/{grant_id}/transitions/", {"action": "accept"}, format="json"
    )
    assert (accepted.status_code, accepted.json()["status"]) == (200, "active")
    assert accepted.json()["live"] is True
    lists = fay.get("/api/v1/representations/").json()
    assert [g["id"] for g in lists["made"]] == [grant_id] and lists["received"] == []
    assert [g["id"] for g in rhea.get("/api/v1/representations/").json()["received"]] == [grant_id]
    actions = AuditEvent.objects.filter(action__startswith="representation.").values_list(
        "action", "actor_username"
    )
    assert list(actions) == [
        ("representation.granted", "fay.flagged"),
        ("representation.accepted", "rhea.rep"),
    ]


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"representative": "nobody", "expires_on": "2026-07-01"}, {"representative"}),
        ({"representative": "rita.reviewer", "expires_on": "2026-07-01"}, {"representative"}),
        ({"representative": "rhea.rep", "expires_on": "2026-06-15"}, {"expires_on"}),
        ({"representative": "rhea.rep", "expires_on": "2028-01-01"}, {"expires_on"}),
        ({"representative": "rhea.rep", "expires_on": "soon"}, {"expires_on"}),
        ({"representative": "rhea.rep"}, {"expires_on"}),
        ({"representative": "rhea.rep", "expires_on": "2026-07-01", "case": 999999}, {"case"}),
        ({"representative": "rhea.rep", "expires_on": "2026-07-01", "case": 2**70}, {"case"}),
    ],
)
def test_a_grant_that_cannot_be_made_is_a_422_naming_the_field(
    world: World, api: Clients, body: dict[str, Any], fields: set[str]
) -> None:
    response = api("fay.flagged").post("/api/v1/representations/", body, format="json")

    assert response.status_code == 422, response.json()
    assert response.json()["error"] == "invalid"
    assert set(response.json()["fields"]) == fields
    assert not Representation.objects.exists()


def test_grant_refusals(world: World, api: Clients) -> None:
    fay, rhea = api("fay.flagged"), api("rhea.rep")
    body = {"representative": "rhea.rep", "expires_on": "2026-07-01"}
    grant_id = fay.post("/api/v1/representations/", body, format="json").json()["id"]
    url = f"/api/v1/representations/{grant_id}/transitions/"

    again = fay.post("/api/v1/representations/", body, format="json")
    assert (again.status_code, again.json()["error"]) == (409, "refused")
    assert f"grant {grant_id}" in again.json()["detail"]
    # Fay cannot accept her own grant; it answers as a grant that does not exist.
    hers = fay.post(url, {"action": "accept"}, format="json")
    missing = rhea.post(
        "/api/v1/representations/999999/transitions/", {"action": "accept"}, format="json"
    )
    assert hers.status_code == missing.status_code == 404
    assert hers.json()["detail"] == f"There is no grant {grant_id} that you may change."
    assert rhea.post(url, {"action": "decline"}, format="json").json()["status"] == "declined"
    twice = rhea.post(url, {"action": "accept"}, format="json")
    assert (twice.status_code, twice.json()["error"]) == (409, "refused")
    revoke = fay.post(url, {"action": "revoke"}, format="json")
    assert (revoke.status_code, revoke.json()["error"]) == (409, "refused")
    unknown = rhea.post(url, {"action": "promote"}, format="json")
    assert (unknown.status_code, list(unknown.json()["fields"])) == (422, ["action"])
    assert rhea.post(url, "{", content_type="application/json").status_code == 400
    form = rhea.post(url, "action=accept", content_type="application/x-www-form-urlencoded")
    assert (form.status_code, form.json()["error"]) == (415, "unsupported_media_type")


def test_a_representative_with_no_record_of_their_own_appoints_no_one_and_must_name_whom(
    world: World,
) -> None:
    rex = create_user("rex.rep", role=Role.REPRESENTATIVE, actor=system_actor())
    token = issue_personal_token(rex, actor=actor_for(world.people["alan.admin"])).token
    client = client_for(token)

    appointed = client.post(
        "/api/v1/representations/",
        {"representative": "rhea.rep", "expires_on": "2026-07-01"},
        format="json",
    )
    nameless = file_json(client, **inaccurate(world))

    assert (appointed.status_code, appointed.json()["detail"]) == (404, NO_SUCH_RECORD)
    assert (nameless.status_code, list(nameless.json()["fields"])) == (422, ["subject"])
    assert rex.get_username() in client.get("/api/v1/me/").json()["username"]


# --- /challenges/ --------------------------------------------------------------------------------


def test_fay_files_a_challenge_and_it_holds_her_case(world: World, api: Clients) -> None:
    response = file_json(api("fay.flagged"), **inaccurate(world))

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["kind"], body["status"], body["filed_by"], body["on_behalf_of"]) == (
        "inaccurate",
        "submitted",
        "fay.flagged",
        None,
    )
    assert body["evidence"]["id"] == world.records[0].pk and body["case"] == world.case.pk
    assert body["deadlines"]["acknowledge"] == {
        "due_on": "2026-06-22",
        "done_at": None,
        "met": None,
    }
    assert body["deadlines"]["decide_escalation"] is None and body["attachments"] == []
    world.refresh()
    assert world.records[0].status == EvidenceStatus.DISPUTED
    assert world.case.status == CaseStatus.ON_HOLD
    assert api_views() == [("fay.flagged", "appeals.challenge", None, "file_challenge")]


def test_a_representative_files_on_the_persons_behalf(world: World, api: Clients) -> None:
    grant(world)
    rhea = api("rhea.rep")

    nameless = file_json(rhea, **inaccurate(world))
    response = file_json(rhea, **inaccurate(world, subject=world.subject.pk))

    # Rhea has a record of her own: naming no one files against it, where Fay's record is not.
    assert (nameless.status_code, nameless.json()["detail"]) == (
        404,
        f"There is no evidence record {world.records[0].pk} that you may challenge.",
    )
    assert response.status_code == 201, response.json()
    assert (response.json()["filed_by"], response.json()["on_behalf_of"]) == (
        "rhea.rep",
        "fay.flagged",
    )
    assert api_views() == [("rhea.rep", "appeals.challenge", world.fay.pk, "file_challenge")]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"grounds": "Mostly fine\x00 but not"}, "grounds"),
        ({"grounds": "x" * 5001}, "grounds"),
        ({"grounds": "   "}, "grounds"),
        ({"grounds": "\ud800"}, "grounds"),
        ({"kind": "unhappy"}, "kind"),
        ({"kind": None}, "kind"),
        ({"proposed_correction": ""}, "proposed_correction"),
        ({"evidence": None}, "evidence"),
        ({"evidence": "twelve"}, "evidence"),
        ({"evidence": 2**64}, "evidence"),
        ({"attachments": ["statement.pdf"]}, "attachments.0"),
    ],
)
def test_a_challenge_that_cannot_be_filed_is_a_422_and_writes_nothing(
    world: World, api: Clients, change: dict[str, Any], field: str
) -> None:
    fay = api("fay.flagged")
    before = AuditEvent.objects.count()

    response = file_json(fay, **inaccurate(world) | change)

    assert response.status_code == 422, response.json()
    assert field in response.json()["fields"], response.json()
    assert not Challenge.objects.exists()
    assert AuditEvent.objects.count() == before


def test_a_second_open_challenge_on_a_record_points_to_the_first(
    world: World, api: Clients
) -> None:
    first = filed(world, api)

    second = file_json(api("fay.flagged"), **inaccurate(world))

    assert (second.status_code, second.json()["error"]) == (409, "refused")
    assert f"Challenge {first} to this is already open" in second.json()["detail"]


def test_lists_for_the_person_the_steward_and_the_senior(world: World, api: Clients) -> None:
    challenge = filed(world, api)

    mine = api("fay.flagged").get("/api/v1/challenges/").json()
    queue = api("dan.steward").get("/api/v1/challenges/").json()
    escalated = api("sam.senior").get("/api/v1/challenges/").json()
    decided = api("fay.flagged").get("/api/v1/challenges/?status=decided").json()

    assert [c["id"] for c in mine["results"]] == [challenge]
    assert [c["id"] for c in queue["results"]] == [challenge]
    assert escalated["count"] == decided["count"] == 0
    assert set(
        AccessEvent.objects.filter(view="list_challenges").values_list("username", "purpose")
    ) == {("fay.flagged", "their own record"), ("dan.steward", "challenge adjudication")}
    bad = api("fay.flagged").get("/api/v1/challenges/?status=closed&page_size=500")
    assert (bad.status_code, set(bad.json()["fields"])) == (400, {"status", "page_size"})
    past = api("fay.flagged").get("/api/v1/challenges/?page=9")
    assert past.status_code == 404


def test_another_persons_challenge_answers_as_a_missing_one(
    world: World, api: Clients, gus: User
) -> None:
    challenge = filed(world, api)
    guss = api("gus.grey")

    hidden = guss.get(f"/api/v1/challenges/{challenge}/")
    missing = guss.get("/api/v1/challenges/999999/")
    acted = act(guss, challenge, "escalate", grounds="Nothing.")

    assert hidden.status_code == missing.status_code == acted.status_code == 404
    # The words a missing challenge of that number would have: nothing tells the two apart.
    assert (
        hidden.json()
        == acted.json()
        == {
            "error": "not_found",
            "detail": no_such_challenge(challenge),
        }
    )
    assert missing.json() == {"error": "not_found", "detail": no_such_challenge(999999)}
    assert guss.get("/api/v1/challenges/?status=all").json()["count"] == 0


def test_the_steward_acknowledges_and_rejects_and_fay_escalates_once(
    world: World, api: Clients, time_machine: Any
) -> None:
    challenge = filed(world, api)
    fay, dan, sam = api("fay.flagged"), api("dan.steward"), api("sam.senior")

    undeclared = act(dan, challenge, "acknowledge")
    assert (undeclared.status_code, list(undeclared.json()["fields"])) == (
        422,
        ["no_conflict_declared"],
    )
    taken = act(dan, challenge, "acknowledge", no_conflict_declared=True)
    assert (taken.status_code, taken.json()["status"]) == (200, "acknowledged")
    assert taken.json()["deadlines"]["acknowledge"]["met"] is True
    no_reasons = act(dan, challenge, "decide", finding="rejected", no_conflict_declared=True)
    assert (no_reasons.status_code, list(no_reasons.json()["fields"])) == (422, ["reasons"])
    rejected = act(
        dan, challenge, "decide", finding="rejected", reasons=REASONS, no_conflict_declared=True
    )
    assert (rejected.status_code, rejected.json()["status"]) == (200, "rejected")
    assert rejected.json()["escalate_until"] == "2026-06-29"

    escalated = act(fay, challenge, "escalate", grounds="The steward did not read my leave record.")
    assert (escalated.status_code, escalated.json()["status"]) == (200, "escalated")
    assert escalated.json()["deadlines"]["decide_escalation"]["met"] is None
    assert [c["id"] for c in sam.get("/api/v1/challenges/").json()["results"]] == [challenge]
    final = act(
        sam,
        challenge,
        "decide_escalation",
        finding="rejected",
        reasons=REASONS,
        no_conflict_declared=True,
    )
    assert (final.status_code, final.json()["final"]) == (200, True)
    again = act(fay, challenge, "escalate", grounds="Once more.")
    assert (again.status_code, again.json()["error"]) == (409, "refused")
    assert "only once" in again.json()["detail"]


def test_an_escalation_after_the_window_is_refused(
    world: World, api: Clients, time_machine: Any
) -> None:
    challenge = filed(world, api)
    dan = api("dan.steward")
    act(dan, challenge, "acknowledge", no_conflict_declared=True)
    act(dan, challenge, "decide", finding="rejected", reasons=REASONS, no_conflict_declared=True)

    time_machine.move_to(TODAY + timedelta(days=30), tick=False)
    late = act(api("fay.flagged"), challenge, "escalate", grounds="I was away.")

    assert (late.status_code, late.json()["error"]) == (409, "refused")
    assert "ended on 29 June 2026" in late.json()["detail"]
    assert Challenge.objects.get().status == ChallengeStatus.REJECTED


def test_a_step_the_callers_role_never_takes_is_a_403(world: World, api: Clients) -> None:
    challenge = filed(world, api)

    own = act(api("fay.flagged"), challenge, "acknowledge", no_conflict_declared=True)
    steward = act(api("dan.steward"), challenge, "escalate", grounds="Why not.")
    senior = act(api("sam.senior"), challenge, "decide_escalation", finding="upheld")

    assert own.status_code == steward.status_code == 403
    assert own.json()["error"] == "permission_denied"
    assert "Only a data steward" in own.json()["detail"]
    # A senior reviewer does take that step, but not on a challenge never escalated.
    assert (senior.status_code, senior.json()["error"]) == (409, "refused")


def test_an_upheld_challenge_corrects_the_record_through_the_api(
    world: World, api: Clients
) -> None:
    challenge = filed(world, api)
    dan = api("dan.steward")
    act(dan, challenge, "acknowledge", no_conflict_declared=True)
    decide = {
        "finding": "upheld",
        "reasons": REASONS,
        "remedy": "corrected",
        "no_conflict_declared": True,
    }
    corrected = {"summary": "No overtime claimed.", "payload": {"hours": 0}}

    when = {"occurred_at": "2026-05-01T09:00:00Z"}
    too_deep: Any = 1
    for _ in range(40):
        too_deep = [too_deep]

    def decided(**correction: Any) -> Any:
        return act(dan, challenge, "decide", **decide, corrected=corrected | correction)

    naive = decided(occurred_at="2026-05-01T09:00:00")
    nul = decided(payload={"a\x00": 1}, **when)
    deep = decided(payload={"a": too_deep}, **when)
    missing = act(dan, challenge, "decide", **decide)
    assert naive.status_code == nul.status_code == deep.status_code == missing.status_code == 422
    assert list(naive.json()["fields"]) == ["corrected.occurred_at"]
    assert list(nul.json()["fields"]) == ["corrected.payload"]
    assert "nested more than 32 levels" in deep.json()["fields"]["corrected.payload"][0]
    assert list(missing.json()["fields"]) == ["corrected"]

    upheld = decided(occurred_at="2026-05-01T09:00:00+01:00")

    assert (upheld.status_code, upheld.json()["status"]) == (200, "upheld"), upheld.json()
    assert upheld.json()["evidence"]["status"] == "corrected"
    assert upheld.json()["evidence"]["payload"] == {"hours": 0}
    world.refresh()
    assert world.case.status == CaseStatus.WITHDRAWN


@pytest.mark.parametrize("path", ["", "transitions/"])
def test_a_number_too_large_for_any_row_is_a_missing_one(
    world: World, api: Clients, path: str
) -> None:
    url = f"/api/v1/challenges/{2**64}/{path}"
    client = api("dan.steward")

    response = (
        client.post(url, {"action": "acknowledge"}, format="json") if path else client.get(url)
    )

    assert (response.status_code, response.json()["detail"]) == (
        404,
        f"There is no challenge {2**64} that you may see.",
    )


# --- the schema ----------------------------------------------------------------------------------


def test_the_appeals_api_answers_exactly_as_its_schema_says(world: World, api: Clients) -> None:
    schema = APIClient().get("/api/schema/?format=json").json()
    fay, rhea, dan = api("fay.flagged"), api("rhea.rep"), api("dan.steward")
    grants = "/api/v1/representations/"
    grant_steps = "/api/v1/representations/{grant_id}/transitions/"
    challenges = "/api/v1/challenges/"
    one = "/api/v1/challenges/{challenge_id}/"
    steps = "/api/v1/challenges/{challenge_id}/transitions/"
    body = {"representative": "rhea.rep", "expires_on": "2026-07-01"}
    made = fay.post(grants, body, format="json")
    grant_url, accept = f"{grants}{made.json()['id']}/transitions/", {"action": "accept"}
    filed = file_json(fay, **inaccurate(world))
    challenge = filed.json()["id"]

    answers = [
        (grants, "post", made),
        (grants, "post", fay.post(grants, body, format="json")),
        (grants, "post", fay.post(grants, {"expires_on": "x"}, format="json")),
        (grant_steps, "post", rhea.post(grant_url, accept, format="json")),
        (grant_steps, "post", fay.post(grant_url, accept, format="json")),
        (grants, "get", rhea.get(grants)),
        ("/api/v1/me/", "get", rhea.get("/api/v1/me/")),
        ("/api/v1/me/", "get", fay.get("/api/v1/me/?access_page=x")),
        ("/api/v1/records/{subject_id}/", "get", rhea.get(f"/api/v1/records/{world.subject.pk}/")),
        ("/api/v1/records/{subject_id}/", "get", rhea.get("/api/v1/records/999999/")),
        (challenges, "post", filed),
        (challenges, "post", file_json(fay, **inaccurate(world))),
        (challenges, "post", file_json(fay, **inaccurate(world, grounds=""))),
        (challenges, "post", file_json(fay, **inaccurate(world, evidence=999999))),
        (challenges, "get", dan.get(challenges)),
        (challenges, "get", dan.get(f"{challenges}?status=x")),
        (one, "get", fay.get(f"{challenges}{challenge}/")),
        (one, "get", fay.get(f"{challenges}999999/")),
        (steps, "post", act(fay, challenge, "decide")),
        (steps, "post", act(dan, challenge, "acknowledge")),
        (steps, "post", act(dan, challenge, "acknowledge", no_conflict_declared=True)),
        (steps, "post", act(dan, challenge, "acknowledge", no_conflict_declared=True)),
        (
            steps,
            "post",
            dan.post(
                f"{challenges}{challenge}/transitions/", "[]", content_type="application/json"
            ),
        ),
    ]

    statuses = [response.status_code for _, _, response in answers]
    assert statuses == [
        201, 409, 422, 200, 404, 200, 200, 400, 200, 404,
        201, 409, 422, 404, 200, 400, 200, 404, 403, 422, 200, 409, 400,
    ]  # fmt: skip
    for path, method, response in answers:
        answers_as_documented(schema, path, method, response)


# --- cost ----------------------------------------------------------------------------------------


def test_the_record_and_the_list_cost_the_same_queries_however_much_they_hold(
    world: World, api: Clients
) -> None:
    fay, rhea = api("fay.flagged"), api("rhea.rep")
    filed(world, api)
    grant(world)
    rhea.get(f"/api/v1/records/{world.subject.pk}/")

    def queries(client: APIClient, url: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    record, listed = queries(fay, "/api/v1/me/"), queries(fay, "/api/v1/challenges/")
    file_json(fay, **inaccurate(world, world.records[1]))
    grant(world, case_id=world.case.pk)
    for _ in range(3):
        rhea.get(f"/api/v1/records/{world.subject.pk}/")

    assert queries(fay, "/api/v1/me/") == record
    assert queries(fay, "/api/v1/challenges/") == listed

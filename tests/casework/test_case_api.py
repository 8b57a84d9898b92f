"""The case API: /api/v1/cases/, /api/v1/cases/{id}/ and /api/v1/cases/{id}/transitions/."""

from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.roles import actor_for
from accounts.services import issue_personal_token
from audit.models import AccessEvent
from casework.models import Case, CaseStatus
from tests.casework.steps import signed_as_recommended
from tests.db_writes import row_counts
from tests.factories import CaseFactory, SubjectFactory
from tokens.services import revoke_token

pytestmark = pytest.mark.django_db

REASONS = "The roster shows every claimed shift was worked."


@pytest.fixture(autouse=True)
def _frozen(frozen_today: Any) -> None:
    return None


@pytest.fixture
def clients(people: dict[str, Any]) -> dict[str, APIClient]:
    made = {}
    for username, user in people.items():
        client = APIClient()
        if username != "otto.outsider":
            token = issue_personal_token(user, actor=actor_for(people["alan.admin"])).token
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        made[username] = client
    return made


@pytest.fixture
def case() -> Case:
    return CaseFactory.create(subject=SubjectFactory.create(unit="East Response", name="Pat Jones"))


def transition(client: APIClient, case: Case, action: str, **fields: Any) -> Any:
    fields = signed_as_recommended(case.pk, action, fields)
    body = {"action": action, "rationale": REASONS, "no_conflict_declared": True, **fields}
    return client.post(f"/api/v1/cases/{case.pk}/transitions/", body, format="json")


def test_the_queue_lists_live_cases_with_their_subject_and_categories(
    clients: dict[str, APIClient], case: Case
) -> None:
    CaseFactory.create(status=CaseStatus.CLOSED)

    response = clients["rita.reviewer"].get("/api/v1/cases/")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    [item] = body["results"]
    assert item["id"] == case.pk
    assert item["subject"]["name"] == "Pat Jones"
    assert item["categories"] == ["overtime_fraud"]
    assert item["status"] == "open"
    assert AccessEvent.objects.filter(subject_id=case.subject_id, view="list_cases").count() == 1


def test_the_queue_filters_by_status_category_unit_and_due_date(
    clients: dict[str, APIClient], case: Case
) -> None:
    closed = CaseFactory.create(status=CaseStatus.CLOSED)
    client = clients["rita.reviewer"]

    def ids(query: str) -> list[int]:
        response = client.get(f"/api/v1/cases/?{query}")
        assert response.status_code == 200, response.json()
        return [item["id"] for item in response.json()["results"]]

    assert ids("status=closed") == [closed.pk]
    assert sorted(ids("status=all")) == sorted([case.pk, closed.pk])
    assert ids("category=overtime_fraud") == [case.pk]
    assert ids("category=attendance") == []
    assert ids("unit=East+Response") == [case.pk]
    assert ids("due_before=2026-06-16") == []
    assert ids("due_before=2026-12-31") == [case.pk]


@pytest.mark.parametrize(
    ("query", "field"),
    [("status=shut", "status"), ("due_before=tomorrow", "due_before"), ("page_size=0", None)],
)
def test_a_bad_filter_is_a_400_naming_it(
    clients: dict[str, APIClient], query: str, field: str | None
) -> None:
    response = clients["rita.reviewer"].get(f"/api/v1/cases/?{query}")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_query"
    if field:
        assert field in response.json()["fields"]


def test_a_case_shows_its_trace_flags_decisions_and_what_the_caller_may_do(
    clients: dict[str, APIClient], case: Case
) -> None:
    response = clients["rita.reviewer"].get(f"/api/v1/cases/{case.pk}/")

    assert response.status_code == 200
    body = response.json()
    assert body["trace"] == case.trace
    [flag] = body["flags"]
    assert flag["detector_version"] == "1.0.0"
    assert flag["evidence"][0]["record_type"] == "overtime"
    steps = {step["action"]: step for step in body["next_steps"]}
    assert steps["start_review"]["available"] is True
    assert steps["defer_notification"]["available"] is False
    assert "senior reviewer" in steps["defer_notification"]["refusal"]
    assert AccessEvent.objects.filter(view="get_case", object_id=str(case.pk)).count() == 1


def test_a_case_walks_to_closed_through_the_api(clients: dict[str, APIClient], case: Case) -> None:
    assert transition(clients["rita.reviewer"], case, "start_review").status_code == 201
    response = transition(clients["rita.reviewer"], case, "recommend", outcome="no_further_action")
    assert response.status_code == 201
    assert response.json()["case"]["status"] == "awaiting_sign_off"

    response = transition(clients["ravi.reviewer"], case, "sign_off")

    assert response.status_code == 201
    body = response.json()
    assert body["decision"]["kind"] == "sign_off"
    assert body["decision"]["made_by"] == "ravi.reviewer"
    assert body["case"]["status"] == "closed"
    assert body["case"]["next_steps"] == []


def test_a_refused_action_is_a_409_with_the_reason_and_writes_nothing(
    clients: dict[str, APIClient], case: Case
) -> None:
    before = row_counts()

    response = transition(clients["rita.reviewer"], case, "sign_off")

    assert response.status_code == 409
    assert response.json()["error"] == "refused"
    assert "what can happen next: start review" in response.json()["detail"]
    assert row_counts() == before


def test_a_missing_rationale_is_a_422(clients: dict[str, APIClient], case: Case) -> None:
    response = transition(clients["rita.reviewer"], case, "start_review", rationale="ok")

    assert response.status_code == 422
    assert response.json() == {
        "error": "invalid",
        "detail": "Give your reasons in at least 20 characters.",
        "fields": {"rationale": ["Give your reasons in at least 20 characters."]},
    }


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"action", "rationale", "no_conflict_declared"}),
        ({"rationale": REASONS, "no_conflict_declared": True}, {"action"}),
        ({"action": "start_review", "no_conflict_declared": True}, {"rationale"}),
        ({"action": "start_review", "rationale": REASONS}, {"no_conflict_declared"}),
        (
            {"action": "close_quietly", "rationale": REASONS, "no_conflict_declared": True},
            {"action"},
        ),
        (
            {"action": "start_review", "rationale": REASONS, "no_conflict_declared": "maybe"},
            {"no_conflict_declared"},
        ),
        (
            {
                "action": "recommend",
                "rationale": REASONS,
                "no_conflict_declared": True,
                "outcome": "sack_them",
            },
            {"outcome"},
        ),
        (
            {
                "action": "start_review",
                "rationale": REASONS,
                "no_conflict_declared": True,
                "deferred_until": "soon",
            },
            {"deferred_until"},
        ),
    ],
)
def test_a_well_formed_body_that_fails_validation_is_a_422_naming_each_field(
    clients: dict[str, APIClient], case: Case, body: dict[str, Any], fields: set[str]
) -> None:
    before = row_counts()

    response = clients["rita.reviewer"].post(
        f"/api/v1/cases/{case.pk}/transitions/", body, format="json"
    )

    assert response.status_code == 422
    answer = response.json()
    assert answer["error"] == "invalid"
    assert set(answer["fields"]) == fields
    assert all(answer["fields"][name] for name in fields)
    assert row_counts() == before


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("", "parse_error"),
        ("{", "parse_error"),
        ("[]", "invalid_body"),
        ('"start_review"', "invalid_body"),
        ("null", "invalid_body"),
        ("[" * 60_000, "parse_error"),
        ('{"a":' * 990, "parse_error"),
    ],
    ids=["empty", "broken", "a list", "a string", "null", "deep list", "deep object"],
)
def test_a_body_that_is_not_json_or_not_an_object_is_a_400(
    clients: dict[str, APIClient], case: Case, body: str, error: str
) -> None:
    response = clients["rita.reviewer"].post(
        f"/api/v1/cases/{case.pk}/transitions/", body, content_type="application/json"
    )

    assert (response.status_code, response.json()["error"]) == (400, error)


def test_only_json_is_read(clients: dict[str, APIClient], case: Case) -> None:
    client = clients["rita.reviewer"]
    url = f"/api/v1/cases/{case.pk}/transitions/"

    form = client.post(url, {"action": "start_review"}, format="multipart")
    urlencoded = client.post(
        url, "action=start_review", content_type="application/x-www-form-urlencoded"
    )
    utf16 = client.post(
        url, '{"action": 1}'.encode("utf-16"), content_type="application/json; charset=utf-16"
    )

    assert [r.status_code for r in (form, urlencoded, utf16)] == [415, 415, 415]
    assert {r.json()["error"] for r in (form, urlencoded, utf16)} == {"unsupported_media_type"}


def test_a_body_over_64_kib_is_a_413(clients: dict[str, APIClient], case: Case) -> None:
    response = clients["rita.reviewer"].post(
        f"/api/v1/cases/{case.pk}/transitions/",
        '{"rationale": "' + "x" * 64 * 1024 + '"}',
        content_type="application/json",
    )

    assert response.status_code == 413
    assert response.json() == {
        "error": "body_too_large",
        "detail": "The body is larger than this endpoint accepts (64 KiB).",
    }


def test_a_large_body_is_refused_by_its_length_without_being_read(
    clients: dict[str, APIClient], case: Case
) -> None:
    # The test server's input refuses to give more bytes than it holds: a view that read the
    # promised 40 MB would fail, not answer 413.
    response = clients["rita.reviewer"].generic(
        "POST",
        f"/api/v1/cases/{case.pk}/transitions/",
        "{}",
        content_type="application/json",
        CONTENT_LENGTH=str(40 * 2**20),
    )

    assert response.status_code == 413


def test_a_conflicted_reviewer_gets_404_and_never_sees_the_case(
    clients: dict[str, APIClient],
) -> None:
    colleague_case = CaseFactory.create(
        subject=SubjectFactory.create(unit="Professional Standards")
    )
    client = clients["rita.reviewer"]

    assert client.get("/api/v1/cases/").json()["count"] == 0
    assert client.get(f"/api/v1/cases/{colleague_case.pk}/").status_code == 404
    response = transition(client, colleague_case, "start_review")
    assert response.status_code == 404
    assert not AccessEvent.objects.exists()


@pytest.mark.parametrize("username", ["dan.steward", "olive.oversight", "alan.admin"])
def test_other_roles_may_not_use_the_case_api(
    clients: dict[str, APIClient], case: Case, username: str
) -> None:
    client = clients[username]

    assert client.get("/api/v1/cases/").status_code == 403
    assert client.get(f"/api/v1/cases/{case.pk}/").status_code == 403
    assert transition(client, case, "start_review").status_code == 403


def test_no_token_or_a_revoked_token_is_a_401(
    clients: dict[str, APIClient], people: dict[str, Any], case: Case
) -> None:
    assert clients["otto.outsider"].get("/api/v1/cases/").status_code == 401
    issued = issue_personal_token(people["sam.senior"], actor=actor_for(people["alan.admin"]))
    revoke_token(issued.record, actor=actor_for(people["alan.admin"]))
    token = issued.token
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    assert client.get("/api/v1/cases/").status_code == 401


def test_an_unknown_case_is_a_404(clients: dict[str, APIClient]) -> None:
    assert clients["rita.reviewer"].get("/api/v1/cases/999999/").status_code == 404


def test_the_schema_describes_the_case_api(client: Any) -> None:
    schema = client.get("/api/schema/?format=json").json()

    assert {"/api/v1/cases/", "/api/v1/cases/{case_id}/"} <= set(schema["paths"])
    post = schema["paths"]["/api/v1/cases/{case_id}/transitions/"]["post"]
    assert {"201", "403", "409", "422"} <= set(post["responses"])
    assert "apiToken" in schema["components"]["securitySchemes"]


def test_an_action_through_the_api_logs_the_case_it_returns(
    clients: dict[str, APIClient], case: Case
) -> None:
    response = transition(clients["rita.reviewer"], case, "start_review")

    assert response.status_code == 201
    assert AccessEvent.objects.filter(view="act_on_case", object_id=str(case.pk)).count() == 1


def test_a_senior_reviewer_assigns_through_the_api(
    clients: dict[str, APIClient], case: Case
) -> None:
    response = transition(clients["sam.senior"], case, "assign", assign_to="ravi.reviewer")

    assert response.status_code == 201
    assert response.json()["decision"]["assigned_to"] == "ravi.reviewer"
    assert response.json()["case"]["assignee"] == "ravi.reviewer"
    refused = transition(clients["sam.senior"], case, "assign", assign_to="olive.oversight")
    assert refused.status_code == 422

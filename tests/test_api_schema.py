"""The published API description: /api/schema/ and the self-hosted /api/docs/."""

import re
from typing import Any

import jsonschema
import pytest
from django.test import Client
from openapi_spec_validator import validate
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(client: Client) -> dict[str, Any]:
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")
    return dict(response.json())


def test_the_schema_is_served_to_anyone_as_yaml_by_default(client: Client) -> None:
    response = client.get("/api/schema/")

    assert response.status_code == 200
    assert response.content.startswith(b"openapi: 3.")


def test_the_schema_is_valid_openapi(schema: dict[str, Any]) -> None:
    validate(schema)


def test_the_ingest_operation_is_described(schema: dict[str, Any]) -> None:
    operation = schema["paths"]["/api/v1/flags/"]["post"]

    assert operation["operationId"] == "ingest_flags"
    assert operation["security"] == [{"apiToken": []}]
    assert schema["components"]["securitySchemes"]["apiToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token: a detector's for ingest, a person's for the case and "
        "appeals APIs.",
    }
    body = operation["requestBody"]["content"]["application/json"]
    assert body["schema"]["$ref"].startswith("#/components/schemas/IngestRequest")
    assert "OneFlag" in body["examples"]
    answer = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert answer == {"$ref": "#/components/schemas/IngestResponse"}


def test_the_flag_schema_comes_from_the_checks_ingest_applies(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]
    flag = components["FlagItem"]

    assert set(flag["required"]) >= {
        "external_id",
        "subject",
        "category",
        "rule",
        "detector_version",
        "score",
        "explanation",
        "window",
        "evidence",
    }
    assert flag["additionalProperties"] is False
    assert (flag["properties"]["score"]["minimum"], flag["properties"]["score"]["maximum"]) == (
        0,
        1,
    )
    assert flag["properties"]["evidence"]["maxItems"] == 50
    request = next(v for k, v in components.items() if k.startswith("IngestRequest"))
    assert request["properties"]["flags"]["maxItems"] == 1000


def test_the_docs_page_loads_its_assets_from_this_site_only(client: Client) -> None:
    response = client.get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    for outside in ("cdn.", "unpkg", "jsdelivr", "cdnjs", "googleapis"):
        assert outside not in html
    assets = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert assets
    assert all(asset.startswith(("/static/", "/api/docs/?script")) for asset in assets), assets


def test_pages_carry_a_content_security_policy_without_inline_scripts(client: Client) -> None:
    for path in ("/sign-in/", "/api/docs/"):
        policy = client.get(path).headers["Content-Security-Policy"]
        directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))

        assert directives["script-src"] == "'self'"
        assert directives["default-src"] == "'self'"
        assert directives["frame-ancestors"] == "'none'"
    docs_script = client.get("/api/docs/?script=")
    assert docs_script.status_code == 200
    assert "SwaggerUIBundle" in docs_script.content.decode()


def test_the_ingest_operation_documents_each_error_answer(client: Any) -> None:
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    responses = schema["paths"]["/api/v1/flags/"]["post"]["responses"]

    assert set(responses) == {"200", "400", "401", "403", "413", "415", "422", "503"}
    for status in ("400", "401", "403", "413", "415", "422", "503"):
        error = responses[status]["content"]["application/json"]["schema"]
        assert error == {"$ref": "#/components/schemas/ApiError"}


def test_the_schema_generates_without_warnings(tmp_path: Any) -> None:
    from django.core.management import call_command

    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml")
    )

    assert "/api/v1/cases/{case_id}/transitions/" in (tmp_path / "schema.yaml").read_text()


def test_every_operation_that_reads_a_body_documents_the_one_error_rule(
    schema: dict[str, Any],
) -> None:
    operations = [
        (path, method, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if "requestBody" in operation
    ]

    assert {path for path, _, _ in operations} == {
        "/api/v1/flags/",
        "/api/v1/cases/{case_id}/transitions/",
        "/api/v1/cases/{case_id}/referral-result/",
        "/api/v1/representations/",
        "/api/v1/representations/{grant_id}/transitions/",
        "/api/v1/challenges/",
        "/api/v1/challenges/{challenge_id}/transitions/",
        "/api/v1/reports/",
    }
    # JSON everywhere; a multipart form beside it only where files are taken.
    takes_files = {("/api/v1/challenges/", "post")}
    error = {"$ref": "#/components/schemas/ApiError"}
    for path, method, operation in operations:
        media_types = ["application/json"]
        if (path, method) in takes_files:
            media_types.append("multipart/form-data")
        assert list(operation["requestBody"]["content"]) == media_types, path
        for status in ("400", "413", "415", "422"):
            answer = operation["responses"][status]["content"]["application/json"]["schema"]
            assert answer == error, (path, method, status)
    fields = schema["components"]["schemas"]["ApiError"]["properties"]
    assert set(fields) == {"error", "detail", "fields"}


def test_the_payload_depth_limit_is_in_the_schema(schema: dict[str, Any]) -> None:
    payload = schema["components"]["schemas"]["Evidence"]["properties"]["payload"]

    assert "nested at most 32 levels deep" in payload["description"]


# --- real answers against the published schema ---------------------------------------------------


def answers_as_documented(schema: dict[str, Any], path: str, method: str, response: Any) -> None:
    """Validate ``response``'s JSON against what the schema says ``method path`` answers with
    that status."""
    operation = schema["paths"][path][method]
    documented = operation["responses"][str(response.status_code)]
    body_schema = documented["content"]["application/json"]["schema"]
    jsonschema.validate(
        response.json(),
        {**body_schema, "components": schema["components"]},
        cls=jsonschema.Draft202012Validator,
    )


def test_the_case_api_answers_exactly_as_its_schema_says(
    schema: dict[str, Any], people: dict[str, Any], frozen_today: Any
) -> None:
    from accounts.roles import actor_for
    from accounts.services import issue_personal_token
    from tests.factories import CaseFactory, SubjectFactory

    case = CaseFactory.create(subject=SubjectFactory.create(unit="East Response"))
    clients = {}
    for username in ("rita.reviewer", "sam.senior", "dan.steward"):
        token = issue_personal_token(people[username], actor=actor_for(people["alan.admin"])).token
        clients[username] = APIClient()
        clients[username].credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    rita, sam = clients["rita.reviewer"], clients["sam.senior"]
    detail = "/api/v1/cases/{case_id}/"
    act = "/api/v1/cases/{case_id}/transitions/"
    url = f"/api/v1/cases/{case.pk}/transitions/"
    reasons = "Reasons long enough for the service to accept them."

    def decide(client: APIClient, **body: Any) -> Any:
        body = {"rationale": reasons, "no_conflict_declared": True, **body}
        return client.post(url, body, format="json")

    answers = [
        ("/api/v1/cases/", "get", rita.get("/api/v1/cases/?status=all")),
        ("/api/v1/cases/", "get", rita.get("/api/v1/cases/?status=shut")),
        ("/api/v1/cases/", "get", clients["dan.steward"].get("/api/v1/cases/")),
        ("/api/v1/cases/", "get", APIClient().get("/api/v1/cases/")),
        (act, "post", decide(sam, action="assign", assign_to="rita.reviewer")),
        (act, "post", decide(rita, action="start_review")),
        (act, "post", decide(rita, action="recommend", outcome="welfare_support")),
        (detail, "get", rita.get(f"/api/v1/cases/{case.pk}/")),
        (detail, "get", rita.get("/api/v1/cases/999999/")),
        (act, "post", decide(rita, action="sign_off")),
        (act, "post", decide(rita, action="recommend", outcome="sack")),
        (act, "post", rita.post(url, "[1]", content_type="application/json")),
        (act, "post", rita.post(url, "x=1", content_type="application/x-www-form-urlencoded")),
        (act, "post", rita.post(url, "1" * 70_000, content_type="application/json")),
    ]

    statuses = [response.status_code for _, _, response in answers]
    assert statuses == [200, 400, 403, 401, 201, 201, 201, 200, 404, 409, 422, 400, 415, 413]
    for path, method, response in answers:
        answers_as_documented(schema, path, method, response)
    assert answers[7][2].json()["decisions"][0]["assigned_to"] == "rita.reviewer"


def test_a_referrals_result_is_answered_exactly_as_its_schema_says(
    schema: dict[str, Any], people: dict[str, Any], frozen_today: Any
) -> None:
    from accounts.roles import actor_for
    from accounts.services import issue_personal_token
    from casework.services import DecisionRequest, act_on_case
    from tests.factories import CaseFactory, SubjectFactory

    case = CaseFactory.create(subject=SubjectFactory.create(unit="East Response"))
    reasons = "Reasons long enough for the service to accept them."
    for username, action, outcome in (
        ("rita.reviewer", "start_review", ""),
        ("rita.reviewer", "recommend", "referral"),
        ("sam.senior", "sign_referral", "referral"),
        ("sue.senior", "sign_referral", "referral"),
    ):
        act_on_case(
            case.pk,
            DecisionRequest(action, reasons, outcome=outcome, no_conflict_declared=True),
            actor=actor_for(people[username]),
        )
    clients = {}
    for username in ("rita.reviewer", "sam.senior", "dan.steward"):
        token = issue_personal_token(people[username], actor=actor_for(people["alan.admin"])).token
        clients[username] = APIClient()
        clients[username].credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    rita, sam = clients["rita.reviewer"], clients["sam.senior"]
    path = "/api/v1/cases/{case_id}/referral-result/"
    url = f"/api/v1/cases/{case.pk}/referral-result/"
    good = {
        "result": "misconduct_found",
        "concluded_on": "2026-06-15",
        "reasons": reasons,
        "no_conflict_declared": True,
    }

    answers = [
        sam.post(url, {**good, "concluded_on": "2026-06-16"}, format="json"),
        rita.post(url, good, format="json"),
        clients["dan.steward"].post(url, good, format="json"),
        APIClient().post(url, good, format="json"),
        sam.post("/api/v1/cases/999999/referral-result/", good, format="json"),
        sam.post(url, "[1]", content_type="application/json"),
        sam.post(url, "x=1", content_type="application/x-www-form-urlencoded"),
        sam.post(url, "1" * 70_000, content_type="application/json"),
        sam.post(url, good, format="json"),
        sam.post(url, good, format="json"),
    ]

    statuses = [response.status_code for response in answers]
    assert statuses == [422, 409, 403, 401, 404, 400, 415, 413, 201, 409]
    for response in answers:
        answers_as_documented(schema, path, "post", response)
    detail = rita.get(f"/api/v1/cases/{case.pk}/")
    answers_as_documented(schema, "/api/v1/cases/{case_id}/", "get", detail)
    assert detail.json()["referral_result"]["result"] == "misconduct_found"
    assert detail.json()["outcome_class"] == "confirmed"


def test_an_answer_that_drifted_from_the_schema_would_be_caught(
    schema: dict[str, Any], people: dict[str, Any], frozen_today: Any
) -> None:
    """The check above can fail: a field missing from, or of another type than, the schema."""

    class Drifted:
        status_code = 200

        def __init__(self, body: dict[str, Any]) -> None:
            self.body = body

        def json(self) -> dict[str, Any]:
            return self.body

    page = {"count": 1, "next": None, "previous": None, "results": [{"id": "one"}]}

    with pytest.raises(jsonschema.ValidationError):
        answers_as_documented(schema, "/api/v1/cases/", "get", Drifted(page))

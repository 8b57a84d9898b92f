"""The published API description: /api/schema/ and the self-hosted /api/docs/."""

import re
from typing import Any

import pytest
from django.test import Client
from openapi_spec_validator import validate

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
        "description": "An API token: a detector's for ingest, a person's for the case API.",
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

    assert set(responses) == {"200", "400", "401", "403", "413", "415", "503"}
    for status in ("400", "401", "403", "413", "415", "503"):
        error = responses[status]["content"]["application/json"]["schema"]
        assert error == {"$ref": "#/components/schemas/ApiError"}


def test_the_schema_generates_without_warnings(tmp_path: Any) -> None:
    from django.core.management import call_command

    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml")
    )

    assert "/api/v1/cases/{case_id}/transitions/" in (tmp_path / "schema.yaml").read_text()

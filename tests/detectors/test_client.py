"""The detectors' API client: batching, bounded retries, and refusals that stop the run."""

import json
from typing import Any

import httpx
import pytest

from detectors.client import IngestClient, IngestRefused, IngestUnavailable


def answer_for(request: httpx.Request) -> dict[str, Any]:
    flags = json.loads(request.content)["flags"]
    items = [
        {"index": i, "external_id": flag["external_id"], "status": "created", "case": 7}
        for i, flag in enumerate(flags)
    ]
    return {"created": len(flags), "duplicate": 0, "rejected": 0, "items": items}


def client_with(handler: Any, sleeps: list[float] | None = None, **options: Any) -> IngestClient:
    http = httpx.Client(transport=httpx.MockTransport(handler), base_url="http://scrutiny.test")
    record = sleeps.append if sleeps is not None else (lambda seconds: None)
    return IngestClient(http, "sdt_secret", sleep=record, **options)


def flags(count: int) -> list[dict[str, Any]]:
    return [{"external_id": f"f-{n}"} for n in range(count)]


def test_flags_go_in_batches_of_at_most_a_thousand_with_the_token() -> None:
    seen: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v1/flags/"
        assert request.headers["Authorization"] == "Bearer sdt_secret"
        seen.append(len(json.loads(request.content)["flags"]))
        return httpx.Response(200, json=answer_for(request))

    summary = client_with(handler).post_flags(flags(2500))

    assert seen == [1000, 1000, 500]
    assert (summary.posted, summary.created, summary.batches) == (2500, 2500, 3)
    assert summary.cases == {7}


def test_connection_errors_and_server_errors_are_retried_with_backoff() -> None:
    attempts: list[str] = []
    sleeps: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        attempts.append("x")
        if len(attempts) == 1:
            return httpx.Response(503, json={"error": "unavailable", "detail": "busy"})
        if len(attempts) == 2:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(200, json=answer_for(request))

    summary = client_with(handler, sleeps).post_flags(flags(3))

    assert len(attempts) == 3
    assert sleeps == [0.5, 1.0]
    assert (summary.created, summary.retries) == (3, 2)


def test_retries_are_bounded() -> None:
    attempts: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        attempts.append("x")
        return httpx.Response(502, text="bad gateway")

    with pytest.raises(IngestUnavailable, match="after 3 attempts"):
        client_with(handler, max_attempts=3).post_flags(flags(1))
    assert len(attempts) == 3


def test_a_refused_batch_is_not_retried_and_says_why() -> None:
    attempts: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        attempts.append("x")
        detail = "This API token is not recognised, or has been revoked."
        return httpx.Response(401, json={"error": "authentication_failed", "detail": detail})

    with pytest.raises(IngestRefused, match=r"HTTP 401.*not recognised") as refused:
        client_with(handler).post_flags(flags(1))
    assert refused.value.status == 401
    assert len(attempts) == 1


def test_rejected_items_are_counted_and_kept_for_the_report() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = {
            "created": 0,
            "duplicate": 1,
            "rejected": 1,
            "items": [
                {"index": 0, "external_id": "f-0", "status": "duplicate", "case": 3},
                {
                    "index": 1,
                    "external_id": "f-1",
                    "status": "rejected",
                    "errors": {"score": ["must be between 0 and 1; got 2"]},
                },
            ],
        }
        return httpx.Response(200, json=body)

    summary = client_with(handler).post_flags(flags(2))

    assert (summary.duplicate, summary.rejected) == (1, 1)
    assert summary.cases == set()  # a duplicate opened nothing in this run
    assert summary.rejections[0].external_id == "f-1"
    assert summary.rejections[0].errors == {"score": ["must be between 0 and 1; got 2"]}


def test_a_batch_larger_than_the_server_allows_is_refused_before_sending() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("nothing should be sent")

    with pytest.raises(ValueError, match="between 1 and 1000"):
        client_with(handler).post_flags(flags(5), batch_size=1001)

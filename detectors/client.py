"""Posting flags to Scrutiny's ingest API, as any detector would.

Batches are retried on connection errors and server errors, a bounded number of times: ingest is
idempotent per external_id, so a batch that reached the server before the connection dropped
comes back as duplicates rather than twice. A batch the server refuses as a whole (a 4xx: bad
token, inactive detector, malformed body) is not retried; it raises ``IngestRefused`` with the
server's reason, because sending it again would be refused again.
"""

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

INGEST_PATH = "/api/v1/flags/"
MAX_BATCH = 1000  # the server's limit (settings.INGEST_MAX_BATCH)
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
REJECTIONS_KEPT = 20

Flag = Mapping[str, Any]


class IngestRefused(RuntimeError):
    """The server refused a whole batch; the detector's request or credentials need fixing."""

    def __init__(self, status: int, detail: str) -> None:
        self.status = status
        self.detail = detail
        super().__init__(f"Scrutiny refused the batch (HTTP {status}): {detail}")


class IngestUnavailable(RuntimeError):
    """The server could not be reached, or kept failing, after every retry."""


@dataclass(frozen=True)
class Rejection:
    external_id: str | None
    errors: dict[str, list[str]]


@dataclass
class IngestSummary:
    """What the server answered for every batch of one run."""

    posted: int = 0
    created: int = 0
    duplicate: int = 0
    rejected: int = 0
    batches: int = 0
    retries: int = 0
    # Cases that this run's new flags opened or joined (the response cannot tell which).
    cases: set[int] = field(default_factory=set)
    rejections: list[Rejection] = field(default_factory=list)

    def add(self, posted: int, body: Mapping[str, Any]) -> None:
        self.posted += posted
        self.batches += 1
        self.created += int(body["created"])
        self.duplicate += int(body["duplicate"])
        self.rejected += int(body["rejected"])
        for item in body["items"]:
            if item["status"] == "created" and item.get("case") is not None:
                self.cases.add(int(item["case"]))
            if item["status"] == "rejected" and len(self.rejections) < REJECTIONS_KEPT:
                self.rejections.append(Rejection(item.get("external_id"), item.get("errors") or {}))


def batches(flags: Sequence[Flag], size: int = MAX_BATCH) -> Iterator[Sequence[Flag]]:
    if not 1 <= size <= MAX_BATCH:
        raise ValueError(f"batch size must be between 1 and {MAX_BATCH}; got {size}")
    for start in range(0, len(flags), size):
        yield flags[start : start + size]


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:500] or response.reason_phrase
    if isinstance(body, dict) and "detail" in body:
        return str(body["detail"])
    return str(body)[:500]


def _is_ingest_response(body: Any) -> bool:
    return isinstance(body, dict) and all(
        key in body for key in ("created", "duplicate", "rejected", "items")
    )


class IngestClient:
    """Posts a detector's flags through an ``httpx.Client`` (a network one, or an in-process
    WSGI transport): the caller owns the client and its base URL."""

    def __init__(
        self,
        http: httpx.Client,
        token: str,
        *,
        max_attempts: int = 5,
        backoff_seconds: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.http = http
        self.headers = {"Authorization": f"Bearer {token}"}
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.sleep = sleep

    def post_flags(self, flags: Sequence[Flag], *, batch_size: int = MAX_BATCH) -> IngestSummary:
        summary = IngestSummary()
        for batch in batches(flags, batch_size):
            body, retries = self._post_batch(batch)
            summary.retries += retries
            summary.add(len(batch), body)
        return summary

    def _post_batch(self, batch: Sequence[Flag]) -> tuple[Mapping[str, Any], int]:
        payload = {"flags": list(batch)}
        problem = ""
        for attempt in range(self.max_attempts):
            if attempt:
                self.sleep(self.backoff_seconds * 2 ** (attempt - 1))
            try:
                response = self.http.post(INGEST_PATH, json=payload, headers=self.headers)
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}"
                continue
            if response.status_code in RETRYABLE_STATUS:
                problem = f"HTTP {response.status_code}: {_detail(response)}"
                continue
            if response.status_code != 200:
                raise IngestRefused(response.status_code, _detail(response))
            body = response.json()
            if not _is_ingest_response(body):
                raise IngestRefused(response.status_code, f"unexpected answer: {str(body)[:300]}")
            return body, attempt
        raise IngestUnavailable(
            f"gave up after {self.max_attempts} attempts to post a batch of {len(batch)} flags; "
            f"last problem: {problem}"
        )

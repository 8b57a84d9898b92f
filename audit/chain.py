"""The hash chain, in plain Python with no Django, so that an outsider's verifier can share it.

An event's hash is SHA-256 over the canonical JSON of every other field of the event, the
previous event's hash among them. Canonical JSON: keys sorted, no insignificant whitespace,
UTF-8, times as ISO 8601 in UTC with microseconds.
"""

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS_HASH = "0" * 64


def canonical_json(value: Any) -> bytes:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def canonical_time(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("Audit times must be timezone-aware.")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def event_hash(fields: Mapping[str, Any]) -> str:
    """The hash of one event, from its fields other than ``hash`` (times already canonical)."""
    return sha256_hex(canonical_json({k: v for k, v in fields.items() if k != "hash"}))


@dataclass(frozen=True)
class ChainCheck:
    count: int
    head_seq: int
    head_hash: str
    first_bad_seq: int | None = None
    problem: str = ""

    @property
    def intact(self) -> bool:
        return self.first_bad_seq is None


def verify_chain(events: Iterable[Mapping[str, Any]]) -> ChainCheck:
    """Check a sequence of events (dicts of canonical fields plus ``hash``) in seq order."""
    count = 0
    expected_seq = 1
    prev_hash = GENESIS_HASH
    for event in events:
        seq = event["seq"]
        problem = ""
        if seq != expected_seq:
            problem = f"expected sequence number {expected_seq}, found {seq} (a gap or reorder)"
        elif event["prev_hash"] != prev_hash:
            problem = "its previous-hash does not match the hash of the event before it"
        elif event_hash(event) != event["hash"]:
            problem = "its stored hash does not match its contents"
        if problem:
            return ChainCheck(count, expected_seq - 1, prev_hash, expected_seq, problem)
        count += 1
        expected_seq += 1
        prev_hash = event["hash"]
    return ChainCheck(count, expected_seq - 1, prev_hash)

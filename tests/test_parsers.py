"""config/parsers.py: the depth scan that guards json.loads, read without parsing; the strict
multipart parser's limits and its closing boundary."""

import json
from typing import Any

import pytest
from django.test import RequestFactory
from hypothesis import given
from hypothesis import strategies as st
from rest_framework.exceptions import ParseError
from rest_framework.request import Request

from config.parsers import (
    MAX_DEPTH,
    BodyTooLarge,
    StrictMultiPartParser,
    describe_size,
    nesting_depth,
)

VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab,:', max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(alphabet='[]{}"\\ab', max_size=6), inner, max_size=3)
    ),
    max_leaves=20,
)


def depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    return 0


@given(VALUES)
def test_the_scan_measures_the_depth_json_loads_would_reach(value: Any) -> None:
    """Brackets and escaped quotes inside strings never count."""
    assert nesting_depth(json.dumps(value)) == depth(value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("12", 0),
        ('"[[[["', 0),
        ('["\\"[", {"a]": [[]]}]', 4),
        ("[" * 100_000, 100_000),
        ('{"a":' * 990, 990),
    ],
)
def test_the_scan_needs_no_valid_json(text: str, expected: int) -> None:
    assert nesting_depth(text) == expected


def test_the_limits_are_stated_in_plain_sizes() -> None:
    assert MAX_DEPTH == 64
    assert (describe_size(64 * 1024), describe_size(32 * 2**20)) == ("64 KiB", "32 MiB")


@pytest.mark.parametrize(
    "text",
    [
        '{"a":"' + '\\"' * 2_000_000,  # a string never closed, full of escaped quotes
        '"' + '\\"' * 2_000_000 + "\\",  # the same, ending on a lone backslash
        '"' * 4_000_000,  # nothing but quotes
    ],
    ids=["unclosed", "trailing-backslash", "quotes"],
)
def test_the_scan_reads_a_hostile_body_in_one_pass(text: str) -> None:
    """A guard against an algorithm that rereads the body from every quote (hours for these four
    megabytes), not a speed target: the bound is a thousand times what one pass takes."""
    import threading

    found: list[int] = []
    scan = threading.Thread(target=lambda: found.append(nesting_depth(text)), daemon=True)
    scan.start()
    scan.join(timeout=30)

    assert found, "the depth scan did not finish in 30 s: it rereads the body"
    assert found[0] <= 1


# --- multipart forms -----------------------------------------------------------------------------

BOUNDARY = "b0undary"
FORM = (
    f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="grounds"\r\n\r\nWrong.\r\n'
    f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="attachments"; filename="a.pdf"\r\n'
    f"Content-Type: application/pdf\r\n\r\n%PDF-1.4 one page\r\n--{BOUNDARY}--\r\n"
).encode()


class Trickle:
    """A body that gives at most ``step`` bytes a read, as a slow connection does."""

    def __init__(self, data: bytes, step: int) -> None:
        self.data, self.step = data, step

    def read(self, size: int = -1) -> bytes:
        taken = self.data[: min(self.step, size if size >= 0 else self.step)]
        self.data = self.data[len(taken) :]
        return taken


def parse_form(stream: Any, *, declared: int, limit: int = 10_000) -> Any:
    media_type = f"multipart/form-data; boundary={BOUNDARY}"
    request = Request(RequestFactory().generic("POST", "/", b"", content_type=media_type))
    request.META["CONTENT_LENGTH"] = str(declared)
    view = type("Upload", (), {"max_upload_size": limit})()
    return StrictMultiPartParser().parse(stream, media_type, {"request": request, "view": view})


@pytest.mark.parametrize("step", [1, 2, 3, 5, 7, 11, len(FORM)])
def test_the_closing_boundary_is_found_however_the_body_arrives(step: int) -> None:
    parsed = parse_form(Trickle(FORM, step), declared=len(FORM))

    assert parsed.data["grounds"] == "Wrong."
    assert parsed.files["attachments"].read() == b"%PDF-1.4 one page"


# The CRLF after the closing delimiter is optional; the delimiter is not.
@pytest.mark.parametrize("cut", [3, 5, len(f"--{BOUNDARY}--\r\n")])
def test_a_form_cut_short_is_a_parse_error(cut: int) -> None:
    body = FORM[:-cut]

    with pytest.raises(ParseError, match="closing boundary"):
        parse_form(Trickle(body, 64), declared=len(body))


def test_a_body_longer_than_declared_is_refused_past_the_limit() -> None:
    body = FORM.replace(b"one page", b"x" * 20_000)

    with pytest.raises(BodyTooLarge):
        parse_form(Trickle(body, 4096), declared=len(FORM))


def test_a_body_declared_too_large_is_refused_before_a_byte_is_read() -> None:
    class Unreadable:
        def read(self, size: int = -1) -> bytes:
            raise AssertionError("read")

    with pytest.raises(BodyTooLarge):
        parse_form(Unreadable(), declared=10_001)

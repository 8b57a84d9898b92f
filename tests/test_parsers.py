"""config/parsers.py: the depth scan that guards json.loads, read without parsing."""

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from config.parsers import MAX_DEPTH, describe_size, nesting_depth

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

"""The body reader on arbitrary input: JSON objects come back as parsed, anything else is a
BadRequest with a sentence; no other exception ever leaves it (which would be a 500)."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from vouch.server.api import MAX_DEPTH, loggable, parse_json_body
from vouch.server.errors import BadRequest

FINITE = st.floats(allow_nan=False, allow_infinity=False)
SCALARS = st.none() | st.booleans() | st.integers() | FINITE | st.text()
VALUES = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=40,
)


def _depth(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(item) for item in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(item) for item in value), default=0)
    return 0


def _has_lone_surrogate(value: object) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


@settings(max_examples=400, deadline=None)
@given(VALUES)
def test_arbitrary_json_is_parsed_or_refused_with_a_sentence(value: object) -> None:
    raw = json.dumps(value).encode()
    too_long = any(
        len(str(abs(number))) > 20 for number in _integers(value) if isinstance(number, int)
    )
    outcome = _read(raw)
    if isinstance(outcome, BadRequest):
        assert outcome.code == "invalid_json"
        assert outcome.message
        assert too_long or _depth(value) > MAX_DEPTH or _has_lone_surrogate(value)
    else:
        assert outcome == value  # floats round-trip through JSON exactly


def _read(raw: bytes) -> object:
    """What the reader returns, or the BadRequest it raised (anything else propagates)."""
    try:
        return parse_json_body(raw)
    except BadRequest as exc:
        return exc


def _integers(value: object) -> list[object]:
    if isinstance(value, dict):
        return [n for item in value.values() for n in _integers(item)]
    if isinstance(value, list):
        return [n for item in value for n in _integers(item)]
    return [value] if isinstance(value, int) and not isinstance(value, bool) else []


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_escape_as_another_error(raw: bytes) -> None:
    outcome = _read(raw)
    if isinstance(outcome, BadRequest):
        assert outcome.code == "invalid_json"


@given(st.text())
def test_loggable_text_is_one_line_that_encodes(text: str) -> None:
    line = loggable(text)
    assert "\n" not in line
    assert "\r" not in line
    line.encode("utf-8")

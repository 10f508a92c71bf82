"""base64url: one text form per byte string."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vouch.core.b64url import b64url_decode, b64url_encode
from vouch.core.errors import MalformedInput


@given(st.binary(max_size=64))
def test_round_trip(data: bytes) -> None:
    text = b64url_encode(data)
    assert "=" not in text
    assert b64url_decode(text) == data


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("AA==", "salt is 'AA==', expected unpadded base64url"),
        ("A+/A", "salt is 'A+/A', expected unpadded base64url"),
        ("AAAAA", "salt is 'AAAAA', expected unpadded base64url"),
        ("AB", "salt is 'AB', not the canonical base64url of any bytes"),
    ],
)
def test_strict_decoding(text: str, message: str) -> None:
    with pytest.raises(MalformedInput) as caught:
        b64url_decode(text, what="salt")
    assert str(caught.value) == message

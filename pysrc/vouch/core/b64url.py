"""base64url without padding (RFC 4648, section 5): how bytes travel in JSON.

Decoding is strict (no padding, no other alphabet, no stray bits), so each
byte string has exactly one text form and a message rebuilt from JSON is
byte-for-byte the one that was signed.
"""

from __future__ import annotations

import base64
import re

from vouch.core.errors import MalformedInput

_PATTERN = re.compile(r"[A-Za-z0-9_-]*")


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str, *, what: str = "value") -> bytes:
    """Bytes of an unpadded base64url string; ``what`` names it in the error."""
    if not isinstance(text, str) or not _PATTERN.fullmatch(text) or len(text) % 4 == 1:
        raise MalformedInput(f"{what} is {text!r}, expected unpadded base64url")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64url_encode(data) != text:
        raise MalformedInput(f"{what} is {text!r}, not the canonical base64url of any bytes")
    return data

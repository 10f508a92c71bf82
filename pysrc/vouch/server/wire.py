"""Edge encodings: bytes inside the server, base64url (no padding) on the wire."""

from __future__ import annotations

import base64
import binascii

from vouch.server.errors import BadRequest


def b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64decode(text: str, *, field: str) -> bytes:
    """Decode base64url, naming the field in the error when it is not."""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise BadRequest(f"{field} is not valid base64url") from exc

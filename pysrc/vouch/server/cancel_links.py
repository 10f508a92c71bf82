"""The one-click cancel link of a held recovery's mail: `/recovery/cancel?token=...`.

The token is the recovery's reference and an HMAC of it under a server key, so it names
one recovery and cannot be made for another; nothing of it is stored (the mail is built
when sent, vouch.server.outbox.messages). It is single use because what it does is: it
moves that recovery from pending to cancelled, which happens once; after that, or once the
recovery has taken effect, the link says there is nothing to cancel.
"""

from __future__ import annotations

import hashlib
import hmac

from vouch.core.b64url import b64url_encode

PURPOSE = "recovery-cancel-link"
PATH = "/recovery/cancel"
MAC_BYTES = 16
MAX_TOKEN_CHARS = 128


def token(key: bytes, reference: str) -> str:
    return f"{reference}.{_mac(key, reference)}"


def url(origin: str, key: bytes, reference: str) -> str:
    return f"{origin}{PATH}?token={token(key, reference)}"


def reference_of(key: bytes, text: str) -> str | None:
    """The recovery reference a genuine token names; None for anything else."""
    if len(text) > MAX_TOKEN_CHARS:
        return None
    reference, dot, mac = text.partition(".")
    if not dot or not reference:
        return None
    if not hmac.compare_digest(mac.encode(), _mac(key, reference).encode()):
        return None
    return reference


def _mac(key: bytes, reference: str) -> str:
    digest = hmac.new(key, b"vouch/v1/cancel-link\n" + reference.encode(), hashlib.sha256)
    return b64url_encode(digest.digest()[:MAC_BYTES])

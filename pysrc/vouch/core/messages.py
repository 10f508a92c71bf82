"""Canonical messages that guardians sign, built the same in the page and on the server.

    recovery   b"vouch/v1/recovery\\n"  + JCS({account, challenge, expires, rp_id,
                                             new_credential: {id, public_key_sha256}})
    guardians  b"vouch/v1/guardians\\n" + JCS({account, challenge, config})

JCS is RFC 8785 canonical JSON (sorted keys, no whitespace, UTF-8). Field
encodings: bytes are unpadded base64url strings; ``expires`` is an integer
of Unix seconds; ``account`` and ``rp_id`` are strings as given (no
normalisation, the server's stored form is the truth). ``config`` is the
new guardian configuration as JSON the caller builds (bytes in it already
base64url). A passphrase or code guardian signs the message with Ed25519; a
passkey guardian signs a WebAuthn assertion whose challenge is SHA-256 of it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeAlias

import rfc8785

from vouch.core.b64url import b64url_encode
from vouch.core.errors import MalformedInput
from vouch.crypto.provider import Provider

RECOVERY_PREFIX = b"vouch/v1/recovery\n"
GUARDIANS_PREFIX = b"vouch/v1/guardians\n"
CHALLENGE_BYTES = 32
SHA256_BYTES = 32
MAX_CREDENTIAL_ID_BYTES = 1023  # WebAuthn Level 3, credential ID

Json: TypeAlias = "bool | int | float | str | Sequence[Json] | Mapping[str, Json] | None"


@dataclass(frozen=True)
class NewCredential:
    """The passkey being registered by a recovery: raw credential ID, SHA-256 of its public key."""

    id: bytes
    public_key_sha256: bytes


@dataclass(frozen=True)
class RecoveryRequest:
    """What every guardian approves in one recovery."""

    account: str
    challenge: bytes
    expires: int
    rp_id: str
    new_credential: NewCredential


@dataclass(frozen=True)
class GuardiansChange:
    """A new guardian configuration, confirmed with a passkey assertion."""

    account: str
    challenge: bytes
    config: Mapping[str, Json]


def _text(name: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise MalformedInput(f"{name} is {value!r}, expected a non-empty string")
    return value


def _bytes(name: str, value: object, *, low: int, high: int) -> bytes:
    if not isinstance(value, bytes):
        raise MalformedInput(f"{name} is {type(value).__name__}, expected bytes")
    if not low <= len(value) <= high:
        expected = f"{low}" if low == high else f"{low} to {high}"
        raise MalformedInput(f"{name} has {len(value)} bytes, expected {expected}")
    return value


def canonical_message(prefix: bytes, body: Mapping[str, Json]) -> bytes:
    """`prefix` + RFC 8785 canonical JSON of `body`: every signed message's form."""
    try:
        return prefix + rfc8785.dumps(body)
    except (rfc8785.CanonicalizationError, TypeError) as exc:
        raise MalformedInput(f"message is not canonical JSON: {exc}") from exc


def recovery_message(request: RecoveryRequest) -> bytes:
    """The exact bytes guardians sign to approve ``request``."""
    expires = request.expires
    if isinstance(expires, bool) or not isinstance(expires, int) or expires < 0:
        raise MalformedInput(f"expires is {expires!r}, expected Unix seconds as an integer")
    credential = request.new_credential
    body: dict[str, Json] = {
        "account": _text("account", request.account),
        "challenge": b64url_encode(
            _bytes("challenge", request.challenge, low=CHALLENGE_BYTES, high=CHALLENGE_BYTES)
        ),
        "expires": expires,
        "rp_id": _text("rp_id", request.rp_id),
        "new_credential": {
            "id": b64url_encode(
                _bytes("new_credential.id", credential.id, low=1, high=MAX_CREDENTIAL_ID_BYTES)
            ),
            "public_key_sha256": b64url_encode(
                _bytes(
                    "new_credential.public_key_sha256",
                    credential.public_key_sha256,
                    low=SHA256_BYTES,
                    high=SHA256_BYTES,
                )
            ),
        },
    }
    return canonical_message(RECOVERY_PREFIX, body)


def guardians_message(change: GuardiansChange) -> bytes:
    """The exact bytes whose SHA-256 is the challenge of a guardian-change assertion."""
    if not isinstance(change.config, Mapping):
        raise MalformedInput(f"config is {type(change.config).__name__}, expected a JSON object")
    body: dict[str, Json] = {
        "account": _text("account", change.account),
        "challenge": b64url_encode(
            _bytes("challenge", change.challenge, low=CHALLENGE_BYTES, high=CHALLENGE_BYTES)
        ),
        "config": change.config,
    }
    return canonical_message(GUARDIANS_PREFIX, body)


def webauthn_challenge_for(message: bytes) -> bytes:
    """SHA-256 of a canonical message: the challenge a passkey guardian signs.

    hashlib rather than the provider: it is synchronous and present in both
    CPython and Pyodide, and the server needs it outside any event loop.
    """
    return hashlib.sha256(message).digest()


def oidc_nonce_for(message: bytes) -> str:
    """base64url(SHA-256 of a canonical message): the `nonce` an OpenID Connect ID token must
    carry to approve it (a recovery) or to link an identity with it (a guardians change).
    The provider signs the nonce into the token, so the token vouches for this message."""
    return b64url_encode(hashlib.sha256(message).digest())


async def verify_guardian_signature(
    provider: Provider, public_key: bytes, message: bytes, signature: bytes
) -> bool:
    """True if an Ed25519 guardian (passphrase or code) signed exactly ``message``."""
    return await provider.ed25519_verify(public_key, message, signature)

"""Host-app tokens: short-lived EdDSA (Ed25519) JWTs, and the JWKS that verifies them.

The host's backend verifies a token with any JWT library given only
`/.well-known/jwks.json`: `iss` is the dialog's origin, `aud` the embedding site's origin,
`sub` the account id. The key id is the key's RFC 7638 thumbprint.

Key rotation: an issuer holds one or more signing keys, each active from a time. At any
moment the newest active key signs (the oldest counts as active from the start). The JWKS
publishes the signing key, every key not active yet (so hosts can fetch it before the first
token it signs), and each replaced key until `ttl_seconds` after its successor took over:
the last token it signed has expired by then, and the key retires from the JWKS.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from vouch.core.b64url import b64url_encode

ALGORITHM = "EdDSA"
_compact = json.JSONEncoder(separators=(",", ":")).encode  # json.dumps(..., separators=...)
_FOREVER = 2**63


def thumbprint(public_key: bytes) -> str:
    """RFC 7638 thumbprint of an Ed25519 JWK: SHA-256 of its required members, canonical."""
    members = {"crv": "Ed25519", "kty": "OKP", "x": b64url_encode(public_key)}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    return b64url_encode(hashlib.sha256(canonical).digest())


@dataclass(frozen=True)
class SigningKey:
    """An Ed25519 seed (32 bytes) and the Unix time it starts signing from (0: always)."""

    seed: bytes = field(repr=False)
    active_from: int = 0


class _Key:
    """One signing key, with everything a token or the JWKS needs from it made once."""

    def __init__(self, key: SigningKey):
        self.private = Ed25519PrivateKey.from_private_bytes(key.seed)
        public = self.private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.active_from = key.active_from
        self.kid = thumbprint(public)
        header = {"alg": ALGORITHM, "kid": self.kid, "typ": "JWT"}  # as PyJWT sorts them
        self.header = b64url_encode(json.dumps(header, separators=(",", ":")).encode())
        self.jwk = {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": b64url_encode(public),
            "kid": self.kid,
            "use": "sig",
            "alg": ALGORITHM,
        }


@dataclass(frozen=True)
class _State:
    """Which key signs and what the JWKS holds, for every time in [start, end)."""

    start: int
    end: int
    signer: _Key
    jwks: dict[str, Any]


class TokenIssuer:
    def __init__(
        self, keys: bytes | Sequence[SigningKey], *, issuer: str, ttl_seconds: int
    ) -> None:
        given = [SigningKey(keys)] if isinstance(keys, bytes) else list(keys)
        if not given:
            raise ValueError("a token issuer needs at least one signing key")
        self._keys = [_Key(key) for key in sorted(given, key=lambda key: key.active_from)]
        self.issuer = issuer
        self.ttl_seconds = ttl_seconds
        # The times the signer or the JWKS change: a key takes over, a replaced one retires.
        self._changes = sorted(
            {key.active_from for key in self._keys[1:]}
            | {key.active_from + ttl_seconds for key in self._keys[1:]}
        )
        self._state = self._compute(0)

    @property
    def kid(self) -> str:
        """The newest key's id: the one that signs once every key is active."""
        return self._keys[-1].kid

    def _current(self, now: int) -> _State:
        """The state at `now`, recomputed only when `now` has crossed a change."""
        state = self._state
        if not state.start <= now < state.end:
            state = self._state = self._compute(now)
        return state

    def _compute(self, now: int) -> _State:
        keys = self._keys
        signer = max((i for i, key in enumerate(keys) if key.active_from <= now), default=0)
        published = [
            key.jwk
            for i, key in enumerate(keys)
            if i >= signer or now < keys[i + 1].active_from + self.ttl_seconds
        ]
        return _State(
            start=max((time for time in self._changes if time <= now), default=-_FOREVER),
            end=min((time for time in self._changes if time > now), default=_FOREVER),
            signer=keys[signer],
            jwks={"keys": published},
        )

    def signing_kid(self, now: int) -> str:
        """The id of the key that signs tokens issued at `now`."""
        return self._current(now).signer.kid

    def issue(self, *, account_id: str, username: str, audience: str, now: int) -> str:
        """What jwt.encode(claims, key, "EdDSA", headers={"kid": ...}) returns, byte for byte
        (tests/server/test_tokens.py checks it), without its per-call header work."""
        key = self._current(now).signer
        claims = {
            "iss": self.issuer,
            "sub": account_id,
            "aud": audience,
            "iat": now,
            "nbf": now,
            "exp": now + self.ttl_seconds,
            "jti": secrets.token_urlsafe(16),
            "preferred_username": username,
        }
        payload = b64url_encode(_compact(claims).encode())
        signing_input = f"{key.header}.{payload}"
        return f"{signing_input}.{b64url_encode(key.private.sign(signing_input.encode()))}"

    def jwks(self, now: int) -> dict[str, Any]:
        """The keys a host needs at `now` to verify every unexpired token (and the next)."""
        return self._current(now).jwks

"""Host-app tokens: short-lived EdDSA (Ed25519) JWTs, and the JWKS that verifies them.

The host's backend verifies a token with any JWT library given only
`/.well-known/jwks.json`: `iss` is the dialog's origin, `aud` the embedding site's origin,
`sub` the account id. The key id is the key's RFC 7638 thumbprint.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from vouch.core.b64url import b64url_encode

ALGORITHM = "EdDSA"
_compact = json.JSONEncoder(separators=(",", ":")).encode  # json.dumps(..., separators=...)


def thumbprint(public_key: bytes) -> str:
    """RFC 7638 thumbprint of an Ed25519 JWK: SHA-256 of its required members, canonical."""
    members = {"crv": "Ed25519", "kty": "OKP", "x": b64url_encode(public_key)}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    return b64url_encode(hashlib.sha256(canonical).digest())


class TokenIssuer:
    def __init__(self, seed: bytes, *, issuer: str, ttl_seconds: int):
        self._key = Ed25519PrivateKey.from_private_bytes(seed)
        public = self._key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.kid = thumbprint(public)
        header = {"alg": ALGORITHM, "kid": self.kid, "typ": "JWT"}  # as PyJWT sorts them
        self._header = b64url_encode(json.dumps(header, separators=(",", ":")).encode())
        self.issuer = issuer
        self.ttl_seconds = ttl_seconds
        self._jwks = {
            "keys": [
                {
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "x": b64url_encode(public),
                    "kid": self.kid,
                    "use": "sig",
                    "alg": ALGORITHM,
                }
            ]
        }

    def issue(self, *, account_id: str, username: str, audience: str, now: int) -> str:
        """What jwt.encode(claims, key, "EdDSA", headers={"kid": ...}) returns, byte for byte
        (tests/server/test_tokens.py checks it), without its per-call header work."""
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
        signing_input = f"{self._header}.{payload}"
        return f"{signing_input}.{b64url_encode(self._key.sign(signing_input.encode()))}"

    def jwks(self) -> dict[str, Any]:
        return self._jwks

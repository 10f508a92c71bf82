"""A small software WebAuthn authenticator for scripted tests: real ES256 keys, real CBOR.

It answers the options JSON the server sends (as `navigator.credentials.create/get` would in
a page at `origin`) with the JSON `PublicKeyCredential.toJSON()` would give: "none"
attestation, user present and verified flags, the RP ID hash of `rpId`, a signature counter
that goes up with every use, and `response.publicKey` as SubjectPublicKeyInfo DER.
Keyword arguments break one thing at a time, for negative tests.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import struct
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

FLAG_UP = 0x01
FLAG_UV = 0x04
FLAG_AT = 0x40
ES256 = -7


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def spki_der(public_key: ec.EllipticCurvePublicKey) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def cose_es256(public_key: ec.EllipticCurvePublicKey) -> bytes:
    numbers = public_key.public_numbers()
    x, y = numbers.x.to_bytes(32, "big"), numbers.y.to_bytes(32, "big")
    return cbor2.dumps({1: 2, 3: ES256, -1: 1, -2: x, -3: y})


@dataclass(frozen=True)
class KeyPair:
    """A new passkey's P-256 key and its COSE and SubjectPublicKeyInfo encodings.

    Made by `create` unless given one: a load test makes them before its timed phase.
    """

    key: ec.EllipticCurvePrivateKey
    cose: bytes
    spki: bytes

    @classmethod
    def generate(cls) -> KeyPair:
        key = ec.generate_private_key(ec.SECP256R1())
        return cls(key, cose_es256(key.public_key()), spki_der(key.public_key()))


@dataclass
class SoftCredential:
    id: bytes
    rp_id: str
    user_handle: bytes
    key: ec.EllipticCurvePrivateKey = field(repr=False)
    sign_count: int = 0

    @property
    def id_b64(self) -> str:
        return b64(self.id)

    def spki(self) -> bytes:
        return spki_der(self.key.public_key())

    def public_key_sha256(self) -> bytes:
        return hashlib.sha256(self.spki()).digest()

    def cose_key(self) -> bytes:
        return cose_es256(self.key.public_key())


class SoftAuthenticator:
    """One device: the credentials it holds, for the origin its page runs at."""

    def __init__(self, origin: str):
        self.origin = origin
        self.credentials: dict[bytes, SoftCredential] = {}

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        return json.dumps(
            {
                "type": kind,
                "challenge": challenge,
                "origin": origin or self.origin,
                "crossOrigin": False,
            },
            separators=(",", ":"),
        ).encode()

    def create(
        self,
        options: dict[str, Any],
        *,
        origin: str | None = None,
        user_verified: bool = True,
        publish_public_key: bytes | None = None,
        key_pair: KeyPair | None = None,
    ) -> dict[str, Any]:
        """The registration response to creation options (publicKey options JSON)."""
        rp_id = options["rp"]["id"]
        key_pair = key_pair or KeyPair.generate()
        credential = SoftCredential(
            id=secrets.token_bytes(32),
            rp_id=rp_id,
            user_handle=unb64(options["user"]["id"]),
            key=key_pair.key,
        )
        self.credentials[credential.id] = credential
        flags = FLAG_UP | FLAG_AT | (FLAG_UV if user_verified else 0)
        auth_data = (
            hashlib.sha256(rp_id.encode()).digest()
            + bytes([flags])
            + struct.pack(">I", credential.sign_count)
            + bytes(16)  # AAGUID
            + struct.pack(">H", len(credential.id))
            + credential.id
            + key_pair.cose
        )
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        return {
            "id": credential.id_b64,
            "rawId": credential.id_b64,
            "type": "public-key",
            "response": {
                "clientDataJSON": b64(client_data),
                "attestationObject": b64(attestation),
                "authenticatorData": b64(auth_data),
                "transports": ["internal"],
                "publicKeyAlgorithm": ES256,
                "publicKey": b64(publish_public_key or key_pair.spki),
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }

    def get(
        self,
        options: dict[str, Any],
        *,
        credential_id: bytes | None = None,
        origin: str | None = None,
        user_verified: bool = True,
        rp_id: str | None = None,
    ) -> dict[str, Any]:
        """The assertion for request options: the allowed (or given, or only) credential."""
        credential = self._pick(options, credential_id)
        credential.sign_count += 1
        flags = FLAG_UP | (FLAG_UV if user_verified else 0)
        auth_data = (
            hashlib.sha256((rp_id or options.get("rpId") or credential.rp_id).encode()).digest()
            + bytes([flags])
            + struct.pack(">I", credential.sign_count)
        )
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        signature = credential.key.sign(
            auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        return {
            "id": credential.id_b64,
            "rawId": credential.id_b64,
            "type": "public-key",
            "response": {
                "clientDataJSON": b64(client_data),
                "authenticatorData": b64(auth_data),
                "signature": b64(signature),
                "userHandle": b64(credential.user_handle),
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }

    def _pick(self, options: dict[str, Any], credential_id: bytes | None) -> SoftCredential:
        if credential_id is not None:
            return self.credentials[credential_id]
        allowed = [unb64(item["id"]) for item in options.get("allowCredentials") or []]
        candidates = [c for c in self.credentials.values() if not allowed or c.id in allowed]
        if len(candidates) != 1:
            raise LookupError(f"{len(candidates)} credentials match these options, expected 1")
        return candidates[0]

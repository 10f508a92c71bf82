"""WebAuthn ceremonies through py_webauthn, with vouch's fixed policy.

User verification is always required. Sign-in passkeys are discoverable (sign-in is
username-less); guardian passkeys need not be, as recovery names them in allowCredentials.
py_webauthn's exceptions are re-raised as VerificationFailed with their message.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import webauthn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn.helpers import decode_credential_public_key, decoded_public_key_to_cryptography
from webauthn.helpers.cose import COSECRV
from webauthn.helpers.decode_credential_public_key import DecodedEC2PublicKey
from webauthn.helpers.exceptions import (
    InvalidAuthenticationResponse,
    InvalidCBORData,
    InvalidJSONStructure,
    InvalidPublicKeyStructure,
    InvalidRegistrationResponse,
    UnsupportedPublicKey,
    UnsupportedPublicKeyType,
)
from webauthn.helpers.structs import PublicKeyCredentialDescriptor, UserVerificationRequirement

from vouch.core.b64url import b64url_decode, b64url_encode
from vouch.core.errors import MalformedInput
from vouch.server.config import Config
from vouch.server.errors import BadRequest, VerificationFailed

_PARSE_ERRORS = (
    InvalidJSONStructure,
    InvalidCBORData,
    InvalidPublicKeyStructure,
    UnsupportedPublicKey,
    UnsupportedPublicKeyType,
    ValueError,
    KeyError,
    TypeError,
    AttributeError,
)
TIMEOUT_MS = 120_000
_P256 = ec.SECP256R1()


@dataclass(frozen=True)
class RegisteredCredential:
    """A verified new credential; `public_key` is its COSE key as py_webauthn returns it."""

    id: bytes
    public_key: bytes
    sign_count: int
    transports: list[str]
    public_key_sha256: bytes


# SubjectPublicKeyInfo DER of a P-256 key, up to its uncompressed point (RFC 5480).
_P256_SPKI_PREFIX = bytes.fromhex("3059301306072a8648ce3d020106082a8648ce3d030107034200")


def spki_sha256(cose_public_key: bytes) -> bytes:
    """SHA-256 of the key as SubjectPublicKeyInfo DER: what the browser's
    `response.getPublicKey()` returns, so the page can name the credential the same way."""
    decoded = decode_credential_public_key(cose_public_key)
    if (
        isinstance(decoded, DecodedEC2PublicKey)
        and decoded.crv == COSECRV.P256
        and len(decoded.x) == len(decoded.y) == 32
    ):
        # The common case without the DER encoder; the point is still checked to be on the
        # curve, as building the key object below would.
        point = b"\x04" + decoded.x + decoded.y
        ec.EllipticCurvePublicKey.from_encoded_point(_P256, point)
        return hashlib.sha256(_P256_SPKI_PREFIX + point).digest()
    key = decoded_public_key_to_cryptography(decoded)
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).digest()


# The parts of the creation options that never change: what py_webauthn's
# generate_registration_options + options_to_json give for our fixed policy (ES256, EdDSA and
# RS256 keys; user verification required; no attestation), built here directly since a
# recovery start asks for them every time. tests/server/test_ceremonies.py compares the two.
_PUBLIC_KEY_PARAMS = [
    {"type": "public-key", "alg": alg} for alg in (-8, -7, -257)
]  # default_supported_pub_key_algs: EdDSA, ES256, RS256
_SELECTION = {
    True: {"residentKey": "required", "requireResidentKey": True, "userVerification": "required"},
    False: {
        "residentKey": "discouraged",
        "requireResidentKey": False,
        "userVerification": "required",
    },
}


def registration_options(
    config: Config,
    *,
    user_id: bytes,
    username: str,
    challenge: bytes,
    exclude: list[bytes],
    discoverable: bool = True,
) -> dict[str, Any]:
    """Options for navigator.credentials.create, as the JSON the browser parses."""
    if not username or not 0 < len(user_id) <= 64 or not challenge:
        raise ValueError(
            "registration options need a user name, a 1-64 byte user ID and a challenge"
        )
    return {
        "rp": {"name": config.rp_name, "id": config.effective_rp_id},
        "user": {"id": b64url_encode(user_id), "name": username, "displayName": username},
        "challenge": b64url_encode(challenge),
        "pubKeyCredParams": [dict(param) for param in _PUBLIC_KEY_PARAMS],
        "timeout": TIMEOUT_MS,
        "excludeCredentials": [
            {"id": b64url_encode(item), "type": "public-key"} for item in exclude
        ],
        "authenticatorSelection": dict(_SELECTION[discoverable]),
        "attestation": "none",
    }


def authentication_options(
    config: Config, *, challenge: bytes, allow: list[bytes] | None = None
) -> dict[str, Any]:
    options = webauthn.generate_authentication_options(
        rp_id=config.effective_rp_id,
        challenge=challenge,
        timeout=TIMEOUT_MS,
        allow_credentials=[PublicKeyCredentialDescriptor(id=item) for item in allow or []],
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    result: dict[str, Any] = json.loads(webauthn.options_to_json(options))
    return result


MAX_TRANSPORTS = 8


def _check_transports(response: object) -> None:
    """`response.transports`, when sent, is a short list of short strings: py_webauthn
    iterates whatever it is given (a string would be stored split into characters)."""
    if not isinstance(response, dict) or "transports" not in response:
        return
    transports = response["transports"]
    if (
        not isinstance(transports, list)
        or len(transports) > MAX_TRANSPORTS
        or not all(isinstance(item, str) and 0 < len(item) <= 32 for item in transports)
    ):
        raise BadRequest(
            f"credential.response.transports is {type(transports).__name__}"
            f"{'' if not isinstance(transports, list) else f' of {len(transports)} items'},"
            f" expected a list of at most {MAX_TRANSPORTS} transport names",
            code="invalid_body",
        )


def verify_registration(
    config: Config, credential: dict[str, Any], *, challenge: bytes
) -> RegisteredCredential:
    """Verify a registration; also check the response's `publicKey` (when the browser sent
    one) is the key the attestation holds, since guardians sign the page's hash of it."""
    _check_transports(credential.get("response"))
    try:
        verified = webauthn.verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=config.effective_rp_id,
            expected_origin=config.origin,
            require_user_verification=True,
        )
        public_key_sha256 = spki_sha256(verified.credential_public_key)
    except InvalidRegistrationResponse as exc:
        raise VerificationFailed(f"The new passkey was not accepted: {exc}") from exc
    except _PARSE_ERRORS as exc:
        raise VerificationFailed(f"The new passkey response is malformed: {exc}") from exc
    response = credential.get("response")
    sent = response.get("publicKey") if isinstance(response, dict) else None
    if sent is not None:
        try:
            sent_der = b64url_decode(sent, what="response.publicKey")
        except MalformedInput as exc:
            raise VerificationFailed(f"The new passkey response is malformed: {exc}") from exc
        if hashlib.sha256(sent_der).digest() != public_key_sha256:
            raise VerificationFailed(
                "The new passkey's response.publicKey is not the key in its attestation.",
                code="new_credential_mismatch",
            )
    transports = response.get("transports") if isinstance(response, dict) else None
    return RegisteredCredential(
        id=verified.credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        transports=[str(item) for item in transports or [] if isinstance(item, str)],
        public_key_sha256=public_key_sha256,
    )


def verify_authentication(
    config: Config,
    credential: dict[str, Any],
    *,
    challenge: bytes,
    public_key: bytes,
    sign_count: int,
) -> int:
    """Verify an assertion; return the authenticator's new signature counter."""
    try:
        verified = webauthn.verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=config.effective_rp_id,
            expected_origin=config.origin,
            credential_public_key=public_key,
            credential_current_sign_count=sign_count,
            require_user_verification=True,
        )
    except InvalidAuthenticationResponse as exc:
        raise VerificationFailed(f"The passkey signature was not accepted: {exc}") from exc
    except _PARSE_ERRORS as exc:
        raise VerificationFailed(f"The passkey response is malformed: {exc}") from exc
    return verified.new_sign_count

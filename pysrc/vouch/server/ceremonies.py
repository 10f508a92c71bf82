"""WebAuthn ceremonies through py_webauthn, with vouch's fixed policy.

User verification is always required. Passkeys are discoverable: sign-in is username-less,
and a recovery asks for a guardian key without naming it (an anonymous start hands out no
credential ID).
Every exception py_webauthn (or the cryptography and cbor2 code under it) raises on a
response is re-raised as VerificationFailed with its message, so a bad response is a 400,
never a 500. A ceremony run in a frame (`crossOrigin`) must have an allowed host page as its
`topOrigin`, which py_webauthn does not check.
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass
from typing import Any

import cbor2
import cryptography.exceptions
import webauthn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn.helpers import (
    base64url_to_bytes,
    decode_credential_public_key,
    decoded_public_key_to_cryptography,
)
from webauthn.helpers.cose import COSECRV, COSEAlgorithmIdentifier
from webauthn.helpers.decode_credential_public_key import (
    DecodedEC2PublicKey,
    DecodedMLDSAPublicKey,
    DecodedOKPPublicKey,
    DecodedRSAPublicKey,
)
from webauthn.helpers.exceptions import (
    InvalidAuthenticationResponse,
    InvalidRegistrationResponse,
    WebAuthnException,
)
from webauthn.helpers.structs import PublicKeyCredentialDescriptor, UserVerificationRequirement

from vouch.core.b64url import b64url_decode, b64url_encode
from vouch.core.errors import MalformedInput
from vouch.server.api import loggable
from vouch.server.config import Config
from vouch.server.errors import BadRequest, VerificationFailed

# What a malformed response can raise from inside py_webauthn, besides its "not accepted"
# exceptions: any of its own (InvalidBackupFlags, UnsupportedEC2Curve, UnsupportedAlgorithm
# escape its verifiers unwrapped), cryptography's and cbor2's, and the built-in ones its
# parsers let through on input of the wrong shape.
_PARSE_ERRORS = (
    WebAuthnException,
    cryptography.exceptions.InvalidSignature,
    cryptography.exceptions.UnsupportedAlgorithm,
    cbor2.CBORError,
    struct.error,
    ValueError,
    LookupError,
    TypeError,
    AttributeError,
    OverflowError,
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
    return _spki_sha256(decode_credential_public_key(cose_public_key))


_DecodedKey = (
    DecodedEC2PublicKey | DecodedOKPPublicKey | DecodedRSAPublicKey | DecodedMLDSAPublicKey
)
# The key type each algorithm we offer (and py_webauthn accepts by default) signs with.
_KEY_TYPE_OF: dict[int, type] = {
    COSEAlgorithmIdentifier.ECDSA_SHA_256: DecodedEC2PublicKey,
    COSEAlgorithmIdentifier.EDDSA: DecodedOKPPublicKey,
    COSEAlgorithmIdentifier.RSASSA_PKCS1_v1_5_SHA_256: DecodedRSAPublicKey,
}


def _check_key_algorithm(decoded: _DecodedKey) -> None:
    """py_webauthn registers a key whose `alg` its type cannot sign with (an EC2 key marked
    EdDSA); every assertion it made would then fail. Refuse it when it is registered."""
    alg = decoded.alg
    expected = _KEY_TYPE_OF.get(alg)
    if expected is None or not isinstance(decoded, expected):
        key_type = type(decoded).__name__.removeprefix("Decoded").removesuffix("PublicKey")
        raise VerificationFailed(
            f"The new passkey's {key_type} key is marked with algorithm {int(alg)}, which"
            f" it cannot sign with; expected one of {sorted(int(a) for a in _KEY_TYPE_OF)}"
            " with its own key type."
        )


def _spki_sha256(decoded: _DecodedKey) -> bytes:
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
_SELECTION = {"residentKey": "required", "requireResidentKey": True, "userVerification": "required"}


def registration_options(
    config: Config,
    *,
    user_id: bytes,
    username: str,
    challenge: bytes,
    exclude: list[bytes],
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
        "authenticatorSelection": dict(_SELECTION),
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


def _check_top_origin(config: Config, credential: dict[str, Any]) -> None:
    """A ceremony in a frame (`crossOrigin: true`) counts only if the page around the frame,
    `topOrigin`, may embed the dialog: py_webauthn checks the frame's origin, not its page's.

    Called once py_webauthn has accepted the response, so clientDataJSON is a JSON object;
    only its two framing members are read here. A browser that says crossOrigin without
    naming the top origin is refused: the page around it cannot be known.
    """
    client_data = json.loads(base64url_to_bytes(credential["response"]["clientDataJSON"]))
    cross_origin = client_data.get("crossOrigin", False)
    if cross_origin is False:
        return
    if cross_origin is not True:
        raise VerificationFailed(
            f"The passkey response's clientDataJSON.crossOrigin is"
            f" {json.dumps(cross_origin)[:40]}, expected true or false."
        )
    top_origin = client_data.get("topOrigin")
    if top_origin not in config.allowed_origins:
        shown = "missing" if top_origin is None else f'"{loggable(top_origin)}"'
        allowed = ", ".join(config.allowed_origins) or "none"
        raise VerificationFailed(
            f"The passkey was used in a frame whose page (topOrigin) is {shown},"
            f" which may not embed this dialog; allowed: {allowed}."
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
        decoded = decode_credential_public_key(verified.credential_public_key)
        _check_key_algorithm(decoded)
        public_key_sha256 = _spki_sha256(decoded)
        _check_top_origin(config, credential)
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
        _check_top_origin(config, credential)
    except InvalidAuthenticationResponse as exc:
        raise VerificationFailed(f"The passkey signature was not accepted: {exc}") from exc
    except _PARSE_ERRORS as exc:
        raise VerificationFailed(f"The passkey response is malformed: {exc}") from exc
    return verified.new_sign_count

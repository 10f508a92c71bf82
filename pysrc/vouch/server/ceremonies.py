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
from webauthn.helpers import decode_credential_public_key, decoded_public_key_to_cryptography
from webauthn.helpers.exceptions import (
    InvalidAuthenticationResponse,
    InvalidCBORData,
    InvalidJSONStructure,
    InvalidPublicKeyStructure,
    InvalidRegistrationResponse,
    UnsupportedPublicKey,
    UnsupportedPublicKeyType,
)
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from vouch.core.b64url import b64url_decode
from vouch.core.errors import MalformedInput
from vouch.server.config import Config
from vouch.server.errors import VerificationFailed

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


@dataclass(frozen=True)
class RegisteredCredential:
    """A verified new credential; `public_key` is its COSE key as py_webauthn returns it."""

    id: bytes
    public_key: bytes
    sign_count: int
    transports: list[str]
    public_key_sha256: bytes


def spki_sha256(cose_public_key: bytes) -> bytes:
    """SHA-256 of the key as SubjectPublicKeyInfo DER: what the browser's
    `response.getPublicKey()` returns, so the page can name the credential the same way."""
    key = decoded_public_key_to_cryptography(decode_credential_public_key(cose_public_key))
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).digest()


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
    options = webauthn.generate_registration_options(
        rp_id=config.effective_rp_id,
        rp_name=config.rp_name,
        user_id=user_id,
        user_name=username,
        challenge=challenge,
        timeout=TIMEOUT_MS,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=(
                ResidentKeyRequirement.REQUIRED
                if discoverable
                else ResidentKeyRequirement.DISCOURAGED
            ),
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=item) for item in exclude],
    )
    result: dict[str, Any] = json.loads(webauthn.options_to_json(options))
    return result


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


def verify_registration(
    config: Config, credential: dict[str, Any], *, challenge: bytes
) -> RegisteredCredential:
    """Verify a registration; also check the response's `publicKey` (when the browser sent
    one) is the key the attestation holds, since guardians sign the page's hash of it."""
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

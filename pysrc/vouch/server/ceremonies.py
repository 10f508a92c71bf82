"""WebAuthn ceremonies through py_webauthn, with vouch's fixed policy.

User verification is always required, resident keys are required (sign-in is username-less),
and py_webauthn's exceptions are re-raised as VerificationFailed with their message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import webauthn
from webauthn.helpers.exceptions import (
    InvalidAuthenticationResponse,
    InvalidCBORData,
    InvalidJSONStructure,
    InvalidRegistrationResponse,
)
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from vouch.server.config import Config
from vouch.server.errors import VerificationFailed

_PARSE_ERRORS = (InvalidJSONStructure, InvalidCBORData, ValueError, KeyError, TypeError)


@dataclass(frozen=True)
class NewCredential:
    id: bytes
    public_key: bytes
    sign_count: int
    transports: list[str]


def registration_options(
    config: Config, *, user_id: bytes, username: str, challenge: bytes, exclude: list[bytes]
) -> dict[str, Any]:
    """Options for navigator.credentials.create, as the JSON the browser parses."""
    options = webauthn.generate_registration_options(
        rp_id=config.effective_rp_id,
        rp_name=config.rp_name,
        user_id=user_id,
        user_name=username,
        challenge=challenge,
        timeout=120_000,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
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
        timeout=120_000,
        allow_credentials=[PublicKeyCredentialDescriptor(id=item) for item in allow or []],
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    result: dict[str, Any] = json.loads(webauthn.options_to_json(options))
    return result


def verify_registration(
    config: Config, credential: dict[str, Any], *, challenge: bytes
) -> NewCredential:
    try:
        verified = webauthn.verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=config.effective_rp_id,
            expected_origin=config.origin,
            require_user_verification=True,
        )
    except InvalidRegistrationResponse as exc:
        raise VerificationFailed(f"The new passkey was not accepted: {exc}") from exc
    except _PARSE_ERRORS as exc:
        raise VerificationFailed(f"The new passkey response is malformed: {exc}") from exc
    transports = credential.get("response", {}).get("transports") or []
    return NewCredential(
        id=verified.credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        transports=[str(item) for item in transports if isinstance(item, str)],
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

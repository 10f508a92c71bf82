"""Errors the API reports to clients: a stable machine `code`, an HTTP status, a sentence.

`STATUS_OF` lists every code a handler may raise with its status, so the OpenAPI document
describes each endpoint's errors from the codes it declares.
"""

from __future__ import annotations

from typing import Any


class VouchError(Exception):
    """Base of every error that becomes a 4xx response; the message is shown to people.

    `extra` adds fields to the error object (`guardian_id`, `retry_after`) that let the page
    point at what went wrong without parsing the sentence.
    """

    status = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        extra: dict[str, Any] | None = None,
    ):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.extra = extra or {}


class BadRequest(VouchError):
    """The request body or parameters are malformed."""


class PayloadTooLarge(VouchError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(VouchError):
    status = 415
    code = "unsupported_media_type"


class ChallengeError(VouchError):
    """A challenge is unknown, used, expired or for another purpose."""

    code = "invalid_challenge"


class VerificationFailed(VouchError):
    """A signature, attestation or assertion did not verify."""

    code = "verification_failed"


class ApprovalInvalid(VouchError):
    """A guardian's approval of a recovery did not verify (one sentence per guardian kind)."""

    code = "approval_invalid"


class IdTokenRefused(VouchError):
    """An OpenID Connect ID token was refused: each reason has its own code and sentence."""

    code = "id_token_invalid"


class ProviderUnavailable(VouchError):
    """An OpenID provider's keys cannot be had right now (it is down, or misconfigured).

    A 400, not a 5xx: the server works, and the page can offer another guardian."""

    code = "oidc_provider_unavailable"


class Unauthorized(VouchError):
    status = 401
    code = "unauthorized"


class NotFound(VouchError):
    status = 404
    code = "not_found"


class Conflict(VouchError):
    status = 409
    code = "conflict"


class RateLimited(VouchError):
    """Too many attempts; `retry_after` seconds until the window that refused it ends."""

    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int):
        super().__init__(message, extra={"retry_after": retry_after})
        self.retry_after = retry_after


STATUS_OF: dict[str, int] = {
    "bad_request": 400,
    "invalid_json": 400,
    "invalid_body": 400,
    "invalid_username": 400,
    "invalid_challenge": 400,
    "challenge_used": 400,
    "challenge_expired": 400,
    "verification_failed": 400,
    "audience_not_allowed": 400,
    "invalid_guardians": 400,
    "unknown_credential": 400,
    "not_a_signin_passkey": 400,
    "unknown_recovery": 400,
    "unknown_guardian": 400,
    "duplicate_guardian": 400,
    "not_enough_approvals": 400,
    "approval_invalid": 400,
    "out_of_band_approval": 400,
    "new_credential_mismatch": 400,
    "oidc_provider_unavailable": 400,
    "id_token_malformed": 400,
    "id_token_algorithm": 400,
    "id_token_unknown_key": 400,
    "id_token_signature": 400,
    "id_token_issuer": 400,
    "id_token_audience": 400,
    "id_token_expired": 400,
    "id_token_too_old": 400,
    "id_token_not_yet_valid": 400,
    "id_token_claims": 400,
    "id_token_nonce": 400,
    "id_token_used": 409,
    "invalid_email": 400,
    "email_code_malformed": 400,
    "unknown_verification": 400,
    "email_code_wrong": 400,
    "email_code_expired": 400,
    "email_code_attempts": 429,
    "email_code_sends": 429,
    "email_code_missing": 400,
    "email_not_verified": 400,
    "not_an_email_guardian": 400,
    "email_code_used": 409,
    "invalid_cancel_link": 400,
    "unknown_contact": 400,
    "contact_is_you": 400,
    "no_invitation": 400,
    "contact_not_accepted": 400,
    "not_a_contact_guardian": 400,
    "no_help_request": 400,
    "help_request_closed": 400,
    "contact_code_wrong": 400,
    "not_your_request": 403,
    "not_a_contact": 403,
    "contact_recently_recovered": 403,
    "unauthorized": 401,
    "not_found": 404,
    "method_not_allowed": 405,
    "conflict": 409,
    "username_taken": 409,
    "account_recovered": 409,
    "credential_exists": 409,
    "guardians_changed": 409,
    "recovery_not_pending": 409,
    "recovery_not_ready": 409,
    "recovery_cancelled": 409,
    "recovery_finished": 409,
    "payload_too_large": 413,
    "unsupported_media_type": 415,
    "rate_limited": 429,
    "busy": 503,
}

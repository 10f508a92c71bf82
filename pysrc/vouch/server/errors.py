"""Errors the API reports to clients: a stable machine `code`, an HTTP status, a sentence."""

from __future__ import annotations


class VouchError(Exception):
    """Base of every error that becomes a 4xx response; the message is shown to people."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status


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


class Unauthorized(VouchError):
    status = 401
    code = "unauthorized"


class NotFound(VouchError):
    status = 404
    code = "not_found"


class Conflict(VouchError):
    status = 409
    code = "conflict"

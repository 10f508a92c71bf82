"""JSON Schema pieces shared by several endpoints.

Request schemas check shape and sizes (so nothing oversized reaches a verifier); what
depends on meaning (key lengths after decoding, KDF policy, thresholds) is checked by the
module that owns it, with a message that names the field.
"""

from __future__ import annotations

from typing import Any

JSONSchema = dict[str, Any]


def b64url(description: str, *, max_length: int = 1400) -> JSONSchema:
    return {
        "type": "string",
        "pattern": "^[A-Za-z0-9_-]*$",
        "minLength": 1,
        "maxLength": max_length,
        "description": f"{description} (unpadded base64url)",
    }


def b64url_bytes(description: str, length: int) -> JSONSchema:
    """Exactly `length` bytes: the unpadded base64url text length is fixed."""
    chars = (length * 8 + 5) // 6
    return {
        "type": "string",
        "pattern": f"^[A-Za-z0-9_-]{{{chars}}}$",
        "description": f"{description} ({length} bytes, unpadded base64url)",
    }


CHALLENGE_ID: JSONSchema = {"type": "string", "minLength": 1, "maxLength": 64}
RECOVERY_ID: JSONSchema = {"type": "string", "minLength": 1, "maxLength": 64}
USERNAME: JSONSchema = {"type": "string", "minLength": 1, "maxLength": 256}
AUDIENCE: JSONSchema = {
    "type": "string",
    "minLength": 1,
    "maxLength": 2048,
    "description": "Origin of the site the host-app token is for: the dialog's own origin"
    " (the default) or one of the server's allowed origins",
}
TIME: JSONSchema = {"type": "integer", "description": "Unix time, seconds"}
WEBAUTHN_CREDENTIAL: JSONSchema = {
    "type": "object",
    "description": "PublicKeyCredential.toJSON() output",
    "properties": {
        "id": {"type": "string", "minLength": 1, "maxLength": 1400},
        "rawId": {"type": "string", "minLength": 1, "maxLength": 1400},
        "type": {"const": "public-key"},
        "response": {"type": "object"},
    },
    "required": ["id", "rawId", "type", "response"],
}
CEREMONY_OPTIONS: JSONSchema = {
    "type": "object",
    "properties": {
        "challenge_id": CHALLENGE_ID,
        "options": {"type": "object", "description": "WebAuthn options JSON"},
    },
    "required": ["challenge_id", "options"],
}
SIGNED_IN: JSONSchema = {
    "type": "object",
    "properties": {
        "account": {"type": "string"},
        "username": {"type": "string"},
        "session": {"type": "string", "description": "Bearer token for the dialog's API calls"},
        "token": {
            "type": "string",
            "description": "EdDSA JWT for the host app (verify with /.well-known/jwks.json)",
        },
    },
    "required": ["account", "username", "session", "token"],
}
EMPTY_OBJECT: JSONSchema = {"type": "object", "additionalProperties": False}

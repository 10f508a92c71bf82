"""JSON Schema pieces shared by several endpoints."""

from __future__ import annotations

from typing import Any

CHALLENGE_ID: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": 64}
USERNAME: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": 256}
WEBAUTHN_CREDENTIAL: dict[str, Any] = {
    "type": "object",
    "description": "PublicKeyCredential.toJSON() output",
    "properties": {
        "id": {"type": "string", "minLength": 1, "maxLength": 1024},
        "rawId": {"type": "string", "minLength": 1, "maxLength": 1024},
        "type": {"const": "public-key"},
        "response": {"type": "object"},
    },
    "required": ["id", "rawId", "type", "response"],
}
CEREMONY_OPTIONS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "challenge_id": CHALLENGE_ID,
        "options": {"type": "object", "description": "WebAuthn options JSON"},
    },
    "required": ["challenge_id", "options"],
}
SIGNED_IN: dict[str, Any] = {
    "type": "object",
    "properties": {
        "account": {"type": "string"},
        "username": {"type": "string"},
        "session": {"type": "string", "description": "Bearer token for the dialog's API calls"},
    },
    "required": ["account", "username", "session"],
}
EMPTY_OBJECT: dict[str, Any] = {"type": "object", "additionalProperties": False}

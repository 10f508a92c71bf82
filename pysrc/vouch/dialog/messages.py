"""Errors turned into sentences for people: no tracebacks, no DOMException names."""

from __future__ import annotations

WEBAUTHN_MESSAGES = {
    "NotAllowedError": (
        "No passkey was used: the request was cancelled or timed out, or this device has no "
        "passkey for this site."
    ),
    "InvalidStateError": "This device already holds a passkey for this account.",
    "AbortError": "The passkey request was cancelled.",
    "SecurityError": "This page is not allowed to use passkeys for this site.",
    "NotSupportedError": "This browser or device cannot create the kind of passkey needed.",
    "ConstraintError": "This device cannot verify you (no PIN, fingerprint or face unlock).",
}
NETWORK_MESSAGE = "The server could not be reached. Check your connection and try again."
UNEXPECTED_MESSAGE = "Something went wrong on our side. Please try again."
NO_WEBAUTHN_MESSAGE = "This browser does not support passkeys."


def webauthn_message(name: str) -> str:
    return WEBAUTHN_MESSAGES.get(name, "The passkey request failed. Please try again.")

"""Errors turned into sentences for people: no tracebacks, no DOMException names."""

from __future__ import annotations

from vouch.core.errors import VouchError, WeakPassphrase
from vouch.core.usernames import InvalidUsername

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


def weak_passphrase_message(error: WeakPassphrase) -> str:
    parts = ["This passphrase is too easy to guess."]
    if error.warning:
        parts.append(error.warning.rstrip(".") + ".")
    parts.extend(suggestion.rstrip(".") + "." for suggestion in error.suggestions)
    return " ".join(parts)


def input_message(error: ValueError) -> str:
    """A sentence for a core validation error (typo in a code, weak passphrase, bad name)."""
    if isinstance(error, WeakPassphrase):
        return weak_passphrase_message(error)
    if isinstance(error, (VouchError, InvalidUsername)):
        text = str(error)
        return text[0].upper() + text[1:] if text else UNEXPECTED_MESSAGE
    return UNEXPECTED_MESSAGE


STRENGTH_WORDS = ("Very weak", "Weak", "Fair", "Strong", "Very strong")

"""The errors ``vouch.core`` raises, in one flat module.

Each is a ``ValueError`` (the input was wrong) with a stable ``code`` that the
server maps to a 4xx response and the dialog to a message; the text says what
arrived and what was expected.
"""

from __future__ import annotations

from typing import ClassVar


class VouchError(ValueError):
    """Base of vouch's input errors; ``code`` is stable, the message is for people."""

    code: ClassVar[str] = "invalid_input"


class InvalidCode(VouchError):
    """A recovery or backup code was mistyped: bad length, character or check symbol.

    ``positions`` are the symbols (0-based, separators not counted) that look wrong, for a
    field to mark; ``looks_like`` names the other kind when the code has its length (a
    recovery code typed where a backup code was asked for)."""

    code: ClassVar[str] = "invalid_code"

    def __init__(
        self, message: str, *, positions: tuple[int, ...] = (), looks_like: str | None = None
    ) -> None:
        super().__init__(message)
        self.positions = positions
        self.looks_like = looks_like


class PolicyViolation(VouchError):
    """Parameters are valid for the algorithm but below what vouch accepts."""

    code: ClassVar[str] = "policy_violation"


class WeakPassphrase(VouchError):
    """zxcvbn scored the passphrase below the minimum; carries its feedback."""

    code: ClassVar[str] = "weak_passphrase"

    def __init__(
        self, *, score: int, minimum: int, warning: str, suggestions: tuple[str, ...]
    ) -> None:
        detail = f": {warning}" if warning else ""
        super().__init__(
            f"Passphrase is too weak (strength {score} of 4, need at least {minimum}){detail}"
        )
        self.score = score
        self.minimum = minimum
        self.warning = warning
        self.suggestions = suggestions


class MalformedInput(VouchError):
    """Structured input (a message field, a KDF descriptor) has the wrong type, length or range."""

    code: ClassVar[str] = "malformed_input"

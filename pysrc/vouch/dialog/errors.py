"""The dialog's exceptions, pure Python: what the js adapter raises for a failed browser call.

They live apart from `jsbridge` so that screens and their tests can name them on CPython.
"""

from __future__ import annotations


class UserFacingError(Exception):
    """An error whose message is already written for people."""


class ApprovalRefused(UserFacingError):
    """The server refused a guardian's approval (wrong secret, or a decoy's guardian: the
    words are the same, so they tell nobody whether the account exists)."""


class SignInFailed(UserFacingError):
    """Signing in at an OpenID provider did not give an ID token: the window was blocked or
    closed, or the provider answered with an error (its words are in the message)."""


class WebAuthnError(Exception):
    """A WebAuthn ceremony failed; `name` is the DOMException name (NotAllowedError, ...)."""

    def __init__(self, name: str, message: str):
        super().__init__(message)
        self.name = name

    @property
    def blocked_in_frame(self) -> bool:
        """The browser refuses WebAuthn in this frame (Permissions Policy, not the user)."""
        text = str(self)
        return "feature is not enabled" in text or "Permissions Policy" in text


class NetworkError(Exception):
    """The request never got an HTTP answer."""

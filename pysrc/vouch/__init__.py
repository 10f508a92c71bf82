"""vouch: passkey sign-in and guardian-based account recovery."""

__version__ = "0.1.0"

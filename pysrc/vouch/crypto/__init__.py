"""Cryptographic primitives behind one async interface, native or in the browser.

Importing this package loads neither ``cryptography`` nor ``js``: the
implementations are imported only when asked for, so ``vouch.core`` can
depend on the interface in every runtime.
"""

from __future__ import annotations

from vouch.crypto.provider import Provider

__all__ = ["Provider", "default_provider"]


def default_provider() -> Provider:
    """The native provider where ``cryptography`` imports, else the browser one."""
    try:
        from vouch.crypto.native import NativeProvider
    except ImportError:
        from vouch.crypto.browser import BrowserProvider

        return BrowserProvider()
    return NativeProvider()

"""A coarse name for the device a request came from ("Firefox on Windows"), for the mail
that tells the owner what happened. Coarse on purpose: the owner needs to tell their own
device from a stranger's, not a version number, and the mail should carry no fingerprint.

A small ordered list of tokens instead of a parser library: the order is what matters (every
Chromium browser says "Chrome" and "Safari", every iOS browser says "Safari").
"""

from __future__ import annotations

# First match wins: browsers built on another say both names, so the specific one comes first.
_BROWSERS = (
    ("EdgiOS/", "Edge"),
    ("EdgA/", "Edge"),
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("SamsungBrowser/", "Samsung Internet"),
    ("FxiOS/", "Firefox"),
    ("Firefox/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("Android", "Android"),
    ("CrOS", "ChromeOS"),
    ("Windows", "Windows"),
    ("Macintosh", "macOS"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
)
UNKNOWN = "an unknown browser"


def describe(user_agent: str | None) -> str:
    """'Chrome on Android', 'Safari on iOS', 'Firefox', or 'an unknown browser'."""
    if not user_agent:
        return UNKNOWN
    browser = next((name for token, name in _BROWSERS if token in user_agent), None)
    system = next((name for token, name in _SYSTEMS if token in user_agent), None)
    if browser is None:
        return f"an unknown browser on {system}" if system else UNKNOWN
    return f"{browser} on {system}" if system else browser

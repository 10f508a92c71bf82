"""The embed protocol, dialog side: who opened us, whether they may, and what we tell them.

The host page (web/vouch.js) opens the dialog with `?mode=...&origin=<host origin>&nonce=...`.
Every message goes out with postMessage to that exact origin, so a page that lies about its
origin never receives anything; and the origin must be one the server allows, so tokens are
only minted for sites the operator listed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

MODES = ("signin", "account", "recover")
DISPLAYS = ("popup", "iframe")
_NONCE = re.compile(r"[A-Za-z0-9_-]{8,64}")


class EmbedRefused(Exception):
    """The dialog must not run for this host; the message says why."""


@dataclass(frozen=True)
class Launch:
    mode: str
    host_origin: str | None
    display: str | None
    nonce: str
    # The SDK holds a session of this host page and will post it (mode "account" only):
    # the dialog waits for it instead of asking for the passkey again.
    resume: bool = False

    @property
    def embedded(self) -> bool:
        return self.host_origin is not None


def normalize_origin(text: str) -> str | None:
    """scheme://host[:port] exactly, or None if `text` is not a bare origin."""
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        return None
    return f"{parts.scheme}://{parts.netloc.lower()}"


def parse_launch(params: dict[str, str]) -> Launch:
    mode = params.get("mode", "signin")
    if mode not in MODES:
        mode = "signin"
    host = params.get("origin")
    display = params.get("display")
    nonce = params.get("nonce", "")
    if host is None:
        return Launch(mode=mode, host_origin=None, display=None, nonce="")
    origin = normalize_origin(host)
    if origin is None:
        raise EmbedRefused(f'The embedding page gave "{host}" as its origin, which is not one.')
    if display not in DISPLAYS:
        raise EmbedRefused(f'Unknown display "{display}": expected popup or iframe.')
    if not _NONCE.fullmatch(nonce):
        raise EmbedRefused("The embedding page did not give a valid nonce.")
    resume = mode == "account" and params.get("resume") == "1"
    return Launch(mode=mode, host_origin=origin, display=display, nonce=nonce, resume=resume)


def check_host(launch: Launch, allowed: list[str], own_origin: str, framed_by: str | None) -> None:
    """Refuse hosts the server does not allow, and frames whose real parent is another site."""
    if framed_by is not None and launch.host_origin is None:
        raise EmbedRefused("This dialog can only be framed through the vouch SDK.")
    if launch.host_origin is None:
        return
    if launch.host_origin != own_origin and launch.host_origin not in allowed:
        raise EmbedRefused(f"{launch.host_origin} is not allowed to use this sign-in dialog.")
    if framed_by and framed_by != launch.host_origin:
        raise EmbedRefused(f"This dialog is framed by {framed_by}, not {launch.host_origin}.")

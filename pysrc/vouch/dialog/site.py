"""Which site the user is on, in the words they know it by, and whether this is its address.

A recovery kit is read months later by someone locked out: it must say which site the
account is on ("Example App (https://app.example.com)") and what to open to recover. An
embedded dialog names the host page that opened it, as the server's /api/config names it
(`serve.py --allow-origin ORIGIN=NAME`); on the dialog's own page, the dialog itself.

Passkeys belong to one origin, so a dialog opened at another name for the same server
(127.0.0.1 for localhost) cannot work; `wrong_address` says where to go instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from vouch.dialog.embed import Launch, normalize_origin

DIALOG_PATH = "/dialog.html"


@dataclass(frozen=True)
class Site:
    name: str  # "Example App"
    origin: str  # "https://app.example.com"
    url: str  # what to open to recover: the host site, or the dialog's own page

    @property
    def title(self) -> str:
        """The name and the address, so a lookalike name cannot pass for the site."""
        return self.name if self.name == self.origin else f"{self.name} ({self.origin})"


def _host_name(origin: str) -> str:
    return urlsplit(origin).hostname or origin


def site_of(config: Mapping[str, Any] | None, launch: Launch, own_origin: str) -> Site:
    """The site a kit made now belongs to; without the server's config (it did not answer),
    each origin goes by its host name."""
    config = config or {}
    if launch.host_origin is not None and launch.host_origin != own_origin:
        names = config.get("site_names") or {}
        origin = launch.host_origin
        return Site(str(names.get(origin) or _host_name(origin)), origin, origin)
    origin = str(config.get("origin") or own_origin)
    name = str(config.get("rp_name") or _host_name(origin))
    return Site(name, origin, origin + DIALOG_PATH)


def wrong_address(config: Mapping[str, Any], own_origin: str, path_and_query: str) -> str | None:
    """The address to open instead, when the page is not at the server's dialog origin."""
    expected = normalize_origin(str(config.get("origin", "")))
    if expected is None or expected == normalize_origin(own_origin):
        return None
    return expected + path_and_query


def wrong_address_message(address: str) -> str:
    parts = urlsplit(address)
    origin = f"{parts.scheme}://{parts.netloc}"
    return (
        f"This sign-in dialog's address is {origin}. Passkeys work only at the address they"
        " belong to, so open the dialog there:"
    )

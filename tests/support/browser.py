"""Headless Chromium for tests: Debian's build when present, with CDP virtual authenticators."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import BrowserContext, CDPSession, ConsoleMessage, Page, Request

# Without these, Chromium on a closed network keeps trying to reach Google's services.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
]


def chromium_executable() -> str | None:
    """Debian's /usr/bin/chromium (or $VOUCH_CHROMIUM); None lets Playwright use its own."""
    configured = os.environ.get("VOUCH_CHROMIUM")
    if configured:
        return configured
    for candidate in ("/usr/bin/chromium", shutil.which("chromium")):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


def attach_authenticator(context: BrowserContext, page: Page) -> VirtualAuthenticator:
    """A fresh platform authenticator in `page`'s WebAuthn environment (no browser UI)."""
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    return VirtualAuthenticator(cdp).add()


class VirtualAuthenticator:
    """A CDP virtual platform authenticator: ctap2, internal, resident keys, UV."""

    def __init__(self, cdp: CDPSession):
        self.cdp = cdp
        self.id: str | None = None

    def add(self, transport: str = "internal") -> VirtualAuthenticator:
        """`internal` is the phone's platform authenticator; `usb` a security key."""
        result = self.cdp.send(
            "WebAuthn.addVirtualAuthenticator",
            {
                "options": {
                    "protocol": "ctap2",
                    "transport": transport,
                    "hasResidentKey": True,
                    "hasUserVerification": True,
                    "isUserVerified": True,
                    "automaticPresenceSimulation": True,
                }
            },
        )
        self.id = result["authenticatorId"]
        return self

    def remove(self) -> None:
        """The lost phone: the authenticator and every credential on it are gone."""
        assert self.id is not None
        self.cdp.send("WebAuthn.removeVirtualAuthenticator", {"authenticatorId": self.id})
        self.id = None

    def set_presence(self, enabled: bool) -> None:
        """Whether this authenticator answers at all (a key left in a drawer does not)."""
        assert self.id is not None
        self.cdp.send(
            "WebAuthn.setAutomaticPresenceSimulation",
            {"authenticatorId": self.id, "enabled": enabled},
        )

    def add_credential(self, credential: dict[str, Any]) -> None:
        """Put a credential exported with credentials() onto this authenticator."""
        assert self.id is not None
        self.cdp.send(
            "WebAuthn.addCredential", {"authenticatorId": self.id, "credential": credential}
        )

    def credentials(self) -> list[dict[str, Any]]:
        assert self.id is not None
        result = self.cdp.send("WebAuthn.getCredentials", {"authenticatorId": self.id})
        credentials: list[dict[str, Any]] = result["credentials"]
        return credentials


@dataclass
class PageWatch:
    """Everything a page did that a test must fail on: other origins, errors."""

    origin: str
    foreign_requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    also_allowed: set[str] = field(default_factory=set)

    def attach(self, page: Page) -> None:
        page.on("request", self._on_request)
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))

    def _on_request(self, request: Request) -> None:
        self.requests.append(request)
        parts = urlsplit(request.url)
        if parts.scheme in ("data", "blob", "about"):
            return
        if f"{parts.scheme}://{parts.netloc}" not in self.allowed_origins():
            self.foreign_requests.append(request.url)

    def allowed_origins(self) -> set[str]:
        return {self.origin, *self.also_allowed}

    def _on_console(self, message: ConsoleMessage) -> None:
        self.console.append(f"{message.type}: {message.text}")
        if _is_expected_api_refusal(message):
            return
        if message.type == "error":
            self.errors.append(f"console error: {message.text}")

    def assert_clean(self) -> None:
        assert not self.foreign_requests, f"requests to other origins: {self.foreign_requests}"
        assert not self.errors, f"errors in the page: {self.errors}"


def _is_expected_api_refusal(message: ConsoleMessage) -> bool:
    """Chromium logs every 4xx fetch; an API refusal the dialog handles is not a page error."""
    return message.text.startswith(
        "Failed to load resource: the server responded with a status of 4"
    ) and "/api/" in message.location.get("url", "")

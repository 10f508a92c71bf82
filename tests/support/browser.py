"""Headless Chromium for tests: Debian's build when present, with CDP virtual authenticators."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import BrowserContext, CDPSession, ConsoleMessage, Page, Request

# Without most of these, Chromium on a closed network keeps trying to reach Google's services.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    # Shared memory from /tmp, not /dev/shm: a container's /dev/shm is often 64 MiB, and a
    # page with Pyodide's heap and a second context open beside it can outgrow it, which
    # Chromium reports as "Page crashed" (more often on a busy machine, slower to free it).
    "--disable-dev-shm-usage",
]


# Generous deadlines for a machine busy with other work: every wait is for a condition
# (a selector, a text, a navigation), so a long deadline costs nothing when things are fast.
ACTION_TIMEOUT_MS = 60_000
NAVIGATION_TIMEOUT_MS = 120_000
EXPECT_TIMEOUT_MS = 30_000


class PlaywrightLoop:
    """Sync Playwright's event loop, marked as running in the main thread only for browser tests.

    Sync Playwright runs an asyncio loop in a greenlet of the main thread, and at the end of
    every call it marks that loop as the thread's running loop (``wait_for_future`` in
    ``playwright/_impl/_greenlets.py``), because the loop is suspended mid-run in its greenlet
    and must find itself there when the next call resumes it. Left like that between tests,
    every later ``asyncio.run()`` or ``asyncio.Runner`` in the main thread refuses to start
    ("cannot be called from a running event loop"). So the browser conftest attaches the
    loop around each phase of a browser test (and around the session's own teardown of the
    browser) and detaches it after: the rest of the suite never sees it, in any order.
    """

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None

    def adopt(self) -> None:
        """Right after sync_playwright() started: its loop is the thread's running loop now."""
        self.loop = asyncio._get_running_loop()
        assert self.loop is not None, "sync Playwright did not mark its loop as running"

    def forget(self) -> None:
        self.detach()
        self.loop = None

    def detach(self) -> None:
        if self.loop is not None and asyncio._get_running_loop() is self.loop:
            asyncio._set_running_loop(None)

    @contextmanager
    def attached(self) -> Iterator[None]:
        """Playwright calls may be made inside; nothing of it is left running after."""
        loop = self.loop
        if loop is not None and not loop.is_closed() and asyncio._get_running_loop() is None:
            asyncio._set_running_loop(loop)
        try:
            yield
        finally:
            self.detach()


PLAYWRIGHT_LOOP = PlaywrightLoop()


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
    crashes: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    also_allowed: set[str] = field(default_factory=set)

    def attach(self, page: Page) -> None:
        page.on("request", self._on_request)
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        page.on("crash", lambda crashed: self.crashes.append(crashed.url))

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
        # A renderer killed under memory pressure (the kernel's OOM killer picks Chromium's
        # renderers first: they run with oom_score_adj 300) or crashed: say so plainly.
        assert not self.crashes, f"the renderer of {self.crashes} crashed (out of memory?)"
        assert not self.foreign_requests, f"requests to other origins: {self.foreign_requests}"
        assert not self.errors, f"errors in the page: {self.errors}"


def _is_expected_api_refusal(message: ConsoleMessage) -> bool:
    """Chromium logs every 4xx fetch; an API refusal the dialog handles is not a page error."""
    return message.text.startswith(
        "Failed to load resource: the server responded with a status of 4"
    ) and "/api/" in message.location.get("url", "")

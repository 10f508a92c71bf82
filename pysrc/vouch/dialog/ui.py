"""The controller's shared machinery: one mounted screen, busy states, and error reporting.

Every user action runs through `run`, which turns any failure into a sentence in the alert
region; no traceback reaches the user. `Ui` is most of `shell.Shell`; `app.Dialog` adds
the rest (the start screen, signing in and out).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from vouch.crypto import default_provider
from vouch.crypto.provider import Provider
from vouch.dialog import jsbridge, messages
from vouch.dialog.api import ApiClient, ApiError
from vouch.dialog.embed import Launch
from vouch.dialog.errors import NetworkError, UserFacingError, WebAuthnError
from vouch.dialog.shell import Handler
from vouch.dialog.site import Site, site_of, wrong_address, wrong_address_message

__all__ = ["Ui", "describe", "refuse_wrong_address"]


class Ui:
    def __init__(self, api: ApiClient):
        self._api = api
        self._page = jsbridge.Page()
        # One provider for the page: it remembers when this browser fell back to hash-wasm.
        self._provider = default_provider()
        self.screen: jsbridge.Screen | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        # GET /api/config once it has answered (the dialog starts without waiting for it).
        self.server_config: dict[str, Any] | None = None

    @property
    def launch(self) -> Launch:
        raise NotImplementedError  # app.Dialog's

    @property
    def site(self) -> Site:
        return site_of(self.server_config, self.launch, jsbridge.own_origin())

    @property
    def api(self) -> ApiClient:
        return self._api

    @property
    def page(self) -> jsbridge.Page:
        return self._page

    @property
    def provider(self) -> Provider:
        return self._provider

    def show(self, template_id: str) -> jsbridge.Screen:
        """Replace the screen, release the old one's listeners, and move focus to its title."""
        if self.screen is not None:
            self.screen.release()
        jsbridge.show_error(None)
        self.screen = jsbridge.Screen(template_id)
        self.screen.focus("h2")
        return self.screen

    def show_busy(self, text: str) -> None:
        self.show("tpl-busy").set_text("[data-slot=text]", text)

    def error(self, message: str) -> None:
        jsbridge.show_error(message)

    def spawn(self, work: Awaitable[None]) -> None:
        """Run a coroutine from an event handler, keeping a reference until it ends."""
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def run(self, work: Callable[[], Awaitable[None]], *, on_error: Handler | None = None) -> None:
        """Run an action; on failure restore a screen (`on_error`) and say what went wrong."""

        async def guarded() -> None:
            try:
                await work()
            except Exception as exc:  # every failure becomes a sentence, never a traceback
                if self.intercept(exc):
                    return
                if on_error is not None:
                    on_error()
                self.error(describe(exc))

        self.spawn(guarded())

    def after_loading(self, show: Handler, *, on_error: Handler) -> Handler:
        """An event handler that runs `show` once the deferred modules are in (at once, usually).

        The dialog fetches them as soon as it is up; a click that comes first waits for
        them behind a busy screen. A failed download puts back the screen the click came
        from (`on_error`), says so, and is tried again on the next click.
        """

        def handler() -> None:
            async def work() -> None:
                if not jsbridge.deferred_loaded():
                    self.show_busy("Loading…")
                await jsbridge.load_deferred()
                show()

            self.run(work, on_error=on_error)

        return handler

    async def load_deferred(self) -> None:
        await jsbridge.load_deferred()

    def preload(self) -> None:
        """Start fetching the deferred modules; a failure waits for the click that needs them."""

        async def work() -> None:
            with contextlib.suppress(NetworkError):
                await jsbridge.load_deferred()

        self.spawn(work())

    def intercept(self, exc: Exception) -> bool:
        """Handle a failure some other way than a message; True if handled."""
        return False

    async def adopt_config(self, config: Awaitable[dict[str, Any]]) -> None:
        """Keep the server's public settings once they answer (the first screen does not wait
        for them); a page at the wrong address is replaced by where to go instead."""
        try:
            self.server_config = await config
        except (ApiError, NetworkError):
            return  # the kit names the site by this page's address meanwhile
        refuse_wrong_address(self.server_config)


def refuse_wrong_address(config: dict[str, Any]) -> bool:
    """At another address than the server's origin (127.0.0.1 for localhost), no passkey
    could work: say which address to open, as a link. True if refused."""
    address = wrong_address(config, jsbridge.own_origin(), jsbridge.path_and_query())
    if address is None:
        return False
    jsbridge.show_refusal(wrong_address_message(address), link=address)
    return True


def describe(exc: BaseException) -> str:
    if isinstance(exc, UserFacingError):
        return str(exc)
    if isinstance(exc, WebAuthnError):
        return messages.webauthn_message(exc.name)
    if isinstance(exc, ApiError):
        return exc.message
    if isinstance(exc, NetworkError):
        return messages.NETWORK_MESSAGE
    if isinstance(exc, ValueError):
        return messages.input_message(exc)
    jsbridge.console_warn(f"vouch: unexpected {type(exc).__name__}")
    return messages.UNEXPECTED_MESSAGE

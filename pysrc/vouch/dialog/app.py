"""The dialog's controller: screens, their events, and the passkey ceremonies.

Ceremony options are fetched ahead of time, so a click starts the WebAuthn call
synchronously inside the event handler (Safari drops ceremonies begun after an await).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from vouch.core.usernames import InvalidUsername, normalize_username
from vouch.dialog import jsbridge, messages
from vouch.dialog.api import ApiClient, ApiError

Prefetched = dict[str, Any]


class Dialog:
    def __init__(self, api: ApiClient):
        self.api = api
        self.screen: jsbridge.Screen | None = None
        self.signin_options: Prefetched | None = None
        self.register_options: Prefetched | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # Screens ------------------------------------------------------------------------------

    def show(self, template_id: str) -> jsbridge.Screen:
        if self.screen is not None:
            self.screen.release()
        self.screen = jsbridge.Screen(template_id)
        return self.screen

    def show_start(self) -> None:
        screen = self.show("tpl-start")
        screen.on("[data-action=signin]", "click", self.on_signin)
        screen.on("[data-form=create]", "submit", self.on_create)

    def show_busy(self, text: str) -> None:
        self.show("tpl-busy").set_text("[data-slot=text]", text)

    def show_signed_in(self, username: str) -> None:
        screen = self.show("tpl-signed-in")
        screen.set_text("[data-slot=text]", f"Signed in as {username}")
        screen.on("[data-action=signout]", "click", self.on_signout)
        screen.focus("h2")

    # Prefetching --------------------------------------------------------------------------

    async def prefetch(self) -> None:
        """Fetch fresh single-use options for both ceremonies."""
        try:
            self.signin_options, self.register_options = await asyncio.gather(
                self.api.signin_options(), self.api.register_options()
            )
        except (ApiError, jsbridge.NetworkError):
            self.signin_options = self.register_options = None

    async def _options(self, kind: str) -> Prefetched:
        current = self.signin_options if kind == "signin" else self.register_options
        if current is not None:
            return current
        if kind == "signin":
            return await self.api.signin_options()
        return await self.api.register_options()

    # Events -------------------------------------------------------------------------------

    def on_signin(self, event: Any) -> None:
        jsbridge.show_error(None)
        prefetched = self.signin_options
        self.signin_options = None
        promise = jsbridge.start_get(prefetched["options"]) if prefetched else None
        self.spawn(self.signin(prefetched, promise))

    def on_create(self, event: Any) -> None:
        jsbridge.prevent_default(event)
        jsbridge.show_error(None)
        assert self.screen is not None
        try:
            username = normalize_username(self.screen.value("#username"))
        except InvalidUsername as exc:
            jsbridge.show_error(str(exc))
            self.screen.focus("#username")
            return
        prefetched = self.register_options
        self.register_options = None
        promise = None
        if prefetched is not None:
            promise = jsbridge.start_create(_named(prefetched["options"], username))
        self.spawn(self.create(username, prefetched, promise))

    def on_signout(self, event: Any) -> None:
        self.api.session = None
        self.show_start()
        self.spawn(self.prefetch())

    # Ceremonies ---------------------------------------------------------------------------

    async def signin(self, prefetched: Prefetched | None, promise: Any) -> None:
        async def ceremony() -> dict[str, Any]:
            options = prefetched or await self.api.signin_options()
            started = promise or jsbridge.start_get(options["options"])
            self.show_busy("Waiting for your passkey…")
            credential = await jsbridge.finish_ceremony(started)
            self.show_busy("Checking your passkey…")
            return await self.api.signin_verify(options["challenge_id"], credential)

        await self._run_ceremony(ceremony)

    async def create(self, username: str, prefetched: Prefetched | None, promise: Any) -> None:
        async def ceremony() -> dict[str, Any]:
            options = prefetched or await self.api.register_options()
            started = promise or jsbridge.start_create(_named(options["options"], username))
            self.show_busy("Creating your passkey…")
            credential = await jsbridge.finish_ceremony(started)
            self.show_busy("Creating your account…")
            return await self.api.register_verify(options["challenge_id"], username, credential)

        await self._run_ceremony(ceremony)

    async def _run_ceremony(self, ceremony: Callable[[], Awaitable[dict[str, Any]]]) -> None:
        try:
            result = await ceremony()
        except jsbridge.WebAuthnError as exc:
            self._fail(messages.webauthn_message(exc.name))
        except ApiError as exc:
            self._fail(exc.message)
        except jsbridge.NetworkError:
            self._fail(messages.NETWORK_MESSAGE)
        else:
            self.api.session = result["session"]
            self.show_signed_in(result["username"])
            return
        await self.prefetch()

    def _fail(self, message: str) -> None:
        self.show_start()
        jsbridge.show_error(message)

    def spawn(self, work: Awaitable[None]) -> None:
        """Run a coroutine from an event handler, keeping a reference until it ends."""
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _named(options: dict[str, Any], username: str) -> dict[str, Any]:
    """The prefetched creation options with the account name the user typed."""
    user = {**options["user"], "name": username, "displayName": username}
    return {**options, "user": user}


async def main() -> None:
    if not jsbridge.webauthn_available():
        jsbridge.show_error(messages.NO_WEBAUTHN_MESSAGE)
    dialog = Dialog(ApiClient())
    dialog.show_start()
    jsbridge.set_ready()
    await dialog.prefetch()

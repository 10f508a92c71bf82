"""The dialog's entry point and start screen: sign in, create an account, or recover.

Ceremony options are fetched ahead of time, so a click starts the WebAuthn call
synchronously inside the event handler (Safari drops ceremonies begun after an await).
"""

from __future__ import annotations

import asyncio
from typing import Any

from vouch.core.usernames import normalize_username
from vouch.dialog import jsbridge, messages
from vouch.dialog.account_screens import AccountScreens
from vouch.dialog.api import ApiClient, ApiError
from vouch.dialog.embed import EmbedRefused, Launch, check_host, parse_launch
from vouch.dialog.errors import NetworkError, WebAuthnError
from vouch.dialog.host import HostChannel
from vouch.dialog.kinds import link_in
from vouch.dialog.kinds.base import Link, LinkStep
from vouch.dialog.recovery_screens import RecoveryScreens
from vouch.dialog.shell import SIGNED_IN, Arrival, Handler
from vouch.dialog.ui import Ui, refuse_wrong_address
from vouch.dialog.welcome import Welcome

Prefetched = dict[str, Any]
RESUME_WAIT_SECONDS = 3  # the SDK answers our "ready" at once; this only covers its absence


class Dialog(Ui):
    """The whole dialog: `shell.Shell` for the account and recovery screens."""

    def __init__(self, api: ApiClient, launch: Launch):
        super().__init__(api)
        self._launch = launch
        self.host = HostChannel(launch)
        self.signin_options: Prefetched | None = None
        self.register_options: Prefetched | None = None
        self.waiting_for_session = False
        # What a sign-in begun from a kind's link does once signed in, instead of going on.
        self.errand: Handler | None = None
        self.signed_in_as: dict[str, Any] | None = None  # the last sign-in's result
        self.account = AccountScreens(self)
        self.recovery = RecoveryScreens(self)
        self.welcome = Welcome(self, self.account)
        self.account.recommend = self.recommend_from_account

    @property
    def launch(self) -> Launch:
        return self._launch

    @property
    def audience(self) -> str | None:
        return self.launch.host_origin

    # Start screen -------------------------------------------------------------------------

    def show_start(self, typed: str = "") -> None:
        """The start screen; `typed` puts back the account name after a failed sign-up."""
        screen = self.show("tpl-start")
        screen.set_value("#username", typed)
        screen.on("[data-action=signin]", "click", self.on_signin)
        screen.on_submit("[data-form=create]", self.on_create)
        # The host asked to manage an account: there is one already, so no sign-up here.
        managing = self.launch.mode == "account"
        screen.set_hidden("[data-form=create]", managing)
        if managing:
            screen.set_text("h2", "Manage your account")
            screen.set_text("[data-slot=lede]", "Sign in with your passkey to manage it.")
        screen.on("[data-action=recover]", "click", self.recovery.show_name)
        screen.set_hidden("[data-action=cancel]", not self.launch.embedded)
        screen.on("[data-action=cancel]", "click", self.on_cancel)
        if self.signin_options is None or self.register_options is None:
            self.spawn(self.prefetch())

    async def prefetch(self) -> None:
        """Fresh single-use options for both ceremonies; a failure waits for the click."""
        try:
            self.signin_options, self.register_options = await asyncio.gather(
                self.api.signin_options(), self.api.register_options()
            )
        except (ApiError, NetworkError):
            self.signin_options = self.register_options = None

    def on_signin(self, on_error: Handler | None = None) -> None:
        """Inside the click: the passkey sign-in; a failure shows `on_error` (the start)."""
        prefetched, self.signin_options = self.signin_options, None
        ceremony = self.page.start_get(prefetched["options"]) if prefetched else None

        async def signin() -> None:
            options = prefetched or await self.api.signin_options()
            started = ceremony or self.page.start_get(options["options"])
            self.show_busy("Waiting for your passkey…")
            credential = await started.credential()
            self.show_busy("Checking your passkey…")
            result = await self.api.signin_verify(
                options["challenge_id"], credential, self.audience
            )
            self.signed_in(result)

        def failed() -> None:
            self.errand = None
            (on_error or self.show_start)()

        self.run(signin, on_error=failed)

    def on_create(self) -> None:
        assert self.screen is not None
        typed = self.screen.value("#username")
        try:
            username = normalize_username(typed)
        except ValueError as exc:
            self.error(messages.input_message(exc))
            self.screen.focus("#username")
            return
        prefetched, self.register_options = self.register_options, None
        ceremony = None
        if prefetched is not None:
            ceremony = self.page.start_create(named(prefetched["options"], username))

        async def create() -> None:
            options = prefetched or await self.api.register_options()
            started = ceremony or self.page.start_create(named(options["options"], username))
            self.show_busy("Creating your passkey…")
            credential = await started.credential()
            self.show_busy("Creating your account…")
            result = await self.api.register_verify(
                options["challenge_id"], username, credential, self.audience
            )
            self.signed_in(result, Arrival("signup"))

        self.run(create, on_error=lambda: self.show_start(typed))

    def intercept(self, exc: Exception) -> bool:
        """In a frame that may not run WebAuthn, hand over to a popup instead of failing."""
        if (
            isinstance(exc, WebAuthnError)
            and exc.blocked_in_frame
            and self.launch.display == "iframe"
        ):
            self.show_busy("Continuing in a new window…")
            self.host.webauthn_blocked()
            return True
        return False

    def on_cancel(self) -> None:
        self.host.cancelled()

    # Signed in ----------------------------------------------------------------------------

    def signed_in(self, result: dict[str, Any], arrival: Arrival = SIGNED_IN) -> None:
        """Sign-in, sign-up and recovery all end here: what `welcome` offers, then on; or,
        signed in from a link (a help request), what the link is for."""
        self.api.session = result["session"]
        self.signed_in_as = result
        if self.errand is not None:
            errand, self.errand = self.errand, None
            errand()
            return
        self.welcome.arrive(result, arrival, lambda: self.go_on(result))

    # A kind's link (dialog.html#help=<token>) -----------------------------------------------

    def open_link(self, link: Link, value: str) -> None:
        """The kind's screen for its link; its sign-in comes back to it, not to the account."""
        step = LinkStep(
            value=value,
            sign_in=self.sign_in_for_link,
            done=self.open_account,
            leave=self.leave_link,
        )
        link.open(self, step)
        self.spawn(self.prefetch())

    def sign_in_for_link(self, then: Handler, on_error: Handler) -> None:
        self.errand = then
        self.on_signin(on_error=on_error)

    def open_account(self) -> None:
        assert self.signed_in_as is not None
        self.account.open(self.signed_in_as)

    def leave_link(self) -> None:
        self.errand = None
        self.show_start()

    def go_on(self, result: dict[str, Any]) -> None:
        """Where the user was going: back to the site with the token, or the account."""
        if self.launch.embedded and self.launch.mode != "account":
            self.host_result(result)
            self.show_signed_in(result["username"])
            return
        self.account.open(result)

    def host_result(self, result: dict[str, Any]) -> None:
        self.host.result(result["account"], result["username"], result["token"], result["session"])

    def await_resume(self) -> None:
        """Opened by the SDK with a session of this host page: wait for it (it comes right
        after our "ready"), and sign in as usual if it does not come or is not valid."""
        self.show_busy("Loading your account…")
        self.waiting_for_session = True
        self.host.on_resume(self.resume)

        async def give_up() -> None:
            await asyncio.sleep(RESUME_WAIT_SECONDS)
            if self.waiting_for_session:
                self.waiting_for_session = False
                self.show_start()

        self.spawn(give_up())

    def resume(self, session: str) -> None:
        if not self.waiting_for_session:
            return  # once, and only while waiting: never swap the session of a dialog in use
        self.waiting_for_session = False
        self.api.session = session

        async def work() -> None:
            self.account.open(await self.api.resume_session(self.audience))

        def refused() -> None:  # expired, or revoked by a recovery: sign in as usual
            self.api.session = None
            self.host.signed_out()
            self.show_start()

        self.run(work, on_error=refused)

    def recommend_from_account(self) -> None:
        """The account screen's "Set up recovery": the same offer, back to the account."""
        assert self.account.result is not None
        self.welcome.offer(
            self.welcome.recommended(first=True), self.account.result, self.account.show
        )

    def show_signed_in(self, username: str) -> None:
        screen = self.show("tpl-signed-in")
        screen.set_text("[data-slot=text]", f"Signed in as {username}")
        screen.on("[data-action=signout]", "click", self.sign_out)

    def finish_account(self, result: dict[str, Any]) -> None:
        """The host asked for the account screen: hand over the token when the user is done."""
        self.host_result(result)

    def sign_out(self) -> None:
        self.api.session = None
        self.host.signed_out()
        self.show_start()


def named(options: dict[str, Any], username: str) -> dict[str, Any]:
    """The prefetched creation options with the account name the user typed."""
    user = {**options["user"], "name": username, "displayName": username}
    return {**options, "user": user}


def _launch() -> Launch:
    return parse_launch(jsbridge.query_params())


async def main() -> None:
    """Start the dialog; whatever happens, the page ends up ready and saying something."""
    try:
        await _start()
    except Exception as exc:
        jsbridge.console_warn(f"vouch: the dialog failed to start ({type(exc).__name__})")
        jsbridge.show_refusal(messages.UNEXPECTED_MESSAGE)
        jsbridge.set_ready()


def _open_link(dialog: Dialog, fragment: dict[str, str]) -> None:
    link = link_in(fragment)
    if link is not None:
        dialog.open_link(*link)


async def _start() -> None:
    # First of all: a help link's token is a bearer secret, off the address bar at once.
    fragment = jsbridge.take_fragment()
    jsbridge.guard_deferred()
    api = ApiClient()
    config = asyncio.ensure_future(api.config())  # awaited by an embed check, or in the back
    try:
        launch = _launch()
        if launch.embedded or jsbridge.framed_by() is not None:
            if refuse_wrong_address(await config):
                jsbridge.set_ready()
                return
            allowed = (await config).get("allowed_origins", [])
            check_host(launch, list(allowed), jsbridge.own_origin(), jsbridge.framed_by())
    except EmbedRefused as exc:
        jsbridge.show_refusal(str(exc))
        jsbridge.set_ready()
        return
    except (ApiError, NetworkError):
        jsbridge.show_refusal(messages.NETWORK_MESSAGE)
        jsbridge.set_ready()
        return
    dialog = Dialog(api, launch)
    jsbridge.keep_focus_inside("dialog")
    if not jsbridge.webauthn_available():
        dialog.error(messages.NO_WEBAUTHN_MESSAGE)
    link = None if launch.embedded else link_in(fragment)
    if not launch.embedded:
        jsbridge.on_fragment(lambda later: _open_link(dialog, later))
    if link is not None:
        dialog.open_link(*link)
    elif launch.mode == "recover":
        dialog.recovery.show_name()
        dialog.spawn(dialog.prefetch())
    elif launch.resume:
        dialog.await_resume()
    else:
        dialog.show_start()
    jsbridge.set_ready()
    dialog.host.ready()
    dialog.spawn(dialog.adopt_config(config))
    dialog.preload()

"""Lost-device recovery: account name, new passkey, one step per guardian, then execute.

Approvals are collected in the page and checked one by one with the server (which consumes
nothing); only the final execute changes the account, so leaving halfway changes nothing.
"""

from __future__ import annotations

import contextlib
import datetime
from typing import TYPE_CHECKING, Any

from vouch.core.errors import MalformedInput
from vouch.core.kdf import Argon2Params
from vouch.core.usernames import normalize_username
from vouch.crypto import default_provider
from vouch.dialog import jsbridge, messages
from vouch.dialog.api import ApiError
from vouch.dialog.guardian_setup import KIND_NAMES
from vouch.dialog.recovery_flow import ASK_FOR, USE_LABEL, RecoveryFlow, sign_with_secret
from vouch.dialog.ui import UserFacingError

if TYPE_CHECKING:
    from vouch.dialog.app import Dialog

SECRET_INPUT = {
    "passphrase": ("Passphrase", "password", "current-password"),
    "recovery_code": ("Recovery code", "text", "off"),
    "backup_codes": ("Backup code", "text", "off"),
}


def choice_text(guardian: dict[str, Any]) -> str:
    """A choice button's text: the label is added only when it says more than the kind."""
    action = USE_LABEL[guardian["kind"]]
    label = str(guardian["label"])
    return action if label == KIND_NAMES[guardian["kind"]] else f"{action} ({label})"


class RecoveryScreens:
    def __init__(self, dialog: Dialog):
        self.dialog = dialog
        self.flow: RecoveryFlow | None = None

    # 1. Which account ---------------------------------------------------------------------

    def show_name(self) -> None:
        self.flow = None
        screen = self.dialog.show("tpl-recover-name")
        screen.on("[data-form=recover-name]", "submit", self.on_name)
        screen.on("[data-action=back]", "click", lambda _e: self.dialog.show_start())

    def on_name(self, event: Any) -> None:
        jsbridge.prevent_default(event)
        screen = self.dialog.screen
        assert screen is not None
        try:
            username = normalize_username(screen.value("#recover-username"))
        except ValueError as exc:
            self.dialog.error(messages.input_message(exc))
            screen.focus("#recover-username")
            return

        async def start() -> None:
            self.dialog.show_busy("Looking up the account…")
            started = await self.dialog.api.recovery_start(username)
            self.flow = RecoveryFlow(start=started)
            self.show_new_passkey()

        self.dialog.run(start, on_error=self.show_name)

    # 2. The new passkey -------------------------------------------------------------------

    def show_new_passkey(self) -> None:
        flow = self._flow()
        screen = self.dialog.show("tpl-recover-passkey")
        screen.set_text("[data-slot=account]", f"Recovering {flow.start['username']}")
        screen.on("[data-action=create-passkey]", "click", self.on_create_passkey)
        screen.on("[data-action=cancel]", "click", lambda _e: self.leave())

    def on_create_passkey(self, event: Any) -> None:
        flow = self._flow()
        promise = jsbridge.start_create(flow.start["registration"]["options"])

        async def create() -> None:
            self.dialog.show_busy("Creating your new passkey…")
            flow.credential = await jsbridge.finish_ceremony(promise)
            self.show_guardians()

        self.dialog.run(create, on_error=self.show_new_passkey)

    # 3. Guardians, one at a time ----------------------------------------------------------

    def show_guardians(self) -> None:
        flow = self._flow()
        if flow.remaining == 0:
            self.dialog.spawn(self.execute())
            return
        screen = self.dialog.show("tpl-recover-guardians")
        screen.set_text("[data-slot=progress]", flow.progress_text())
        screen.set_text(
            "[data-slot=needed]",
            f"Approve with {flow.threshold} of your {len(flow.guardians)} guardians.",
        )
        for guardian in flow.guardians:
            item = screen.append_template("[data-slot=choices]", "tpl-guardian-choice")
            approved = guardian["id"] in flow.approvals
            button = item.querySelector("button")
            button.textContent = choice_text(guardian)
            status = item.querySelector("[data-slot=status]")
            status.textContent = "Approved" if approved else ""
            button.disabled = approved
            if not approved:
                screen.listen(button, "click", self._choice_handler(guardian))
        screen.on("[data-action=cancel]", "click", lambda _e: self.leave())

    def _choice_handler(self, guardian: dict[str, Any]) -> Any:
        def choose(event: Any) -> None:
            if guardian["kind"] == "passkey":
                self.approve_with_passkey(guardian)
            else:
                self.show_secret(guardian)

        return choose

    def show_secret(self, guardian: dict[str, Any]) -> None:
        screen = self.dialog.show("tpl-recover-secret")
        label, input_type, autocomplete = SECRET_INPUT[guardian["kind"]]
        screen.set_text("h2", ASK_FOR[guardian["kind"]])
        screen.set_text("[data-slot=progress]", self._flow().progress_text())
        screen.set_text("label[for=secret]", label)
        screen.set_attribute("#secret", "type", input_type)
        screen.set_attribute("#secret", "autocomplete", autocomplete)
        screen.on("[data-form=secret]", "submit", lambda event: self.on_secret(event, guardian))
        screen.on("[data-action=back]", "click", lambda _e: self.show_guardians())
        screen.focus("#secret")
        if guardian["kind"] == "passphrase":  # readies Argon2id while the user types
            # (a malformed descriptor is reported by the derivation itself)
            with contextlib.suppress(MalformedInput, KeyError, TypeError):
                default_provider().prepare(Argon2Params.from_dict(guardian["kdf"]).memory_kib)

    def on_secret(self, event: Any, guardian: dict[str, Any]) -> None:
        jsbridge.prevent_default(event)
        screen = self.dialog.screen
        assert screen is not None
        secret = screen.value("#secret")
        flow = self._flow()

        async def approve() -> None:
            slow = guardian["kind"] == "passphrase"
            self.dialog.show_busy(
                "Checking your passphrase… this takes a few seconds." if slow else "Checking…"
            )
            await jsbridge.next_paint()
            approval = await sign_with_secret(default_provider(), flow, guardian, secret)
            await self._check(approval)

        def failed() -> None:
            self.show_secret(guardian)

        self.dialog.run(approve, on_error=failed)

    def approve_with_passkey(self, guardian: dict[str, Any]) -> None:
        flow = self._flow()
        promise = jsbridge.start_get(flow.passkey_request_options(guardian))

        async def approve() -> None:
            self.dialog.show_busy("Use your other passkey or security key now…")
            assertion = await jsbridge.finish_ceremony(promise)
            await self._check({"guardian_id": guardian["id"], "assertion": assertion})

        self.dialog.run(approve, on_error=self.show_guardians)

    async def _check(self, approval: dict[str, Any]) -> None:
        """Ask the server whether this approval counts, before collecting the next one."""
        flow = self._flow()
        await self.dialog.api.recovery_check(
            flow.start["recovery_id"], flow.new_credential_json(), approval
        )
        flow.record(approval)
        self.show_guardians()

    # 4. Execute ---------------------------------------------------------------------------

    async def execute(self) -> None:
        flow = self._flow()
        assert flow.credential is not None
        self.dialog.show_busy("Recovering your account…")
        try:
            result = await self.dialog.api.recovery_execute(
                flow.start["recovery_id"],
                flow.credential,
                list(flow.approvals.values()),
                self.dialog.audience,
            )
        except ApiError as exc:
            self.show_failed(exc.message)
            return
        except jsbridge.NetworkError:
            self.show_failed(messages.NETWORK_MESSAGE)
            return
        if result.get("status") == "pending":
            self.show_pending(result)
            return
        self.flow = None
        self.dialog.signed_in(result)

    def show_failed(self, message: str) -> None:
        screen = self.dialog.show("tpl-recover-failed")
        self.dialog.error(message)
        screen.on("[data-action=restart]", "click", lambda _e: self.show_name())

    def show_pending(self, result: dict[str, Any]) -> None:
        when = datetime.datetime.fromtimestamp(int(result["effective_at"]), tz=datetime.UTC)
        screen = self.dialog.show("tpl-recover-pending")
        screen.set_text(
            "[data-slot=when]",
            f"For your safety, the recovery completes on {when:%Y-%m-%d at %H:%M} UTC. "
            "Until then, anyone signing in with one of the old passkeys can cancel it.",
        )
        recovery_id = str(result["recovery_id"])

        def complete(_event: Any) -> None:
            async def work() -> None:
                self.dialog.show_busy("Finishing the recovery…")
                done = await self.dialog.api.recovery_complete(recovery_id, self.dialog.audience)
                self.flow = None
                self.dialog.signed_in(done)

            self.dialog.run(work, on_error=lambda: self.show_pending(result))

        screen.on("[data-action=complete]", "click", complete)

    def leave(self) -> None:
        """Nothing was sent that changes the account: forgetting the flow is enough."""
        self.flow = None
        self.dialog.show_start()

    def _flow(self) -> RecoveryFlow:
        if self.flow is None:
            raise UserFacingError("Start the recovery again.")
        return self.flow

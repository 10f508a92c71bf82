"""Signed in: list and change guardians, add them, confirm the change with the passkey.

The add buttons come from the kinds' registry; each kind's module has its setup screen.
"""

from __future__ import annotations

import datetime
from typing import Any

from vouch.core.b64url import b64url_decode, b64url_encode
from vouch.core.kinds import KINDS
from vouch.core.messages import GuardiansChange, guardians_message, webauthn_challenge_for
from vouch.dialog.errors import UserFacingError
from vouch.dialog.guardian_setup import AccountModel, Guardian
from vouch.dialog.kinds import REGISTRY, DialogKind
from vouch.dialog.kinds.base import SetupStep
from vouch.dialog.shell import Handler, Screen, Shell


def _date(timestamp: int | None) -> str:
    if not timestamp:
        return "not saved yet"
    return datetime.datetime.fromtimestamp(timestamp, tz=datetime.UTC).strftime("%Y-%m-%d")


def guardian_details(guardian: Guardian, *, saved: bool) -> str:
    """The line under a guardian's kind: its label if it says more, when it was added."""
    kind = KINDS[guardian["kind"]]
    details = [] if guardian["label"] == kind.label else [str(guardian["label"])]
    if saved:
        details.append(f"added {_date(guardian.get('created_at'))}")
        if "codes_remaining" in guardian:  # server state of the kinds whose codes burn
            details.append(f"{guardian['codes_remaining']} codes left")
    else:
        details.append("not saved yet")
    return " · ".join(details)


class AccountScreens:
    def __init__(self, shell: Shell):
        self.shell = shell
        self.model: AccountModel | None = None
        self.result: dict[str, Any] | None = None
        self.save_options: dict[str, Any] | None = None
        # Single-use options each kind asked for before its button is clicked, by kind name.
        self.prepared: dict[str, dict[str, Any]] = {}
        self.notice = ""
        self.pending: list[dict[str, Any]] = []

    # Loading ------------------------------------------------------------------------------

    def open(self, result: dict[str, Any]) -> None:
        self.result = result
        self.shell.show_busy("Loading your account…")
        self.shell.run(self.reload, on_error=lambda: self.shell.show_busy("Could not load."))

    async def reload(self) -> None:
        data = await self.shell.api.account()
        self.model = AccountModel.from_account(data)
        self.pending = list(data.get("pending_recoveries") or [])
        self.show()
        await self.prefetch()

    async def prefetch(self) -> None:
        """Options for the passkey confirmation and for the kinds that need some, before any
        click (a WebAuthn ceremony must start inside the click)."""
        self.save_options = await self.shell.api.guardians_options()
        for dialog_kind in REGISTRY.values():
            if dialog_kind.prepare is not None:
                self.prepared[dialog_kind.name] = await dialog_kind.prepare(self.shell.api)

    # The account screen -------------------------------------------------------------------

    def show(self) -> None:
        self._show()

    def _show(self) -> Screen:
        model = self._model()
        screen = self.shell.show("tpl-account")
        screen.set_text("[data-slot=user]", f"Signed in as {model.username}")
        screen.set_text("[data-slot=status]", model.recovery_status())
        screen.set_hidden("[data-slot=notice]", not self.notice)
        screen.set_text("[data-slot=notice]", self.notice)
        self.notice = ""
        self._render_pending(screen)
        self._render_guardians(screen, model)
        self._render_add_buttons(screen)
        self._render_threshold(screen, model)
        screen.set_hidden("[data-slot=unsaved]", not model.dirty)
        screen.set_disabled("[data-action=save]", not model.dirty)
        screen.set_hidden("[data-action=discard]", not model.dirty)
        screen.on("[data-action=save]", "click", self.on_save)
        screen.on("[data-action=discard]", "click", self.on_discard)
        screen.on("[data-action=signout]", "click", self.shell.sign_out)
        launch = self.shell.launch
        screen.set_hidden("[data-action=done]", not (launch.embedded and launch.mode == "account"))
        screen.on("[data-action=done]", "click", self.on_done)
        return screen

    def _render_pending(self, screen: Screen) -> None:
        screen.set_hidden("[data-slot=pending]", not self.pending)
        for pending in self.pending:
            item = screen.append_template("[data-slot=pending-list]", "tpl-pending-item")
            when = datetime.datetime.fromtimestamp(pending["effective_at"], tz=datetime.UTC)
            item.set_text(
                "[data-slot=text]",
                "Someone is recovering this account with its guardians. Unless you cancel, "
                f"it completes on {when:%Y-%m-%d at %H:%M} UTC and your passkeys stop working.",
            )
            item.on("button", "click", self._cancel_handler(pending["recovery_id"]))

    def _cancel_handler(self, recovery_id: str) -> Handler:
        def cancel() -> None:
            async def work() -> None:
                await self.shell.api.cancel_recovery(recovery_id)
                self.notice = "The recovery was cancelled. Your passkeys keep working."
                await self.reload()

            self.shell.run(work)

        return cancel

    def _render_guardians(self, screen: Screen, model: AccountModel) -> None:
        saved_ids = {guardian["id"] for guardian in model.saved}
        screen.set_hidden("[data-slot=empty]", bool(model.draft))
        for guardian in model.draft:
            item = screen.append_template("[data-slot=guardians]", "tpl-guardian-item")
            item.set_text("[data-slot=kind]", KINDS[guardian["kind"]].label)
            details = guardian_details(guardian, saved=guardian["id"] in saved_ids)
            item.set_text("[data-slot=detail]", details)
            item.set_attribute("button", "aria-label", f"Remove {guardian['label']}")
            item.on("button", "click", self._remove_handler(guardian["id"]))

    def _remove_handler(self, guardian_id: str) -> Handler:
        def remove() -> None:
            self._model().remove(guardian_id)
            self.show()

        return remove

    def _render_add_buttons(self, screen: Screen) -> None:
        for dialog_kind in REGISTRY.values():
            item = screen.append_template("[data-slot=add-buttons]", "tpl-add-button")
            item.set_text("button", dialog_kind.add_text)
            action = f"add-{dialog_kind.name.replace('_', '-')}"
            item.set_attribute("button", "data-action", action)
            handler = self._setup_handler(dialog_kind)
            # These screens use zxcvbn and segno, which reach the page after it is up.
            if dialog_kind.deferred:
                handler = self.shell.after_loading(handler, on_error=self.show)
            item.on("button", "click", handler)

    def _setup_handler(self, dialog_kind: DialogKind) -> Handler:
        def open_setup() -> None:
            step = SetupStep(
                model=self._model(),
                added=self._added,
                back=self.show,
                refetch=self.prefetch,
                prepared=self.prepared.pop(dialog_kind.name, None),
            )
            dialog_kind.setup(self.shell, step)

        return open_setup

    def _added(self, guardian: Guardian, notice: str) -> None:
        self._model().add(guardian)
        self.notice = notice
        self.show()

    def _render_threshold(self, screen: Screen, model: AccountModel) -> None:
        total = len(model.draft)
        options = [(str(count), f"{count} of {total}") for count in range(1, total + 1)]
        screen.set_options("#threshold", options, selected=str(model.threshold))
        screen.set_disabled("#threshold", not model.draft)
        screen.on("#threshold", "change", lambda: self.on_threshold(screen.value("#threshold")))

    def on_threshold(self, value: str) -> None:
        self._model().set_threshold(int(value))
        self._show().focus("#threshold")

    def on_discard(self) -> None:
        self._model().discard_changes()
        self.show()

    def on_done(self) -> None:
        assert self.result is not None
        self.shell.finish_account(self.result)

    # Saving: the passkey confirms the exact configuration ---------------------------------

    def on_save(self) -> None:
        model = self._model()
        prefetched, self.save_options = self.save_options, None
        if prefetched is None:
            self.shell.error("Still preparing the confirmation: try again in a moment.")
            self.shell.spawn(self.prefetch())
            return
        config = model.config()
        message = guardians_message(
            GuardiansChange(
                account=model.account,
                challenge=b64url_decode(prefetched["challenge"], what="challenge"),
                config=config,
            )
        )
        options = {
            **prefetched["options"],
            "challenge": b64url_encode(webauthn_challenge_for(message)),
        }
        ceremony = self.shell.page.start_get(options)

        async def save() -> None:
            self.shell.show_busy("Confirm the change with your passkey…")
            assertion = await ceremony.credential()
            self.shell.show_busy("Saving your guardians…")
            await self.shell.api.save_guardians(prefetched["challenge_id"], config, assertion)
            self.notice = "Your guardians are saved."
            await self.reload()

        def failed() -> None:
            self.show()
            self.shell.spawn(self.prefetch())

        self.shell.run(save, on_error=failed)

    def _model(self) -> AccountModel:
        if self.model is None:
            raise UserFacingError("Sign in first.")
        return self.model

"""Signed in: list and change guardians, make recovery kits, confirm with the passkey."""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from vouch.core import codes
from vouch.core.b64url import b64url_decode, b64url_encode
from vouch.core.errors import WeakPassphrase
from vouch.core.kdf import Argon2Params
from vouch.core.messages import GuardiansChange, guardians_message, webauthn_challenge_for
from vouch.core.passphrase import check_passphrase_strength, generate_passphrase
from vouch.crypto import default_provider
from vouch.dialog import guardian_setup, jsbridge, messages
from vouch.dialog.guardian_setup import KIND_NAMES, AccountModel
from vouch.dialog.kit import RecoveryKit
from vouch.dialog.ui import UserFacingError

if TYPE_CHECKING:
    from vouch.dialog.app import Dialog


def _date(timestamp: int | None) -> str:
    if not timestamp:
        return "not saved yet"
    return datetime.datetime.fromtimestamp(timestamp, tz=datetime.UTC).strftime("%Y-%m-%d")


def _today() -> str:
    return datetime.datetime.now(tz=datetime.UTC).strftime("%Y-%m-%d")


class AccountScreens:
    def __init__(self, dialog: Dialog):
        self.dialog = dialog
        self.model: AccountModel | None = None
        self.result: dict[str, Any] | None = None
        self.save_options: dict[str, Any] | None = None
        self.passkey_options: dict[str, Any] | None = None
        self.notice = ""
        self.pending: list[dict[str, Any]] = []

    # Loading ------------------------------------------------------------------------------

    def open(self, result: dict[str, Any]) -> None:
        self.result = result
        self.dialog.show_busy("Loading your account…")
        self.dialog.run(self.reload, on_error=lambda: self.dialog.show_busy("Could not load."))

    async def reload(self) -> None:
        data = await self.dialog.api.account()
        self.model = AccountModel.from_account(data)
        self.pending = list(data.get("pending_recoveries") or [])
        self.show()
        await self.prefetch()

    async def prefetch(self) -> None:
        """Options for the passkey confirmation and a guardian passkey, before any click."""
        self.save_options = await self.dialog.api.guardians_options()
        self.passkey_options = await self.dialog.api.guardian_passkey_options()

    # The account screen -------------------------------------------------------------------

    def show(self) -> None:
        model = self._model()
        screen = self.dialog.show("tpl-account")
        screen.set_text("[data-slot=user]", f"Signed in as {model.username}")
        screen.set_text("[data-slot=status]", model.recovery_status())
        screen.set_hidden("[data-slot=notice]", not self.notice)
        screen.set_text("[data-slot=notice]", self.notice)
        self.notice = ""
        self._render_pending(screen)
        self._render_guardians(screen, model)
        self._render_threshold(screen, model)
        screen.set_hidden("[data-slot=unsaved]", not model.dirty)
        screen.set_disabled("[data-action=save]", not model.dirty)
        screen.set_hidden("[data-action=discard]", not model.dirty)

        # These screens use zxcvbn and segno, which reach the page after it is up.
        def loaded(show: Callable[[], None]) -> Callable[[Any], None]:
            return self.dialog.after_loading(show, on_error=self.show)

        screen.on("[data-action=add-passphrase]", "click", loaded(self.show_passphrase))
        for kind in ("recovery_code", "backup_codes"):
            action = f"[data-action=add-{kind.replace('_', '-')}]"
            screen.on(action, "click", loaded(functools.partial(self.show_kit, kind)))
        screen.on("[data-action=add-passkey]", "click", self.on_add_passkey)
        screen.on("[data-action=save]", "click", self.on_save)
        screen.on("[data-action=discard]", "click", self.on_discard)
        screen.on("[data-action=signout]", "click", lambda _e: self.dialog.sign_out())
        embedded_account = self.dialog.launch.embedded and self.dialog.launch.mode == "account"
        screen.set_hidden("[data-action=done]", not embedded_account)
        screen.on("[data-action=done]", "click", self.on_done)

    def _render_pending(self, screen: jsbridge.Screen) -> None:
        screen.set_hidden("[data-slot=pending]", not self.pending)
        for pending in self.pending:
            item = screen.append_template("[data-slot=pending-list]", "tpl-pending-item")
            when = datetime.datetime.fromtimestamp(pending["effective_at"], tz=datetime.UTC)
            item.querySelector("[data-slot=text]").textContent = (
                "Someone is recovering this account with its guardians. Unless you cancel, "
                f"it completes on {when:%Y-%m-%d at %H:%M} UTC and your passkeys stop working."
            )
            button = item.querySelector("button")
            screen.listen(button, "click", self._cancel_handler(pending["recovery_id"]))

    def _cancel_handler(self, recovery_id: str) -> Any:
        def cancel(_event: Any) -> None:
            async def work() -> None:
                await self.dialog.api.cancel_recovery(recovery_id)
                self.notice = "The recovery was cancelled. Your passkeys keep working."
                await self.reload()

            self.dialog.run(work)

        return cancel

    def _render_guardians(self, screen: jsbridge.Screen, model: AccountModel) -> None:
        saved_ids = {guardian["id"] for guardian in model.saved}
        screen.set_hidden("[data-slot=empty]", bool(model.draft))
        for guardian in model.draft:
            item = screen.append_template("[data-slot=guardians]", "tpl-guardian-item")
            item.querySelector("[data-slot=kind]").textContent = KIND_NAMES[guardian["kind"]]
            details = (
                [] if guardian["label"] == KIND_NAMES[guardian["kind"]] else [guardian["label"]]
            )
            if guardian["id"] in saved_ids:
                details.append(f"added {_date(guardian.get('created_at'))}")
                if guardian["kind"] == "backup_codes" and "codes_remaining" in guardian:
                    details.append(f"{guardian['codes_remaining']} codes left")
            else:
                details.append("not saved yet")
            item.querySelector("[data-slot=detail]").textContent = " · ".join(details)
            button = item.querySelector("button")
            button.setAttribute("aria-label", f"Remove {guardian['label']}")
            screen.listen(button, "click", self._remove_handler(guardian["id"]))

    def _remove_handler(self, guardian_id: str) -> Any:
        def remove(_event: Any) -> None:
            self._model().remove(guardian_id)
            self.show()

        return remove

    def _render_threshold(self, screen: jsbridge.Screen, model: AccountModel) -> None:
        select = screen.element("#threshold")
        for count in range(1, len(model.draft) + 1):
            label = f"{count} of {len(model.draft)}"
            option = jsbridge.create_element("option", label, value=str(count))
            if count == model.threshold:
                option.selected = True
            select.appendChild(option)
        screen.set_disabled("#threshold", not model.draft)
        screen.listen(select, "change", self.on_threshold)

    def on_threshold(self, event: Any) -> None:
        self._model().set_threshold(int(str(event.target.value)))
        self.show()
        assert self.dialog.screen is not None
        self.dialog.screen.focus("#threshold")

    def on_discard(self, event: Any) -> None:
        self._model().discard_changes()
        self.show()

    def on_done(self, event: Any) -> None:
        assert self.result is not None
        self.dialog.finish_account(self.result)

    # Saving: the passkey confirms the exact configuration ---------------------------------

    def on_save(self, event: Any) -> None:
        model = self._model()
        prefetched, self.save_options = self.save_options, None
        if prefetched is None:
            self.dialog.error("Still preparing the confirmation: try again in a moment.")
            self.dialog.spawn(self.prefetch())
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
        promise = jsbridge.start_get(options)

        async def save() -> None:
            self.dialog.show_busy("Confirm the change with your passkey…")
            assertion = await jsbridge.finish_ceremony(promise)
            self.dialog.show_busy("Saving your guardians…")
            await self.dialog.api.save_guardians(prefetched["challenge_id"], config, assertion)
            self.notice = "Your guardians are saved."
            await self.reload()

        def failed() -> None:
            self.show()
            self.dialog.spawn(self.prefetch())

        self.dialog.run(save, on_error=failed)

    # Adding guardians ---------------------------------------------------------------------

    def show_passphrase(self) -> None:
        screen = self.dialog.show("tpl-passphrase")
        screen.on("#passphrase", "input", self.on_passphrase_input)
        screen.on("[data-action=generate]", "click", self.on_generate)
        screen.on("[data-action=toggle]", "click", self.on_toggle_visibility)
        screen.on("[data-form=passphrase]", "submit", self.on_add_passphrase)
        screen.on("[data-action=back]", "click", lambda _e: self.show())
        # The Argon2id worker readies the derivation passphrase_guardian will ask for.
        default_provider().prepare(Argon2Params().memory_kib)

    def on_passphrase_input(self, event: Any) -> None:
        screen = self.dialog.screen
        assert screen is not None
        text = screen.value("#passphrase")
        score, feedback = 0, ""
        if text.strip():
            try:
                score = check_passphrase_strength(text, account_name=self._model().username)
                feedback = "Good: this passphrase is hard to guess."
            except WeakPassphrase as exc:
                score, feedback = exc.score, messages.weak_passphrase_message(exc)
        screen.set_attribute("#strength-meter", "value", str(score))
        screen.set_text(
            "[data-slot=strength]", f"{messages.STRENGTH_WORDS[score]}. {feedback}" if text else ""
        )

    def on_generate(self, event: Any) -> None:
        screen = self.dialog.screen
        assert screen is not None
        screen.set_value("#passphrase", generate_passphrase(account_name=self._model().username))
        screen.set_attribute("#passphrase", "type", "text")
        screen.set_attribute("[data-action=toggle]", "aria-pressed", "true")
        screen.set_text("[data-action=toggle]", "Hide passphrase")
        screen.set_hidden("[data-slot=generated]", False)
        self.on_passphrase_input(event)

    def on_toggle_visibility(self, event: Any) -> None:
        screen = self.dialog.screen
        assert screen is not None
        shown = screen.element("#passphrase").type == "text"
        screen.set_attribute("#passphrase", "type", "password" if shown else "text")
        screen.set_attribute("[data-action=toggle]", "aria-pressed", "false" if shown else "true")
        screen.set_text("[data-action=toggle]", "Show passphrase" if shown else "Hide passphrase")

    def on_add_passphrase(self, event: Any) -> None:
        jsbridge.prevent_default(event)
        screen = self.dialog.screen
        assert screen is not None
        model = self._model()
        passphrase = screen.value("#passphrase")
        try:
            check_passphrase_strength(passphrase, account_name=model.username)
        except ValueError as exc:
            self.dialog.error(messages.input_message(exc))
            screen.focus("#passphrase")
            return

        async def derive() -> None:
            self.dialog.show_busy("Securing your passphrase… this takes a few seconds.")
            await jsbridge.next_paint()
            guardian = await guardian_setup.passphrase_guardian(
                default_provider(),
                passphrase,
                account=model.account,
                label=model.default_label("passphrase"),
            )
            model.add(guardian)
            self.notice = "Passphrase added. Save changes to start using it."
            self.show()

        self.dialog.run(derive, on_error=self.show_passphrase)

    def show_kit(self, kind: str) -> None:
        model = self._model()
        made = [codes.new_recovery_code()] if kind == "recovery_code" else codes.new_backup_codes()
        kit = RecoveryKit(username=model.username, date=_today(), kind=kind, codes=tuple(made))
        screen = self.dialog.show("tpl-kit")
        screen.set_text("h2", f"Save your {kit.title.lower()}")
        noun = "code" if kind == "recovery_code" else "codes"
        screen.set_text(
            "[data-slot=hint]",
            f"This is the only time the {noun} will be shown. Keep a copy somewhere safe.",
        )
        for code in kit.codes:
            item = jsbridge.create_element("li", code)
            screen.element("[data-slot=codes]").appendChild(item)
        for selector in ("[data-slot=qr]", "[data-slot=print-qr]"):
            screen.set_attribute(selector, "src", kit.qr_svg_data_uri())
        screen.set_text("[data-slot=print-title]", f"vouch {kit.title.lower()} for {kit.username}")
        screen.set_text("[data-slot=print-date]", f"Created {kit.date}")
        screen.element("[data-slot=print-codes]").textContent = "\n".join(kit.codes)
        screen.set_text("[data-action=confirm]", f"Add {kit.title.lower()}")
        screen.on("[data-action=copy]", "click", lambda _e: self.dialog.spawn(self._copy(kit)))
        screen.on(
            "[data-action=download]",
            "click",
            lambda _e: jsbridge.download_text(kit.filename(), kit.text()),
        )
        screen.on("[data-action=print]", "click", lambda _e: jsbridge.print_page())
        screen.on("#saved", "change", self.on_saved_toggle)
        screen.on("[data-action=confirm]", "click", lambda _e: self.on_confirm_kit(kit))
        screen.on("[data-action=back]", "click", lambda _e: self.show())

    async def _copy(self, kit: RecoveryKit) -> None:
        copied = await jsbridge.copy_text(kit.text())
        if self.dialog.screen is not None:
            self.dialog.screen.set_text(
                "[data-slot=copied]",
                "Copied." if copied else "Copying is blocked here: use Download or Print.",
            )

    def on_saved_toggle(self, event: Any) -> None:
        screen = self.dialog.screen
        assert screen is not None
        screen.set_disabled("[data-action=confirm]", not screen.checked("#saved"))

    def on_confirm_kit(self, kit: RecoveryKit) -> None:
        model = self._model()

        async def add() -> None:
            self.dialog.show_busy("Adding your codes…")
            provider = default_provider()
            label = model.default_label(kit.kind)
            if kit.kind == "recovery_code":
                guardian = await guardian_setup.recovery_code_guardian(
                    provider, kit.codes[0], account=model.account, label=label
                )
            else:
                guardian = await guardian_setup.backup_codes_guardian(
                    provider, list(kit.codes), account=model.account, label=label
                )
            model.add(guardian)
            self.notice = f"{kit.title} added. Save changes to start using it."
            self.show()

        self.dialog.run(add, on_error=self.show)

    def on_add_passkey(self, event: Any) -> None:
        prefetched, self.passkey_options = self.passkey_options, None
        if prefetched is None:
            self.dialog.error("Still preparing: try again in a moment.")
            self.dialog.spawn(self.prefetch())
            return
        promise = jsbridge.start_create(prefetched["options"])

        async def register() -> None:
            self.dialog.show_busy("Use your other passkey or security key now…")
            credential = await jsbridge.finish_ceremony(promise)
            stored = await self.dialog.api.add_guardian_passkey(
                prefetched["challenge_id"], credential
            )
            model = self._model()
            label = model.default_label("passkey")
            model.add(guardian_setup.passkey_guardian(stored["credential_id"], label=label))
            self.notice = "Second passkey added. Save changes to start using it."
            self.show()
            await self.prefetch()

        def failed() -> None:
            self.show()
            self.dialog.spawn(self.prefetch())

        self.dialog.run(register, on_error=failed)

    def _model(self) -> AccountModel:
        if self.model is None:
            raise UserFacingError("Sign in first.")
        return self.model

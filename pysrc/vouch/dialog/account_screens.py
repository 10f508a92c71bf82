"""Signed in: list the guardians, and change them one confirmed change at a time.

Every change (a guardian added, replaced or removed, a new threshold) is a whole new
configuration that one assertion of the owner's sign-in passkey confirms, and it is stored
before the dialog shows what it made (a kit's codes). There is no unsaved state, so Done,
Sign out, the host's close button or a closed window never lose anything the user was
shown. The add buttons come from the kinds' registry; each kind's module has its setup.
"""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from vouch.core.b64url import b64url_decode, b64url_encode
from vouch.core.kinds import KINDS
from vouch.core.messages import GuardiansChange, guardians_message, webauthn_challenge_for
from vouch.dialog import activity, email_address
from vouch.dialog.api import ApiError
from vouch.dialog.email_address import EmailAddressScreens
from vouch.dialog.errors import NetworkError, UserFacingError
from vouch.dialog.guardian_setup import AccountModel, Change, Guardian, status_text
from vouch.dialog.kinds import REGISTRY, DialogKind
from vouch.dialog.kinds.base import AccountPart, AccountStep, SetupStep
from vouch.dialog.shell import Handler, Screen, Shell, View


def _date(timestamp: int | None) -> str:
    if not timestamp:
        return "today"
    return datetime.datetime.fromtimestamp(timestamp, tz=datetime.UTC).strftime("%Y-%m-%d")


def guardian_details(guardian: Guardian, about: Sequence[str] = ()) -> str:
    """The line under a guardian's kind: its label if it says more, what its kind's part of
    the screen says of it (whose contact it is), when it was added."""
    kind = KINDS[guardian["kind"]]
    details = [] if guardian["label"] == kind.label else [str(guardian["label"])]
    details.extend(about)
    details.append(f"added {_date(guardian.get('created_at'))}")
    if "codes_remaining" in guardian:  # server state of the kinds whose codes burn
        details.append(f"{guardian['codes_remaining']} codes left")
    return " · ".join(details)


def pending_text(pending: dict[str, Any]) -> str:
    """A pending recovery, for the owner who may not have started it."""
    when = datetime.datetime.fromtimestamp(pending["effective_at"], tz=datetime.UTC)
    device = f" from {pending['device']}" if pending.get("device") else ""
    return (
        f"Someone is recovering this account with its guardians{device}. Unless you cancel, "
        f"it completes on {when:%Y-%m-%d at %H:%M} UTC and your passkeys stop working."
    )


def threshold_meaning(threshold: int, total: int) -> str:
    """What a threshold means for the person choosing it."""
    if threshold == 1:
        return (
            f"Any one of your {total} guardians gets you back in: losing one is not a "
            "lockout, but whoever holds one could recover the account."
        )
    if threshold == total:
        return (
            f"All {total} guardians are needed: a stolen one is not enough, but losing "
            "any one of them locks you out."
        )
    return (
        f"Any {threshold} of your {total} guardians get you back in: you can lose "
        f"{total - threshold} and still recover, and one alone is not enough."
    )


class AccountScreens:
    def __init__(self, shell: Shell):
        self.shell = shell
        self.model: AccountModel | None = None
        self.result: dict[str, Any] | None = None
        self.save_options: dict[str, Any] | None = None
        # Single-use options each kind asked for before its button is clicked, by kind name.
        self.prepared: dict[str, dict[str, Any]] = {}
        # The shown buttons of kinds whose options are still on their way: disabled until
        # they arrive, since their click must start the ceremony at once.
        self.unprepared: dict[str, list[View]] = {}
        # A shown "Confirm with passkey" waiting for the confirmation options, and whether
        # they are being fetched (so a screen shown meanwhile does not fetch them twice).
        self.unconfirmable: View | None = None
        self.fetching_confirmation = False
        self.notice = ""
        self.pending: list[dict[str, Any]] = []
        # The recommended set-up, offered on an account with no guardians (app.Dialog sets it).
        self.recommend: Handler | None = None
        self.email_pending: dict[str, Any] | None = None  # a code on its way to an address
        self.activity: list[str] = []  # the latest audit events, in words
        self.email = EmailAddressScreens(shell, done=self.show, saved=self._email_saved)
        # The kinds' own sections of the screen (a trusted contact's invitations), by kind.
        self.parts: dict[str, AccountPart] = {
            kind.name: kind.account_part(shell)
            for kind in REGISTRY.values()
            if kind.account_part is not None
        }

    # Loading ------------------------------------------------------------------------------

    def open(self, result: dict[str, Any]) -> None:
        self.result = result
        self.shell.show_busy("Loading your account…")
        self.shell.run(self.reload, on_error=lambda: self.shell.show_busy("Could not load."))

    async def load(self, result: dict[str, Any]) -> AccountModel:
        """The account's saved state, without showing it."""
        self.result = result
        data, *_ = await asyncio.gather(
            self.shell.api.account(), *(part.load() for part in self.parts.values())
        )
        self.model = AccountModel.from_account(data)
        self.pending = list(data.get("pending_recoveries") or [])
        self.email_pending = email_address.pending_of(data)
        return self.model

    def asked(self) -> list[str]:
        """What other people asked of this account and wait for (`AccountPart.asked`)."""
        return [line for part in self.parts.values() for line in part.asked()]

    async def reload(self) -> None:
        assert self.result is not None
        await self.load(self.result)
        try:
            self.activity = activity.latest((await self.shell.api.activity())["events"])
        except (ApiError, NetworkError, KeyError, TypeError):
            self.activity = []  # the screen works without it
        self.show()
        await self.prefetch()

    async def prefetch(self) -> None:
        """Options for the passkey confirmation and for the kinds that need some, before any
        click (a WebAuthn ceremony must start inside the click)."""
        kinds = [kind for kind in REGISTRY.values() if kind.prepare is not None]
        await asyncio.gather(
            self.prefetch_confirmation(),
            *(self.prepare(kind) for kind in kinds),
            *(part.prefetch() for part in self.parts.values()),
        )

    async def prepare(self, dialog_kind: DialogKind) -> None:
        assert dialog_kind.prepare is not None
        self.prepared[dialog_kind.name] = await dialog_kind.prepare(self.shell.api)
        for item in self.unprepared.pop(dialog_kind.name, []):
            item.set_disabled("button", False)

    async def prefetch_confirmation(self) -> None:
        self.fetching_confirmation = True
        try:
            self.save_options = await self.shell.api.guardians_options()
        finally:
            # Enabled even if the fetch failed: its click then says so and fetches again.
            self.fetching_confirmation = False
            waiting, self.unconfirmable = self.unconfirmable, None
            if waiting is not None:
                waiting.set_disabled("[data-action=confirm]", False)

    def take_confirmation(self) -> dict[str, Any] | None:
        """The prefetched confirmation options, for one change only (its challenge is
        single use); the next change gets fresh ones."""
        prefetched, self.save_options = self.save_options, None
        if prefetched is None:
            self.shell.spawn(self.prefetch_confirmation())
        return prefetched

    # The account screen -------------------------------------------------------------------

    def show(self) -> None:
        model = self._model()
        screen = self.shell.show("tpl-account")
        screen.set_text("[data-slot=user]", f"Signed in as {model.username}")
        screen.set_text("[data-slot=status]", model.recovery_status())
        screen.set_hidden("[data-slot=notice]", not self.notice)
        screen.set_text("[data-slot=notice]", self.notice)
        self.notice = ""
        self._render_pending(screen)
        step = AccountStep(
            model=model,
            commit=lambda change, retry: self.commit(change, retry=retry),
            show=self.show,
            reload=self.reload_with,
        )
        for part in self.parts.values():
            part.render(screen, step)
        self._render_email(screen, model)
        self._render_guardians(screen, model)
        self._render_add_buttons(screen, model)
        self._render_threshold(screen, model)
        screen.set_hidden("[data-slot=activity]", not self.activity)
        for line in self.activity:
            screen.append_text("[data-slot=activity-list]", "li", line)
        screen.on("[data-action=signout]", "click", self.shell.sign_out)
        launch = self.shell.launch
        screen.set_hidden("[data-action=done]", not (launch.embedded and launch.mode == "account"))
        screen.on("[data-action=done]", "click", self.on_done)

    def reload_with(self, notice: str) -> None:
        """Fetch the account again and show it with `notice` (a change made elsewhere than
        in the guardians: an invitation sent or answered)."""
        self.notice = notice
        self.shell.show_busy("Loading your account…")
        self.shell.run(self.reload, on_error=self.show)

    def _render_pending(self, screen: Screen) -> None:
        screen.set_hidden("[data-slot=pending]", not self.pending)
        for pending in self.pending:
            item = screen.append_template("[data-slot=pending-list]", "tpl-pending-item")
            item.set_text("[data-slot=text]", pending_text(pending))
            item.on("button", "click", self._cancel_handler(pending["recovery_id"]))

    def _cancel_handler(self, recovery_id: str) -> Handler:
        def cancel() -> None:
            async def work() -> None:
                await self.shell.api.cancel_recovery(recovery_id)
                self.notice = "The recovery was cancelled. Your passkeys keep working."
                await self.reload()

            self.shell.run(work)

        return cancel

    def _render_email(self, screen: Screen, model: AccountModel) -> None:
        screen.set_text("[data-slot=email-text]", email_address.describe(model.email))
        screen.set_text(
            "[data-action=email]",
            "Add email address" if model.email is None else "Change email address",
        )
        screen.on("[data-action=email]", "click", self.email.show_address)
        pending = self.email_pending
        screen.set_hidden("[data-action=email-code]", pending is None)
        if pending is not None:
            screen.set_text(
                "[data-action=email-code]", f"Enter the code sent to {pending['address']}"
            )
            screen.on("[data-action=email-code]", "click", lambda: self.email.show_code(pending))

    def _email_saved(self) -> None:
        self.notice = "Email address verified: notices go there now."
        self.shell.spawn(self.reload())

    def _render_guardians(self, screen: Screen, model: AccountModel) -> None:
        screen.set_hidden("[data-slot=empty]", bool(model.guardians))
        screen.set_hidden("[data-action=recommended]", bool(model.guardians) or not self.recommend)
        if self.recommend is not None:
            screen.on("[data-action=recommended]", "click", self.recommend)
        for guardian in model.guardians:
            item = screen.append_template("[data-slot=guardians]", "tpl-guardian-item")
            title = REGISTRY[guardian["kind"]].title_of(guardian, self.shell.server_config)
            item.set_text("[data-slot=kind]", title)
            part = self.parts.get(guardian["kind"])
            about = part.detail(guardian) if part is not None else []
            item.set_text("[data-slot=detail]", guardian_details(guardian, about))
            item.set_attribute("button", "aria-label", f"Remove {guardian['label']}")
            item.on("button", "click", self._remove_handler(guardian))

    def _remove_handler(self, guardian: Guardian) -> Handler:
        def remove() -> None:
            model = self._model()
            config = model.removing(guardian["id"])
            left = len(config["guardians"])
            after = (
                "With no guardians left, this account cannot be recovered."
                if left == 0
                else f"Afterwards: {status_text(config['threshold'], left)}"
            )
            label = str(guardian["label"])
            self.confirm(
                Change(
                    config=config,
                    heading=f"Remove {label}?",
                    summary=f"{label} will no longer recover this account. {after}",
                    saved=f"{label} removed.",
                )
            )

        return remove

    def _render_add_buttons(self, screen: Screen, model: AccountModel) -> None:
        self.unprepared = {}
        for dialog_kind in REGISTRY.values():
            for button in dialog_kind.buttons(self.shell.server_config, model):
                item = screen.append_template("[data-slot=add-buttons]", "tpl-add-button")
                item.set_text("button", button.text)
                item.set_attribute("button", "data-action", button.action)
                handler = self._setup_handler(dialog_kind, button.choice)
                # These screens use zxcvbn and segno, which reach the page after it is up.
                if dialog_kind.deferred:
                    handler = self.shell.after_loading(handler, on_error=self.show)
                item.on("button", "click", handler)
                if dialog_kind.prepare is not None and dialog_kind.name not in self.prepared:
                    item.set_disabled("button", True)
                    self.unprepared.setdefault(dialog_kind.name, []).append(item)

    def _setup_handler(self, dialog_kind: DialogKind, choice: str | None) -> Handler:
        def open_setup() -> None:
            step = SetupStep(
                model=self._model(),
                confirm=self.confirm,
                back=self.show,
                refetch=self.prefetch,
                take_confirmation=self.take_confirmation,
                prepared=self.prepared.pop(dialog_kind.name, None),
                choice=choice,
                reload=self.reload_with,
            )
            dialog_kind.setup(self.shell, step)

        return open_setup

    def _render_threshold(self, screen: Screen, model: AccountModel) -> None:
        """Words, never an empty box: the section appears with the first guardian, and it
        can be changed once there is a choice (two guardians or more)."""
        total = len(model.guardians)
        screen.set_hidden("[data-slot=threshold]", total == 0)
        screen.set_text("[data-slot=threshold-text]", f"{model.threshold} of {total}")
        screen.set_hidden("[data-action=threshold]", total < 2)
        screen.on("[data-action=threshold]", "click", self.show_threshold)

    def on_done(self) -> None:
        assert self.result is not None
        self.shell.finish_account(self.result)

    # The threshold ------------------------------------------------------------------------

    def show_threshold(self) -> None:
        model = self._model()
        total = len(model.guardians)
        screen = self.shell.show("tpl-threshold")
        options = [(str(count), f"{count} of {total}") for count in range(1, total + 1)]
        screen.set_options("#threshold", options, selected=str(model.threshold))

        def describe() -> None:
            screen.set_text(
                "[data-slot=meaning]", threshold_meaning(int(screen.value("#threshold")), total)
            )

        describe()
        screen.on("#threshold", "change", describe)
        screen.on("[data-action=confirm]", "click", lambda: self._on_threshold(screen))
        screen.on("[data-action=back]", "click", self.show)
        screen.focus("#threshold")

    def _on_threshold(self, screen: Screen) -> None:
        model = self._model()
        threshold = int(screen.value("#threshold"))
        if threshold == model.threshold:
            self.show()
            return
        change = Change(
            config=model.with_threshold(threshold),
            summary=threshold_meaning(threshold, len(model.guardians)),
            saved=f"Recovery now needs {threshold} of {len(model.guardians)} guardians.",
            back=self.show_threshold,
        )
        self.commit(change, retry=self.show_threshold)

    # Confirming a change: the passkey signs the exact configuration -----------------------

    def confirm(self, change: Change) -> None:
        """Say what the change does; "Confirm with passkey" starts the ceremony in its click."""
        screen = self.shell.show("tpl-confirm")
        screen.set_text("h2", change.heading)
        screen.set_text("[data-slot=summary]", change.summary)
        retry = lambda: self.confirm(change)  # noqa: E731
        screen.on("[data-action=confirm]", "click", lambda: self.commit(change, retry=retry))
        screen.on("[data-action=back]", "click", change.back or self.show)
        self.unconfirmable = None
        if change.confirmation is None and self.save_options is None:
            # Its click must start the ceremony at once: disabled until the options arrive.
            screen.set_disabled("[data-action=confirm]", True)
            self.unconfirmable = screen
            if not self.fetching_confirmation:
                self.shell.spawn(self.prefetch_confirmation())

    def commit(self, change: Change, *, retry: Handler) -> None:
        """Inside a click: the passkey confirms `change`, the server stores it, and only
        then does `change.then` (a kit) or the account screen show. On failure (the prompt
        dismissed, a conflict) nothing was stored or shown, and `retry` shows again."""
        model = self._model()
        prefetched = change.confirmation
        if prefetched is None:
            prefetched, self.save_options = self.save_options, None
        if prefetched is None:
            self.shell.error("Still preparing the confirmation: try again in a moment.")
            self.shell.spawn(self.prefetch_confirmation())
            return
        message = guardians_message(
            GuardiansChange(
                account=model.account,
                challenge=b64url_decode(prefetched["challenge"], what="challenge"),
                config=change.config,
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
            self.shell.show_busy("Saving…")
            saved = await self.shell.api.save_guardians(
                prefetched["challenge_id"], change.config, assertion, links=change.links
            )
            self.model = replace(
                model, guardians=tuple(saved["guardians"]), threshold=int(saved["threshold"])
            )
            self.notice = change.saved
            self.shell.spawn(self.prefetch_confirmation())
            (change.then or self.show)()

        def failed() -> None:
            retry()
            self.shell.spawn(self.prefetch_confirmation())

        self.shell.run(save, on_error=failed)

    def _model(self) -> AccountModel:
        if self.model is None:
            raise UserFacingError("Sign in first.")
        return self.model

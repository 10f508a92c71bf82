"""What the dialog offers once someone is in, before it goes where they were going.

Right after sign-up, recovery in one step (the recommended pair, `kinds.recommended`); on
a later sign-in while the account has no guardians, the same as a reminder (once per
sign-in, never while signed in); after a recovery that used a reusable code, a new code
for it; and before a sign-in goes back to a site, what other people wait for (a trusted
contact's invitation, a request for help), since only the account screen shows it. Each
is one screen with a way to skip, and `finish` is where the dialog goes next:
the host page gets its token, or the account screen opens. What an offer saves is built
while the screen is read, so its button starts the passkey confirmation inside the click;
the kits are shown only once the change is stored.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from vouch.dialog.account_screens import AccountScreens, pending_text
from vouch.dialog.api import ApiError
from vouch.dialog.errors import NetworkError
from vouch.dialog.guardian_setup import AccountModel, Change
from vouch.dialog.kinds import REGISTRY, _kit, recommended
from vouch.dialog.kinds.base import Issued
from vouch.dialog.shell import Arrival, Handler, Shell

Build = Callable[[AccountModel, Handler], Awaitable[Change]]


@dataclass(frozen=True)
class Offer:
    heading: str
    lede: str
    items: tuple[str, ...]
    hint: str
    accept: str
    decline: str
    build: Build  # the change accepting saves, given where to go after its kits


class Welcome:
    def __init__(self, shell: Shell, account: AccountScreens):
        self.shell = shell
        self.account = account
        self._change: Change | None = None

    def arrive(self, result: dict[str, Any], arrival: Arrival, finish: Handler) -> None:
        """Offer what this arrival calls for, or go straight on to `finish`."""
        if arrival.how == "signup":
            self.offer(self.recommended(first=True), result, finish)
            return
        if arrival.how == "signin" and self.shell.launch.mode == "account":
            finish()  # the account screen is next, and says what is missing itself
            return

        async def check() -> None:
            self.shell.show_busy("Signing you in…")
            model = await self.account.load(result)
            used = [g for g in model.guardians if g["id"] in arrival.used]
            # The dialog's own page opens the account screen next, which shows them.
            asked = self.account.asked() if self.shell.launch.host_origin is not None else []

            def then() -> None:
                if asked:
                    self.show_asked(asked, finish)
                else:
                    finish()

            if self.account.pending:
                self.show_pending(then)
            elif used:
                self.offer(self.renewal(used[0]), result, then)
            elif not model.guardians:
                self.offer(self.recommended(first=False), result, then)
            else:
                then()

        self.shell.run(check, on_error=finish)

    # A recovery the owner may not have started ---------------------------------------------

    def show_pending(self, finish: Handler, notice: str = "") -> None:
        """Every sign-in while a recovery is pending says so first, with Cancel, before the
        dialog goes on: the owner may be the only one who can stop it."""
        screen = self.shell.show("tpl-pending-banner")
        pending = self.account.pending
        screen.set_hidden("[data-slot=pending-list]", not pending)
        screen.set_hidden("[data-slot=lede]", not pending)
        screen.set_hidden("[data-slot=notice]", not notice)
        screen.set_text("[data-slot=notice]", notice)
        if not pending:
            screen.set_text("h2", "Recovery cancelled")
        for item_data in pending:
            item = screen.append_template("[data-slot=pending-list]", "tpl-pending-item")
            item.set_text("[data-slot=text]", pending_text(item_data))
            item.on("button", "click", self._cancel(str(item_data["recovery_id"]), finish))
        screen.set_text("[data-action=continue]", "It was me: continue" if pending else "Continue")
        screen.on("[data-action=continue]", "click", finish)

    def _cancel(self, recovery_id: str, finish: Handler) -> Handler:
        def cancel() -> None:
            async def work() -> None:
                self.shell.show_busy("Cancelling the recovery…")
                await self.shell.api.cancel_recovery(recovery_id)
                self.account.pending = [
                    p for p in self.account.pending if p["recovery_id"] != recovery_id
                ]
                self.show_pending(finish, "The recovery was cancelled. Your passkeys keep working.")

            self.shell.run(work, on_error=lambda: self.show_pending(finish))

        return cancel

    # What other people wait for ----------------------------------------------------------

    def show_asked(self, asked: list[str], finish: Handler) -> None:
        """A sign-in for a site goes straight back to it, so what others asked of this
        account (a trusted contact's invitation, a request for help) is said here, with
        the account page that answers it, in a new tab: this sign-in goes on."""
        screen = self.shell.show("tpl-asked")
        for line in asked:
            screen.append_text("[data-slot=asked-list]", "li", line)
        screen.on("[data-action=continue]", "click", finish)

    # The offers ---------------------------------------------------------------------------

    def recommended(self, *, first: bool) -> Offer:
        return Offer(
            heading="Protect your account" if first else "Recovery is not set up",
            lede=(
                "Your passkey lives on this device. If you lose it, these get you back in:"
                if first
                else "If you lose the device with your passkey, nothing can get you back "
                "into this account. Set up:"
            ),
            items=recommended.ITEMS,
            hint="Either one is enough, so losing one is not a lockout. "
            "Your passkey confirms it once.",
            accept="Set up now",
            decline="Later" if first else "Not now",
            build=self._recommended_change,
        )

    async def _recommended_change(self, model: AccountModel, finish: Handler) -> Change:
        issued = await recommended.build(self.shell.provider, model, self.shell.site)
        return Change(
            config=model.adding([item.guardian for item in issued]),
            heading="Set up recovery",
            summary="A recovery code and ten backup codes; either one recovers the account. "
            "The codes are shown once they are saved.",
            saved="Recovery is set up. Keep the two kits in different places.",
            then=lambda: self._show_kits(issued, finish),
            back=finish,
        )

    def renewal(self, used: dict[str, Any]) -> Offer:
        label = str(used["label"])

        async def build(model: AccountModel, finish: Handler) -> Change:
            renew = REGISTRY[used["kind"]].renew
            assert renew is not None
            issued = await renew(self.shell.provider, model, used, self.shell.site)
            return Change(
                config=model.adding([issued.guardian]),
                heading=f"Replace {label}",
                summary="Your new passkey confirms the change. The new code is shown once it "
                "is saved, and the old one stops working.",
                saved=f"New {label.lower()} saved. The old one no longer works.",
                then=lambda: self._show_kits([issued], finish),
                back=finish,
            )

        return Offer(
            heading=f"Replace your {label.lower()}",
            lede=f"You used your {label.lower()} to get back in, so it has been typed on a "
            "device and may have been seen. Get a new one now: the old one then stops working.",
            items=(),
            hint="",
            accept=f"Get a new {label.lower()}",
            decline="Not now",
            build=build,
        )

    # Showing one, and accepting it ------------------------------------------------------

    def offer(self, offer: Offer, result: dict[str, Any], finish: Handler) -> None:
        self._change = None
        screen = self.shell.show("tpl-offer")
        screen.set_text("h2", offer.heading)
        screen.set_text("[data-slot=lede]", offer.lede)
        for item in offer.items:
            screen.append_text("[data-slot=items]", "li", item)
        screen.set_hidden("[data-slot=items]", not offer.items)
        screen.set_text("[data-slot=hint]", offer.hint)
        screen.set_hidden("[data-slot=hint]", not offer.hint)
        screen.set_text("[data-action=accept]", offer.accept)
        screen.set_text("[data-action=decline]", offer.decline)
        screen.on("[data-action=accept]", "click", lambda: self._accept(offer, result, finish))
        screen.on("[data-action=decline]", "click", finish)
        self.shell.spawn(self._prepare_quietly(offer, result, finish))

    async def _prepare(self, offer: Offer, result: dict[str, Any], finish: Handler) -> Change:
        """The account, the confirmation's options, the kit modules, then the change."""
        model = self.account.model
        if model is None or self.account.result is not result:
            model = await self.account.load(result)
        if self.account.save_options is None:
            await self.account.prefetch_confirmation()
        await self.shell.load_deferred()  # the kits' QR codes: never a saved code unshown
        if self._change is None:
            self._change = await offer.build(model, finish)
        return self._change

    async def _prepare_quietly(self, offer: Offer, result: dict[str, Any], finish: Handler) -> None:
        """Ahead of the click; a failure waits for it, which tries again and says why."""
        try:
            await self._prepare(offer, result, finish)
        except (ApiError, NetworkError):
            return

    def _accept(self, offer: Offer, result: dict[str, Any], finish: Handler) -> None:
        change = self._change
        if change is not None and self.account.save_options is not None:
            self._change = None
            self.account.commit(change, retry=lambda: self.account.confirm(change))
            return

        async def prepare_then_confirm() -> None:
            self.shell.show_busy("Preparing…")
            ready = await self._prepare(offer, result, finish)
            self._change = None
            self.account.confirm(ready)

        self.shell.run(prepare_then_confirm, on_error=lambda: self.offer(offer, result, finish))

    def _show_kits(self, issued: list[Issued], finish: Handler) -> None:
        """Each saved kit in turn ("Next" between them), then `finish`."""
        first, *rest = issued
        if not rest:
            _kit.show(self.shell, first.kit, done=finish)
            return
        _kit.show(
            self.shell,
            first.kit,
            done=lambda: self._show_kits(rest, finish),
            done_text=f"Next: {rest[0].kit.title.lower()}",
        )

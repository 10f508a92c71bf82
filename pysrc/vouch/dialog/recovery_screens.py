"""Lost-device recovery: account name, new passkey, one step per guardian, then execute.

Approvals are collected in the page and checked one by one with the server (which consumes
nothing); only the final execute changes the account, so leaving halfway changes nothing.
The choices and each guardian's step come from the kinds' registry.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from vouch.core.kinds import Proof
from vouch.core.usernames import normalize_username
from vouch.dialog import messages
from vouch.dialog.api import ApiError
from vouch.dialog.errors import ApprovalRefused, NetworkError, UserFacingError
from vouch.dialog.kinds import REGISTRY
from vouch.dialog.kinds.base import Approval, ApprovalStep, Guardian, Offer
from vouch.dialog.recovery_flow import RecoveryFlow
from vouch.dialog.shell import Arrival, Handler, Screen, Shell


def refusal_message(refusal: str, username: str) -> str:
    """A refused approval, and the hint that the name may be mistyped. The words are the
    same for a real account and a decoy (whose guardians refuse everything, in the server's
    same sentences), so they tell nobody whether the account exists."""
    return f"{refusal} Check the account name too: \u201c{username}\u201d."


def choice_text(guardian: Guardian, config: Mapping[str, Any] | None = None) -> str:
    """A choice button's text, in the words of the guardian's kind."""
    return REGISTRY[guardian["kind"]].choice_text(guardian, config)


# An approval that aged out while the others were gathered (an ID token is good for a few
# minutes): it is asked for again rather than failing the whole recovery.
STALE_APPROVAL_CODES = frozenset({"id_token_too_old", "id_token_expired"})


class RecoveryScreens:
    def __init__(self, shell: Shell):
        self.shell = shell
        self.flow: RecoveryFlow | None = None

    # 1. Which account ---------------------------------------------------------------------

    def show_name(self, typed: str = "") -> None:
        """The account-name screen; `typed` is the name to put back (after a failure, or to
        correct it after a refusal)."""
        self.flow = None
        screen = self.shell.show("tpl-recover-name")
        screen.set_value("#recover-username", typed)
        screen.on_submit("[data-form=recover-name]", lambda: self.on_name(screen))
        screen.on("[data-action=back]", "click", self.shell.show_start)
        if typed:
            screen.focus("#recover-username")

    def on_name(self, screen: Screen) -> None:
        typed = screen.value("#recover-username")
        try:
            username = normalize_username(typed)
        except ValueError as exc:
            self.shell.error(messages.input_message(exc))
            screen.focus("#recover-username")
            return

        async def start() -> None:
            self.shell.show_busy("Looking up the account…")
            started = await self.shell.api.recovery_start(username)
            self.flow = RecoveryFlow(start=started)
            self.show_new_passkey()

        self.shell.run(start, on_error=lambda: self.show_name(typed))

    # 2. The new passkey -------------------------------------------------------------------

    def show_new_passkey(self) -> None:
        flow = self._flow()
        screen = self.shell.show("tpl-recover-passkey")
        screen.set_text("[data-slot=account]", f"Recovering {flow.start['username']}")
        screen.on("[data-action=create-passkey]", "click", self.on_create_passkey)
        screen.on("[data-action=cancel]", "click", self.leave)

    def on_create_passkey(self) -> None:
        flow = self._flow()
        ceremony = self.shell.page.start_create(flow.start["registration"]["options"])

        async def create() -> None:
            self.shell.show_busy("Creating your new passkey…")
            flow.credential = await ceremony.credential()
            self.show_guardians()

        self.shell.run(create, on_error=self.show_new_passkey)

    # 3. Guardians, one at a time ----------------------------------------------------------

    def show_guardians(self) -> None:
        flow = self._flow()
        if flow.remaining == 0:
            self.shell.spawn(self.execute())
            return
        screen = self.shell.show("tpl-recover-guardians")
        screen.set_text("[data-slot=progress]", flow.progress_text())
        screen.set_text(
            "[data-slot=needed]",
            f"Approve with {flow.threshold} of your {len(flow.guardians)} guardians.",
        )
        screen.set_hidden("[data-action=rename]", not flow.refused)
        screen.on("[data-action=rename]", "click", self.rename)
        for guardian in flow.guardians:
            item = screen.append_template("[data-slot=choices]", "tpl-guardian-choice")
            approved = flow.approved(guardian["id"])
            item.set_text("button", choice_text(guardian, self.shell.server_config))
            item.set_text("[data-slot=status]", "Approved" if approved else "")
            item.set_disabled("button", approved)
            if not approved:
                item.on("button", "click", self._choice_handler(flow, guardian))
        screen.on("[data-action=cancel]", "click", self.leave)

    def _choice_handler(self, flow: RecoveryFlow, guardian: Guardian, typed: str = "") -> Handler:
        """The guardian's kind takes over: its step runs inside the click."""

        def choose() -> None:
            step = ApprovalStep(
                guardian=guardian,
                flow=flow,
                check=self._check,
                recorded=self._recorded,
                back=self.show_guardians,
                rename=self.rename,
                offer=lambda kind: self._offer(flow, kind),
                typed=typed,
            )
            REGISTRY[guardian["kind"]].approve(self.shell, step)

        return choose

    def _offer(self, flow: RecoveryFlow, kind: str) -> Offer | None:
        """What was typed is another kind's secret: that guardian's step, if it has one."""
        guardian = flow.unused_of_kind(kind)
        if guardian is None:
            return None
        text = choice_text(guardian, self.shell.server_config)
        return text, lambda typed: self._choice_handler(flow, guardian, typed)()

    async def _check(self, approval: Approval) -> None:
        """Ask the server whether this approval counts, before collecting the next one."""
        flow = self._flow()
        try:
            await self.shell.api.recovery_check(
                flow.start["recovery_id"], flow.new_credential_json(), approval
            )
        except ApiError as exc:
            if exc.code != "approval_invalid":
                raise
            flow.refused = True
            raise ApprovalRefused(refusal_message(exc.message, flow.start["username"])) from None
        flow.record(approval)
        self.show_guardians()

    def _recorded(self, guardian_id: str) -> None:
        """The server recorded this guardian's approval itself (an emailed code)."""
        self._flow().record_elsewhere(guardian_id)
        self.show_guardians()

    def rename(self) -> None:
        """Back to the account name, as typed: nothing was changed, so nothing is lost."""
        flow = self._flow()
        self.show_name(str(flow.start["username"]))

    # 4. Execute ---------------------------------------------------------------------------

    async def execute(self) -> None:
        flow = self._flow()
        assert flow.credential is not None
        self.shell.show_busy("Recovering your account…")
        try:
            result = await self.shell.api.recovery_execute(
                flow.start["recovery_id"],
                flow.credential,
                list(flow.approvals.values()),
                self.shell.audience,
            )
        except ApiError as exc:
            if exc.code in STALE_APPROVAL_CODES and self._drop_aged(flow):
                self.show_guardians()
                self.shell.error(f"{exc.message} Approve with it again.")
                return
            self.show_failed(exc.message)
            return
        except NetworkError:
            self.show_failed(messages.NETWORK_MESSAGE)
            return
        if result.get("status") == "pending":
            self.show_pending(result)
            return
        self.flow = None
        self.shell.signed_in(result, self.arrival(flow))

    @staticmethod
    def _drop_aged(flow: RecoveryFlow) -> bool:
        """Forget the approvals that age (ID tokens); True if there were any."""
        aged = [
            guardian_id
            for guardian_id in flow.approvals
            if REGISTRY[flow.guardian(guardian_id)["kind"]].kind.proof is Proof.ID_TOKEN
        ]
        for guardian_id in aged:
            del flow.approvals[guardian_id]
        return bool(aged)

    @staticmethod
    def arrival(flow: RecoveryFlow) -> Arrival:
        """A recovery, naming the guardians whose secret it used and outlives it."""
        used = tuple(
            guardian_id
            for guardian_id in flow.approvals
            if REGISTRY[flow.guardian(guardian_id)["kind"]].renew is not None
        )
        return Arrival("recovery", used=used)

    def show_failed(self, message: str) -> None:
        screen = self.shell.show("tpl-recover-failed")
        self.shell.error(message)
        screen.on("[data-action=restart]", "click", self.show_name)

    def show_pending(self, result: dict[str, Any]) -> None:
        when = datetime.datetime.fromtimestamp(int(result["effective_at"]), tz=datetime.UTC)
        screen = self.shell.show("tpl-recover-pending")
        screen.set_text(
            "[data-slot=when]",
            f"For your safety, the recovery completes on {when:%Y-%m-%d at %H:%M} UTC. "
            "Until then, anyone signing in with one of the old passkeys can cancel it.",
        )
        recovery_id = str(result["recovery_id"])

        def complete() -> None:
            async def work() -> None:
                self.shell.show_busy("Finishing the recovery…")
                done = await self.shell.api.recovery_complete(recovery_id, self.shell.audience)
                arrival = Arrival("recovery") if self.flow is None else self.arrival(self.flow)
                self.flow = None
                self.shell.signed_in(done, arrival)

            self.shell.run(work, on_error=lambda: self.show_pending(result))

        screen.on("[data-action=complete]", "click", complete)

    def leave(self) -> None:
        """Nothing was sent that changes the account: forgetting the flow is enough."""
        self.flow = None
        self.shell.show_start()

    def _flow(self) -> RecoveryFlow:
        if self.flow is None:
            raise UserFacingError("Start the recovery again.")
        return self.flow

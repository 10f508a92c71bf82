"""Trusted contacts on the account screen: the invitations both ways, and help requests.

The owner invites a contact by account name and sees where each invitation stands:
waiting, declined, accepted (then "Confirm bob as guardian", a passkey-confirmed change
whose summary shows the contact's fingerprint), or ended (a guardian naming that person
no longer counts). The contact sees who invited them (Accept, Decline), whom they vouch for
("Stop being alice's contact") and open help requests ("Open"). Each answer is an assertion
of the contact's passkey over the answer message, whose single-use options are fetched
before the click, as the confirmation's are.
"""

from __future__ import annotations

from typing import Any

from vouch.core.contacts import fingerprint
from vouch.core.usernames import normalize_username
from vouch.dialog import messages
from vouch.dialog.api import ApiError
from vouch.dialog.errors import NetworkError
from vouch.dialog.kinds.base import AccountStep, Change, Guardian, SetupStep
from vouch.dialog.kinds.contact import helping
from vouch.dialog.kinds.contact.builders import (
    KIND,
    LABEL_MAX,
    answer_options,
    build_entry,
    confirm_summary,
    when_text,
)
from vouch.dialog.shell import Handler, Screen, Shell, View

Person = dict[str, Any]  # one of GET /api/contacts' `invited` or `vouching_for`


class ContactsPart:
    """`base.AccountPart` for trusted contacts: GET /api/contacts, drawn and answered."""

    def __init__(self, shell: Shell):
        self.shell = shell
        self.data: dict[str, Any] | None = None  # GET /api/contacts; None if it failed
        self.options: dict[str, Any] | None = None  # for one answer's assertion
        self.waiting: list[tuple[View, str]] = []  # buttons disabled until options arrive
        self.step: AccountStep | None = None

    # What the server says ------------------------------------------------------------------

    def invited(self) -> list[Person]:
        return list((self.data or {}).get("invited") or [])

    def vouching(self) -> list[Person]:
        return list((self.data or {}).get("vouching_for") or [])

    def requests(self) -> list[Person]:
        return list((self.data or {}).get("requests") or [])

    def contact(self, account: str) -> Person | None:
        return next((c for c in self.invited() if c.get("account") == account), None)

    # base.AccountPart ----------------------------------------------------------------------

    async def load(self) -> None:
        try:
            self.data = await self.shell.api.contacts()
        except (ApiError, NetworkError):
            self.data = None  # the rest of the account screen works without it

    async def prefetch(self) -> None:
        """Fresh options for an answer, when there is one to give (each is single use)."""
        if not self.vouching():
            return
        try:
            self.options = await self.shell.api.contact_options()
        except (ApiError, NetworkError):
            return  # the click asks again
        for view, selector in self.waiting:
            view.set_disabled(selector, False)
        self.waiting = []

    def detail(self, guardian: Guardian) -> list[str]:
        """Whose guardian it is, and that it no longer counts once they gave it up."""
        contact = self.contact(str(guardian.get("account", "")))
        if contact is None:
            return []
        username = str(contact["username"])
        if contact.get("status") == "accepted":
            return [username]
        return [username, "no longer your contact, so this guardian does not count: remove it"]

    def asked(self) -> list[str]:
        requests = [
            f"{request['username']} asks you to approve their recovery."
            for request in self.requests()
        ]
        invited = [
            f"{owner['username']} invited you to be their trusted contact."
            for owner in self.vouching()
            if owner.get("status") == "pending"
        ]
        return requests + invited

    def render(self, screen: Screen, step: AccountStep) -> None:
        self.step = step
        self.waiting = []
        guardians = {str(g.get("account")) for g in step.model.of_kind(KIND.name)}
        invited = [
            c
            for c in self.invited()
            if not (c.get("status") == "accepted" and c.get("account") in guardians)
        ]
        requests, vouching = self.requests(), self.vouching()
        if not (requests or vouching or invited):
            return
        screen.append_template("[data-slot=parts]", "tpl-contacts")
        screen.set_hidden("[data-slot=contact-requests]", not requests)
        for request in requests:
            self._render_request(screen, request)
        screen.set_hidden("[data-slot=contact-vouching]", not vouching)
        screen.set_hidden("[data-slot=contact-fingerprint]", not vouching)
        screen.set_text(
            "[data-slot=contact-fingerprint]",
            f"Your fingerprint is {fingerprint(step.model.account)}. Read it to whoever "
            "invited you when they ask: it shows them they invited the right account.",
        )
        for owner in vouching:
            self._render_owner(screen, owner)
        screen.set_hidden("[data-slot=contact-invited]", not invited)
        for contact in invited:
            self._render_contact(screen, contact, step)

    # The contact's side ------------------------------------------------------------------

    def _render_request(self, screen: Screen, request: Person) -> None:
        username = str(request["username"])
        item = screen.append_template("[data-slot=contact-requests]", "tpl-contact-request")
        item.set_text(
            "[data-slot=text]",
            f"{username} asks you to approve their recovery (asked on "
            f"{when_text(request.get('created_at'))}).",
        )
        item.set_attribute("button", "aria-label", f"Open {username}'s request")
        done = self._reloading("")
        request_id = str(request["request_id"])
        item.on("button", "click", lambda: helping.answer(self.shell, request_id, done=done))

    def _render_owner(self, screen: Screen, owner: Person) -> None:
        username = str(owner["username"])
        if owner.get("status") == "accepted":
            item = screen.append_template("[data-slot=contact-vouching]", "tpl-contact-vouch")
            item.set_text("[data-slot=text]", f"You vouch for {username}.")
            item.set_text("button", f"Stop being {username}'s contact")
            self._answer_button(item, "button", owner, "remove")
            return
        item = screen.append_template("[data-slot=contact-vouching]", "tpl-contact-invitation")
        item.set_text(
            "[data-slot=text]",
            f"{username} asks you to be their trusted contact. If {username} loses their "
            "passkey, you can approve their recovery, with yours.",
        )
        item.set_attribute("[data-action=accept]", "aria-label", f"Accept {username}'s invitation")
        item.set_attribute(
            "[data-action=decline]", "aria-label", f"Decline {username}'s invitation"
        )
        self._answer_button(item, "[data-action=accept]", owner, "accept")
        self._answer_button(item, "[data-action=decline]", owner, "decline")

    def _answer_button(self, item: View, selector: str, owner: Person, answer: str) -> None:
        item.on(selector, "click", self._answer_handler(owner, answer))
        if self.options is None:
            item.set_disabled(selector, True)
            self.waiting.append((item, selector))

    def _answer_handler(self, owner: Person, answer: str) -> Handler:
        username = str(owner["username"])
        notices = {
            "accept": f"You are now {username}'s trusted contact. They confirm you as a "
            "guardian on their side.",
            "decline": f"You declined {username}'s invitation.",
            "remove": f"You are no longer {username}'s contact.",
        }

        def handler() -> None:
            step = self._step()
            prefetched, self.options = self.options, None
            if prefetched is None:
                self.shell.error("Still preparing: try again in a moment.")
                self.shell.spawn(self.prefetch())
                return
            owner_id = str(owner["account"])
            ceremony = self.shell.page.start_get(answer_options(prefetched, owner_id, answer))

            async def work() -> None:
                self.shell.show_busy("Answer with your passkey now…")
                assertion = await ceremony.credential()
                self.shell.show_busy("Sending your answer…")
                await self.shell.api.contact_answer(
                    str(prefetched["challenge_id"]), owner_id, answer, assertion
                )
                step.reload(notices[answer])

            def failed() -> None:
                step.show()
                self.shell.spawn(self.prefetch())

            self.shell.run(work, on_error=failed)

        return handler

    # The owner's side --------------------------------------------------------------------

    def _render_contact(self, screen: Screen, contact: Person, step: AccountStep) -> None:
        username = str(contact["username"])
        status = contact.get("status")
        item = screen.append_template("[data-slot=contact-invited]", "tpl-contact-invited")
        texts = {
            "pending": f"Waiting for {username} to accept your invitation.",
            "declined": f"{username} declined your invitation.",
            "accepted": f"{username} accepted. Confirm them as a guardian, after they read "
            "you their fingerprint.",
            "removed": f"{username} is no longer your contact.",
        }
        item.set_text("[data-slot=text]", texts.get(str(status), f"{username}: {status}"))
        account = str(contact["account"])
        if status == "accepted":
            item.set_text("button", f"Confirm {username} as guardian")
            item.set_attribute("button", "class", "primary")
            item.on("button", "click", lambda: self._confirm(contact, step))
        elif status == "pending":
            item.set_text("button", "Withdraw invitation")
            item.set_attribute("button", "aria-label", f"Withdraw invitation to {username}")
            item.on("button", "click", lambda: self._withdraw(account, username))
        else:
            item.set_hidden("button", True)

    def _confirm(self, contact: Person, step: AccountStep, label: str = "") -> None:
        """The contact's fingerprint and a name for them, then the usual passkey-confirmed
        change. The fingerprint is of the very account id the change adds, computed here:
        a look-alike or mistyped name shows another one, whatever the server says."""
        model = step.model
        account = str(contact["account"])
        username = str(contact["username"])
        screen = self.shell.show("tpl-contact-confirm")
        screen.set_text("h2", f"Confirm {username} as guardian")
        screen.set_text("[data-slot=summary]", confirm_summary(username, fingerprint(account)))
        screen.set_text("[data-slot=fingerprint]", fingerprint(account))
        screen.set_value("#contact-label", label)
        screen.on("[data-action=back]", "click", step.show)

        def commit() -> None:
            typed = screen.value("#contact-label").strip()[:LABEL_MAX]
            # Without a name of the owner's, the kind's own label: what a decoy's shows too.
            entry = build_entry(account, label=typed or model.default_label(KIND.name))
            change = Change(
                config=model.adding([entry]),
                heading=f"Confirm {username} as guardian",
                summary=confirm_summary(username, fingerprint(account)),
                saved=f"{username} is now a guardian.",
            )
            step.commit(change, lambda: self._confirm(contact, step, typed))

        screen.on_submit("[data-form=contact-confirm]", commit)

    def _withdraw(self, account: str, username: str) -> None:
        async def work() -> None:
            self.shell.show_busy("Withdrawing the invitation…")
            await self.shell.api.contact_withdraw(account)
            self._step().reload(f"The invitation to {username} is withdrawn.")

        self.shell.run(work, on_error=self._step().show)

    def _reloading(self, notice: str) -> Handler:
        return lambda: self._step().reload(notice)

    def _step(self) -> AccountStep:
        assert self.step is not None, "the account screen draws the part before its clicks"
        return self.step


# Adding one: the invitation ----------------------------------------------------------------


def setup(shell: Shell, step: SetupStep, typed: str = "") -> None:
    """Ask the contact's account name; the server invites them. They are named (labelled)
    when confirmed: the invitation may be answered days later, in another dialog."""
    screen = shell.show("tpl-contact-invite")
    screen.set_value("#contact-username", typed)
    screen.on("[data-action=back]", "click", step.back)
    screen.on_submit("[data-form=contact-invite]", lambda: _invite(shell, step, screen))
    screen.focus("#contact-username")


def _invite(shell: Shell, step: SetupStep, screen: Screen) -> None:
    typed = screen.value("#contact-username")
    try:
        username = normalize_username(typed)
    except ValueError as exc:
        shell.error(messages.input_message(exc))
        screen.focus("#contact-username")
        return
    if username == step.model.username:
        shell.error("That is your own account: invite someone you trust.")
        screen.focus("#contact-username")
        return

    async def send() -> None:
        shell.show_busy(f"Inviting {username}…")
        contact = (await shell.api.contact_invite(username))["contact"]
        if contact.get("status") == "accepted":
            step.reload(f"{username} has accepted already: confirm them as a guardian here.")
        else:
            step.reload(f"Invitation sent to {username}. When they accept, confirm them here.")

    shell.run(send, on_error=lambda: setup(shell, step, typed))

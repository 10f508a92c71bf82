"""The account's email address: where every notice goes, and what an email guardian mails.

An address counts only once the code mailed to it has come back (POST /api/account/email,
then /verify), so a typo cannot send the owner's notices, or a recovery code, to someone
else. The account screen shows the verified address and a way to add or change it.
"""

from __future__ import annotations

from typing import Any

from vouch.dialog.shell import Handler, Screen, Shell

CODE_MAX = 32
CODE_MIN = 6  # NIST's least; the server's codes are 8 (an address) and 10 (a recovery)
CODE_HINT = "Type the code from the mail: its digits, with or without spaces."


def typed_code(text: str) -> str:
    """A mailed code as the server reads it: digits only (spaces and dashes are for
    reading), or "" when too few were typed to be one."""
    code = "".join(ch for ch in text if ch.isdigit())[:CODE_MAX]
    return code if len(code) >= CODE_MIN else ""


def pending_of(data: dict[str, Any]) -> dict[str, Any] | None:
    """GET /api/account's `email_pending`: a code on its way to an address, or None."""
    pending = data.get("email_pending")
    return pending if isinstance(pending, dict) and pending.get("verification_id") else None


def describe(address: str | None) -> str:
    if address is None:
        return (
            "Add an email address to be told of every recovery and every change to your "
            "guardians. It is never shown to anyone."
        )
    return f"Notices go to {address}."


class EmailAddressScreens:
    """Add or change the address: type it, then the code that was mailed to it."""

    def __init__(self, shell: Shell, *, done: Handler, saved: Handler):
        self.shell = shell
        self.done = done  # back to the account screen, nothing changed
        self.saved = saved  # the address is verified: reload the account screen

    def show_address(self, typed: str = "") -> None:
        screen = self.shell.show("tpl-email-address")
        screen.set_value("#email-address", typed)
        screen.on_submit("[data-form=email-address]", lambda: self._send(screen))
        screen.on("[data-action=back]", "click", self.done)
        screen.focus("#email-address")

    def _send(self, screen: Screen) -> None:
        typed = screen.value("#email-address").strip()
        if "@" not in typed:
            self.shell.error("Type the whole address, with its @.")
            screen.focus("#email-address")
            return

        async def send() -> None:
            self.shell.show_busy("Sending a code…")
            pending = await self.shell.api.add_email(typed)
            self.show_code(pending)

        self.shell.run(send, on_error=lambda: self.show_address(typed))

    def show_code(self, pending: dict[str, Any], typed: str = "") -> None:
        address = str(pending["address"])
        screen = self.shell.show("tpl-email-verify")
        screen.set_text(
            "[data-slot=sent]",
            f"We sent a code to {address}. It is good for 15 minutes.",
        )
        screen.set_value("#email-verify-code", typed)
        screen.on_submit("[data-form=email-verify]", lambda: self._verify(screen, pending))
        screen.on("[data-action=other]", "click", lambda: self.show_address(address))
        screen.on("[data-action=back]", "click", self.done)
        screen.focus("#email-verify-code")

    def _verify(self, screen: Screen, pending: dict[str, Any]) -> None:
        typed = screen.value("#email-verify-code")
        code = typed_code(typed)
        if not code:
            self.shell.error(CODE_HINT)
            screen.focus("#email-verify-code")
            return

        async def verify() -> None:
            self.shell.show_busy("Checking…")
            await self.shell.api.verify_email(str(pending["verification_id"]), code)
            self.saved()

        self.shell.run(verify, on_error=lambda: self.show_code(pending, typed))

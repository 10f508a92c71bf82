"""The trusted contact answers a help request, in their own dialog, signed in as themselves.

A help link (`dialog.html#help=<token>`) opens this dialog: the token is taken off the
address bar at once, the contact signs in with their passkey, and only then does the server
say who asks (a link alone shows nobody anything). The request comes from the account
screen's list too. The contact is shown who asks, when, from what browser and with what
kind of new passkey, types the code the requester reads to them, and approves with a
passkey assertion over SHA-256 of the recovery message; or declines.
"""

from __future__ import annotations

from typing import Any

from vouch.dialog.api import ApiError
from vouch.dialog.kinds.base import LinkStep
from vouch.dialog.kinds.contact.builders import (
    authenticator_text,
    help_options,
    typed_code,
    when_text,
    wrong_code_message,
)
from vouch.dialog.shell import Handler, Shell

LINK_KEY = "help"  # dialog.html#help=<token>
# Refusals that end the request for this contact: said plainly, with nothing to retry.
CLOSED = frozenset(
    {
        "no_help_request",
        "not_your_request",
        "help_request_closed",
        "contact_recently_recovered",
        "not_a_contact",
    }
)


def open_link(shell: Shell, step: LinkStep) -> None:
    """The link's first screen: sign in, then the request (or leave it)."""
    screen = shell.show("tpl-contact-help-signin")

    def sign_in() -> None:
        step.sign_in(
            lambda: answer(shell, step.value, done=step.done), lambda: open_link(shell, step)
        )

    screen.on("[data-action=signin]", "click", sign_in)
    screen.on("[data-action=leave]", "click", step.leave)


def answer(shell: Shell, request_id: str, *, done: Handler) -> None:
    """Open the request (the requester sees it was opened) and show it."""

    async def work() -> None:
        shell.show_busy("Opening the request…")
        try:
            opened = await shell.api.help_open(request_id)
        except ApiError as exc:
            if exc.code not in CLOSED:
                raise
            ended(shell, "This request cannot be answered", exc.message, done)
            return
        show_request(shell, opened, done=done)

    shell.run(work, on_error=done)


def show_request(shell: Shell, opened: dict[str, Any], *, done: Handler, typed: str = "") -> None:
    """Who asks, when, from where, and the code box; Approve, Decline, or not now."""
    request_id = str(opened["request_id"])
    username = str(opened["username"])
    screen = shell.show("tpl-contact-help")
    screen.set_text("h2", f"{username} asks for your help")
    screen.set_text(
        "[data-slot=lede]",
        f"{username} is recovering their account and asks you to vouch for them. Approve "
        f"only if {username} asked you themselves and read you the code.",
    )
    device = str(opened.get("device") or "an unknown browser")
    for fact in (
        f"Asked on {when_text(opened.get('created_at'))}, from {device}.",
        authenticator_text(opened.get("authenticator")),
        f"The request is open until {when_text(opened.get('expires_at'))}.",
    ):
        screen.append_text("[data-slot=facts]", "li", fact)
    screen.set_text("[data-slot=code-label]", f"Code {username} reads to you")
    screen.set_text(
        "[data-slot=code-hint]",
        f"Six digits. Ask {username} for them by phone or in person. If you have not "
        f"spoken to {username}, someone else may be asking: decline.",
    )
    screen.set_value("#help-code", typed)

    def approve() -> None:
        typed_now = screen.value("#help-code")
        code = typed_code(typed_now)
        if not code:
            shell.error(f"Type the six digits {username} reads to you.")
            screen.focus("#help-code")
            return
        ceremony = shell.page.start_get(help_options(opened))  # inside the click

        async def work() -> None:
            shell.show_busy("Approve with your passkey now…")
            assertion = await ceremony.credential()
            shell.show_busy("Sending your approval…")
            try:
                await shell.api.help_approve(request_id, code, assertion)
            except ApiError as exc:
                if exc.code == "contact_code_wrong":
                    show_request(shell, opened, done=done, typed=typed_now)
                    shell.error(wrong_code_message(exc.message, exc.details.get("attempts_left")))
                    return
                if exc.code not in CLOSED:
                    raise
                ended(shell, "This request cannot be answered", exc.message, done)
                return
            ended(
                shell,
                f"You vouched for {username}",
                f"Your approval counts toward {username}'s recovery. They can finish it now "
                "if they have enough approvals.",
                done,
            )

        shell.run(work, on_error=lambda: show_request(shell, opened, done=done, typed=typed_now))

    def decline() -> None:
        async def work() -> None:
            shell.show_busy("Declining…")
            await shell.api.help_decline(request_id)
            ended(
                shell,
                "You declined",
                f"This request cannot use you any more. If it really was {username}, they "
                "can start the recovery again and send you a new link.",
                done,
            )

        shell.run(work, on_error=lambda: show_request(shell, opened, done=done))

    screen.on_submit("[data-form=help-code]", approve)
    screen.on("[data-action=decline]", "click", decline)
    screen.on("[data-action=back]", "click", done)
    if typed:  # back after a wrong code: the box again; otherwise the title, then the lede
        screen.focus("#help-code")


def ended(shell: Shell, heading: str, text: str, done: Handler) -> None:
    """An answered, refused or closed request: what happened, then the account."""
    screen = shell.show("tpl-contact-help-done")
    screen.set_text("h2", heading)
    screen.set_text("[data-slot=text]", text)
    screen.on("[data-action=continue]", "click", done)

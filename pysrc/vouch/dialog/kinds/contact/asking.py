"""The locked-out person asks their trusted contact: a link to send, a code to read out.

The server makes a help request for this recovery and this guardian and gives its link;
the page shows it (copy, QR code) beside the verification code, which the page computes
from the recovery message and never sends: the contact types it in their own dialog, so a
link that reached them without this person (a phished one) cannot be approved. The status
is polled while the screen is shown; the contact's approval is recorded by the server and
counts like an emailed code's. Leaving the screen stops the polling and changes nothing.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from vouch.core.contacts import verification_code
from vouch.dialog.api import ApiError
from vouch.dialog.errors import NetworkError
from vouch.dialog.kinds.base import ApprovalStep
from vouch.dialog.kinds.contact.builders import attachment_of, qr_svg_data_uri, status_line, who
from vouch.dialog.shell import Screen, Shell

POLL_SECONDS = 2.0  # how soon the contact's answer shows; each poll is one small request


@dataclass
class _Watch:
    """Whether the screen is still shown: every way off it turns the polling off."""

    on: bool = True


def approve(shell: Shell, step: ApprovalStep) -> None:
    """Ask the server for a help request (or take the one made on an earlier visit), then
    show its link and the code, and wait for the contact's answer."""
    flow = step.flow
    recovery_id = str(flow.start["recovery_id"])
    guardian_id = str(step.guardian["id"])
    whom = who(step.guardian)
    watch = _Watch()

    async def ask() -> None:
        asked: dict[str, Any] | None = flow.kept.get(guardian_id)
        if asked is None or int(asked.get("expires_at") or 0) <= time.time():
            shell.show_busy("Preparing a link for your contact…")
            asked = await shell.api.recovery_contact_request(
                recovery_id,
                guardian_id,
                flow.new_credential_json(),
                attachment_of(flow.credential),
            )
            flow.kept[guardian_id] = asked
        await shell.load_deferred()  # segno, for the link's QR code
        screen = show(str(asked["link"]))
        shell.spawn(poll(screen))

    def show(link: str) -> Screen:
        screen = shell.show("tpl-recover-contact")
        screen.set_text("[data-slot=progress]", flow.progress_text())
        screen.set_text(
            "[data-slot=lede]",
            f"Send this link to {whom}, or let them scan the code below. They open it on "
            "their own device and sign in with their own passkey.",
        )
        screen.set_value("#contact-link", link)
        screen.set_attribute("[data-slot=qr]", "src", qr_svg_data_uri(link))
        screen.set_text("[data-slot=code-for]", f"Read this code to {whom} when they ask:")
        screen.set_text("[data-slot=code]", verification_code(flow.message()))
        screen.set_text("[data-slot=status]", status_line("waiting", whom))
        screen.on("[data-action=copy]", "click", lambda: shell.spawn(copy(screen, link)))
        screen.on("[data-action=back]", "click", leave)
        return screen

    async def copy(screen: Screen, link: str) -> None:
        copied = await shell.page.copy_text(link)
        screen.set_text(
            "[data-slot=copied]",
            "Link copied." if copied else "Copying is blocked here: select the link instead.",
        )

    async def poll(screen: Screen) -> None:
        while watch.on:
            await asyncio.sleep(POLL_SECONDS)
            if not watch.on:
                return
            try:
                answer = await shell.api.recovery_contact_status(recovery_id, guardian_id)
            except NetworkError:
                continue  # a dropped connection: the next poll tries again
            except ApiError as exc:  # the recovery expired or was used up
                if watch.on:
                    watch.on = False
                    shell.error(exc.message)
                return
            if not watch.on:
                return  # left while the request was on its way
            status = str(answer.get("status") or "waiting")
            if status == "approved":
                watch.on = False
                step.recorded(guardian_id)
                return
            screen.set_text("[data-slot=status]", status_line(status, whom))
            if status == "declined":
                watch.on = False
                screen.set_hidden("[data-slot=asking]", True)
                screen.set_attribute("[data-action=back]", "class", "primary")
                screen.focus("[data-action=back]")
                return

    def leave() -> None:
        watch.on = False
        step.back()

    shell.run(ask, on_error=step.back)

"""The recovery-kit screen that the code kinds share: the codes, once, after they are saved.

The guardian holding the codes is stored (confirmed by the owner's passkey) before this
screen shows them, so no way out of the dialog leaves a code that was shown but never
saved: whatever the person wrote down works.
"""

from __future__ import annotations

import datetime
from collections.abc import Awaitable, Callable

from vouch.crypto.provider import Provider
from vouch.dialog.guardian_setup import Change, Guardian
from vouch.dialog.kinds.base import SetupStep
from vouch.dialog.kit import RecoveryKit
from vouch.dialog.shell import Handler, Screen, Shell

Build = Callable[[Provider], Awaitable[Guardian]]


def today() -> str:
    return datetime.datetime.now(tz=datetime.UTC).strftime("%Y-%m-%d")


def add(shell: Shell, step: SetupStep, kit: RecoveryKit, build: Build, *, summary: str) -> None:
    """Build the guardian from the kit's codes, have the change confirmed, then show the kit."""

    async def prepare() -> None:
        shell.show_busy("Preparing your codes…")
        guardian = await build(shell.provider)
        replaced = any(saved["id"] == guardian["id"] for saved in step.model.guardians)
        title = kit.title.lower()
        step.confirm(
            Change(
                config=step.model.adding([guardian]),
                heading=f"Replace your {title}" if replaced else f"Add {title}",
                summary=summary,
                saved=f"New {title} saved. The old ones no longer work."
                if replaced
                else f"{kit.title} saved.",
                then=lambda: show(shell, kit, done=step.back),
                back=step.back,
            )
        )

    shell.run(prepare, on_error=step.back)


def show(shell: Shell, kit: RecoveryKit, *, done: Handler, done_text: str = "Done") -> None:
    """The kit's screen: Copy, Download, Print, and `done_text` once "I have saved this" is
    ticked."""
    screen = shell.show("tpl-kit")
    title = kit.title.lower()
    screen.set_text("h2", f"Save your {title}")
    screen.set_text("[data-slot=for]", f"For {kit.username} at {kit.site.title}")
    screen.set_text(
        "[data-slot=hint]",
        f"Your {title} now protects this account. This is the only time the {kit.noun} "
        "will be shown: keep a copy somewhere safe.",
    )
    screen.set_attribute("[data-slot=codes]", "class", "codes" if len(kit.codes) > 1 else "code")
    for code in kit.codes:
        screen.append_text("[data-slot=codes]", "li", code)
    qr = kit.qr_svg_data_uri()
    for selector in ("[data-slot=qr]", "[data-slot=print-qr]"):
        screen.set_attribute(selector, "src", qr)
    _fill_print_page(screen, kit)
    screen.set_text("[data-action=confirm]", done_text)
    screen.on("[data-action=copy]", "click", lambda: shell.spawn(_copy(shell, screen, kit)))
    screen.on(
        "[data-action=download]",
        "click",
        lambda: shell.page.download_text(kit.filename(), kit.text()),
    )
    screen.on("[data-action=print]", "click", shell.page.print_page)
    screen.on(
        "#saved",
        "change",
        lambda: screen.set_disabled("[data-action=confirm]", not screen.checked("#saved")),
    )
    screen.on("[data-action=confirm]", "click", done)


def _fill_print_page(screen: Screen, kit: RecoveryKit) -> None:
    """The printed kit says what the text kit says, with a box to tick off each used code."""
    screen.set_text("[data-slot=print-title]", kit.heading)
    screen.set_text("[data-slot=print-date]", kit.created)
    screen.set_text("[data-slot=print-purpose-title]", kit.purpose_title)
    screen.set_text("[data-slot=print-purpose]", kit.purpose)
    screen.set_text("[data-slot=print-how-title]", kit.how_title)
    screen.set_text("[data-slot=print-how]", kit.how)
    screen.set_text("[data-slot=print-reuse]", kit.reuse)
    several = len(kit.codes) > 1
    screen.set_attribute(
        "[data-slot=print-codes]", "class", "print-codes" if several else "print-codes single"
    )
    for code in kit.codes:
        item = screen.append_template("[data-slot=print-codes]", "tpl-print-code")
        item.set_text("[data-slot=code]", code)
        item.set_hidden("[data-slot=tick]", not kit.single_use)


async def _copy(shell: Shell, screen: Screen, kit: RecoveryKit) -> None:
    copied = await shell.page.copy_text(kit.text())
    screen.set_text(
        "[data-slot=copied]",
        "Copied." if copied else "Copying is blocked here: use Download or Print.",
    )

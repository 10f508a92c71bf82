"""The recovery kit and the passphrase sheet say, on their own, which site, which account,
when, what for, and how to recover; one-time codes get a box to tick off.

The site comes from /api/config: the embedding host's configured name (or host name) next
to its address, or the dialog itself on its own page.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.fake_dialog import FakeScreen, FakeShell
from vouch.dialog.embed import Launch
from vouch.dialog.guardian_setup import AccountModel, Change
from vouch.dialog.kinds import backup_codes, passphrase, recovery_code
from vouch.dialog.kinds.base import SetupStep
from vouch.dialog.kit import RecoveryKit
from vouch.dialog.site import Site, site_of, wrong_address, wrong_address_message

APP = Site("Example App", "https://app.example.com", "https://app.example.com")
CONFIG = {
    "origin": "https://auth.example.com",
    "rp_name": "Example Accounts",
    "allowed_origins": ["https://app.example.com", "https://shop.example.org"],
    "site_names": {
        "https://app.example.com": "Example App",
        "https://shop.example.org": "shop.example.org",
    },
}
DIRECT = Launch(mode="signin", host_origin=None, display=None, nonce="")


def embedded(origin: str) -> Launch:
    return Launch(mode="signin", host_origin=origin, display="popup", nonce="n" * 12)


def test_an_embedded_dialog_names_the_host_site_by_its_configured_name() -> None:
    site = site_of(CONFIG, embedded("https://app.example.com"), "https://auth.example.com")
    assert site == APP
    assert site.title == "Example App (https://app.example.com)"
    unnamed = site_of(CONFIG, embedded("https://shop.example.org"), "https://auth.example.com")
    assert unnamed.title == "shop.example.org (https://shop.example.org)"


def test_the_dialogs_own_page_names_the_dialog_and_sends_people_back_to_it() -> None:
    site = site_of(CONFIG, DIRECT, "https://auth.example.com")
    assert site == Site(
        "Example Accounts", "https://auth.example.com", "https://auth.example.com/dialog.html"
    )
    # The server did not answer: the page's own address, by its host name.
    fallback = site_of(None, DIRECT, "http://localhost:8000")
    assert fallback.title == "localhost (http://localhost:8000)"


def test_a_page_at_another_address_than_the_servers_origin_is_told_where_to_go() -> None:
    config = {"origin": "http://localhost:8000"}
    assert wrong_address(config, "http://localhost:8000", "/dialog.html") is None
    assert (
        wrong_address(config, "http://127.0.0.1:8000", "/dialog.html?mode=recover")
        == "http://localhost:8000/dialog.html?mode=recover"
    )
    assert wrong_address({}, "http://127.0.0.1:8000", "/dialog.html") is None
    assert wrong_address_message("http://localhost:8000/dialog.html?mode=recover") == (
        "This sign-in dialog's address is http://localhost:8000. Passkeys work only at the"
        " address they belong to, so open the dialog there:"
    )


def backup_kit(codes: tuple[str, ...] = ("AAAAAA-BBBBBB-CCCCCC", "DDDDDD-EEEEEE-FFFFFF")) -> Any:
    return RecoveryKit(
        username="alice",
        date="2026-11-21",
        kind=backup_codes.KIND,
        codes=codes,
        site=APP,
        use_text=backup_codes.USE_TEXT,
        single_use=True,
    )


def test_the_backup_codes_kit_says_where_and_how_and_has_a_box_per_code() -> None:
    text = backup_kit().text()
    assert text.splitlines()[:2] == [
        "Backup codes for alice at Example App (https://app.example.com)",
        "Created 2026-11-21",
    ]
    assert (
        "What they are for: These codes get you back into the account alice at Example App"
        " if you lose your passkey (your phone or security key)."
    ) in text
    assert (
        "How to use one: Open https://app.example.com and choose \u201cRecover account\u201d."
        " Enter the account name alice and create a new passkey, then choose"
        " \u201cUse a backup code\u201d and type one of the codes below."
    ) in text
    assert "Each code works once: tick it off when you have used it." in text
    assert "[ ]  1. AAAAAA-BBBBBB-CCCCCC\n[ ]  2. DDDDDD-EEEEEE-FFFFFF\n" in text
    assert text.endswith("someone could take over your account.\n")
    assert backup_kit().filename() == "example-app-backup-codes-alice.txt"
    assert backup_kit().qr_svg_data_uri().startswith("data:image/svg+xml")


def test_the_recovery_code_kit_has_one_code_that_keeps_working() -> None:
    kit = RecoveryKit(
        username="alice",
        date="2026-11-21",
        kind=recovery_code.KIND,
        codes=("AAAAAA-BBBBBB-CCCCCC-DDDDDD",),
        site=APP,
        use_text=recovery_code.USE_TEXT,
        single_use=False,
    )
    text = kit.text()
    assert "What it is for: This code gets you back" in text
    assert "choose \u201cUse recovery code\u201d and type the code below." in text
    assert "The code keeps working after a recovery: keep it." in text
    assert "\nAAAAAA-BBBBBB-CCCCCC-DDDDDD\n" in text
    assert "[ ]" not in text


# The screens ----------------------------------------------------------------------------


def setup_step(shell: FakeShell) -> tuple[SetupStep, list[Change]]:
    """A setup step whose changes are confirmed at once, as if the passkey had answered and
    the server stored them: what each change shows next (a kit) is shown."""
    confirmed: list[Change] = []
    model = AccountModel(account="acct-1", username="alice", guardians=(), threshold=0)

    async def refetch() -> None:
        return None

    def confirm(change: Change) -> None:
        confirmed.append(change)
        if change.then is not None:
            change.then()

    step = SetupStep(model=model, confirm=confirm, back=lambda: None, refetch=refetch)
    return step, confirmed


def shown_kit(kind: Any) -> tuple[FakeShell, FakeScreen]:
    shell = FakeShell()
    shell.site = APP
    step, _ = setup_step(shell)
    kind.setup(shell, step)
    shell.settle()  # the codes' guardian is built, confirmed and stored: then the kit shows
    return shell, shell.current()


def test_the_kit_screen_and_its_print_page_name_the_site_and_tick_boxes() -> None:
    shell, screen = shown_kit(backup_codes)
    assert screen.text("[data-slot=for]") == "For alice at Example App (https://app.example.com)"
    shown = [li.text_content for li in screen.find("[data-slot=codes]").children]
    printed = screen.items["[data-slot=print-codes]"]
    assert [item.text("[data-slot=code]") for item in printed] == shown
    assert all(not item.find("[data-slot=tick]").hidden for item in printed)
    assert screen.text("[data-slot=print-title]") == (
        "Backup codes for alice at Example App (https://app.example.com)"
    )
    assert screen.text("[data-slot=print-date]").startswith("Created 20")
    assert screen.text("[data-slot=print-purpose-title]") == "What they are for"
    assert "choose \u201cRecover account\u201d" in screen.text("[data-slot=print-how]")
    assert screen.text("[data-slot=print-reuse]") == (
        "Each code works once: tick it off when you have used it."
    )
    screen.click("[data-action=download]")
    ((name, text),) = shell.page.downloaded
    assert name == "example-app-backup-codes-alice.txt"
    assert all(f". {code}" in text for code in shown)


def test_a_single_recovery_code_prints_without_a_box_on_one_line() -> None:
    _, screen = shown_kit(recovery_code)
    assert screen.attribute("[data-slot=codes]", "class") == "code"
    (item,) = screen.items["[data-slot=print-codes]"]
    assert item.find("[data-slot=tick]").hidden
    assert screen.attribute("[data-slot=print-codes]", "class") == "print-codes single"


PHRASE = "quartz lantern orbit meadow ticket volcano"


def passphrase_screen() -> tuple[FakeShell, FakeScreen, SetupStep, list[Change]]:
    shell = FakeShell()
    shell.site = APP
    step, added = setup_step(shell)
    passphrase.setup(shell, step)
    return shell, shell.current(), step, added


def test_the_passphrase_can_be_shown_hidden_and_copied() -> None:
    shell, screen, _, _ = passphrase_screen()
    toggle = "[data-action=toggle]"
    assert screen.attribute("#passphrase", "type") == "password"
    assert screen.attribute(toggle, "aria-controls") == "passphrase"
    screen.click("[data-action=copy]")
    shell.settle()
    assert shell.page.copied == []
    assert screen.text("[data-slot=status]") == "Type or generate a passphrase first."
    screen.fill("#passphrase", PHRASE)
    screen.click(toggle)
    assert screen.attribute("#passphrase", "type") == "text"
    assert screen.text(toggle) == "Hide passphrase"
    assert screen.text("[data-slot=status]") == "Your passphrase is shown."
    screen.click(toggle)
    assert screen.attribute("#passphrase", "type") == "password"
    assert screen.text(toggle) == "Show passphrase"
    assert screen.text("[data-slot=status]") == "Your passphrase is hidden."
    screen.click("[data-action=copy]")
    shell.settle()
    assert shell.page.copied == [PHRASE]
    assert screen.text("[data-slot=status]") == "Passphrase copied."


@pytest.mark.parametrize("included", [False, True])
def test_the_passphrase_sheet_has_a_space_to_write_it_unless_asked_to_print_it(
    included: bool,
) -> None:
    shell, screen, _, _ = passphrase_screen()
    screen.fill("#passphrase", PHRASE)
    if included:
        screen.find("#sheet-include").checked = True
    screen.click("[data-action=print]")
    assert shell.page.printed == 1
    assert screen.text("[data-slot=print-title]") == (
        "Passphrase for alice at Example App (https://app.example.com)"
    )
    assert "choose \u201cUse passphrase\u201d" in screen.text("[data-slot=print-how]")
    assert screen.text("[data-slot=print-passphrase]") == (PHRASE if included else "")
    assert screen.text("[data-slot=print-write]") == (
        "Your passphrase:" if included else "Write your passphrase here, by hand:"
    )

"""Nothing shown is ever lost, and recovery is offered where people are (issue 13).

A guardian is stored before its kit shows a code, so leaving with the kit on screen keeps
it; sign-up offers the recommended pair (in a frame too: tests/browser/test_embedding.py);
"Later" brings a reminder at the next sign-in; new backup codes replace the old set; a
recovery that used the recovery code offers a new one, and the old one stops working. New
screens are screenshotted and checked with axe-core.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import open_dialog
from tests.support.browser import VirtualAuthenticator
from tests.support.dialog_driver import SLOW, DialogDriver
from tests.support.live_server import LiveServer


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


def reopen(page: Page) -> None:
    """Close the window and come back: a new page, signed out."""
    page.reload()
    page.wait_for_selector("html[data-ready=true]", timeout=SLOW)


def recover_with_code(dialog: DialogDriver, username: str, code: str) -> None:
    dialog.start_recovery(username)
    dialog.approve_with_secret("Use recovery code", "Recovery code", code)


def test_guided_set_up_after_sign_up_then_a_used_recovery_code_is_replaced(
    page: Page, authenticator: VirtualAuthenticator, live_server: LiveServer, output_dir: Path
) -> None:
    username = unique("guided")
    dialog = DialogDriver(page, output_dir)
    open_dialog(page, live_server)
    dialog.create_account(username, set_up=True)
    dialog.screen("offer-after-sign-up")
    dialog.set_up_now()  # one passkey confirmation for the pair
    [code] = dialog.read_kit("recovery code", "guided-kit-recovery-code")
    backups = dialog.read_kit("backup codes", "guided-kit-backup-codes")
    assert len(backups) == 10
    expect(page.get_by_text("1 of 2 guardians needed to recover this account.")).to_be_visible(
        timeout=SLOW
    )
    dialog.screen("account-after-guided-set-up")

    # The phone is lost; the recovery code gets the account back, and is replaced.
    authenticator.remove()
    phone = VirtualAuthenticator(authenticator.cdp).add()
    reopen(page)
    recover_with_code(dialog, username, code)
    expect(page.get_by_role("heading", name="Replace your recovery code")).to_be_visible(
        timeout=SLOW
    )
    dialog.screen("offer-new-recovery-code")
    dialog.button("Get a new recovery code").click()  # confirmed by the new passkey
    [new_code] = dialog.read_kit("recovery code", "kit-new-recovery-code")
    assert new_code != code
    expect(page.get_by_text("The old one no longer works.")).to_be_visible(timeout=SLOW)

    # Another lost phone: the used code is refused, the new one is accepted.
    phone.remove()
    VirtualAuthenticator(authenticator.cdp).add()
    reopen(page)
    recover_with_code(dialog, username, code)
    expect(dialog.alert()).to_have_text(
        f"That recovery code is not right. Check the account name too: \u201c{username}\u201d.",
        timeout=SLOW,
    )
    page.get_by_label("Recovery code", exact=True).fill(new_code)
    dialog.button("Approve").click()
    expect(page.get_by_role("heading", name="Replace your recovery code")).to_be_visible(
        timeout=SLOW
    )


def test_later_then_a_reminder_on_the_next_sign_in(
    page: Page, authenticator: VirtualAuthenticator, live_server: LiveServer, output_dir: Path
) -> None:
    username = unique("later")
    dialog = DialogDriver(page, output_dir)
    open_dialog(page, live_server)
    dialog.create_account(username)  # "Later"
    expect(page.get_by_text("You have no guardians yet.")).to_be_visible()
    dialog.screen("account-empty-with-set-up")
    reopen(page)
    dialog.sign_in()
    expect(page.get_by_role("heading", name="Recovery is not set up")).to_be_visible(timeout=SLOW)
    dialog.screen("reminder-on-sign-in")
    dialog.button("Not now").click()
    dialog.expect_signed_in(username)


def test_a_guardian_whose_kit_was_left_open_is_kept_and_new_codes_replace_the_set(
    page: Page, authenticator: VirtualAuthenticator, live_server: LiveServer, output_dir: Path
) -> None:
    username = unique("leave")
    dialog = DialogDriver(page, output_dir)
    open_dialog(page, live_server)
    dialog.create_account(username)
    dialog.button("Add backup codes").click()
    dialog.confirm_change("confirm-add-backup-codes")
    expect(page.get_by_role("heading", name="Save your backup codes")).to_be_visible(timeout=SLOW)
    old = [text.strip() for text in page.locator("[data-slot=codes] li").all_inner_texts()]
    reopen(page)  # the window closed with the codes on screen, nothing ticked
    dialog.sign_in()
    expect(page.get_by_text("1 of 1 guardian needed to recover this account.")).to_be_visible(
        timeout=SLOW
    )
    dialog.screen("account-one-guardian")
    new = dialog.add_codes("backup codes", button="Get new backup codes")
    assert set(new).isdisjoint(old)
    rows = page.locator("[data-slot=guardians] li")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("10 codes left")
    expect(page.get_by_text("Backup codes 2")).to_have_count(0)

    # An old code no longer recovers; a new one does.
    authenticator.remove()
    VirtualAuthenticator(authenticator.cdp).add()
    reopen(page)
    dialog.start_recovery(username)
    dialog.approve_with_secret("Use a backup code", "Backup code", old[0])
    expect(dialog.alert()).to_have_text(
        "That backup code is not right, or it was already used. Check the account name too:"
        f" \u201c{username}\u201d.",
        timeout=SLOW,
    )
    page.get_by_label("Backup code", exact=True).fill(new[0])
    dialog.button("Approve").click()
    dialog.expect_signed_in(username)

"""The product end to end, as a person uses it: protect the account, lose the phone, get back in.

Every screen is screenshotted into test-results/ and checked with axe-core.
"""

from __future__ import annotations

import secrets
import sqlite3
from pathlib import Path

from playwright.sync_api import BrowserContext, Page, Route, expect

from tests.browser.conftest import open_dialog
from tests.support.browser import VirtualAuthenticator
from tests.support.db import snapshot
from tests.support.dialog_driver import SLOW, DialogDriver
from tests.support.live_server import LiveServer
from vouch.core import codes

PASSPHRASE = "quartz lantern orbit meadow ticket volcano"
ACCOUNT_TABLES = ("accounts", "credentials", "sessions")


def unique_name() -> str:
    return f"user-{secrets.token_hex(4)}"


def test_protect_lose_and_recover_with_passphrase_and_backup_code(
    page: Page,
    context: BrowserContext,
    authenticator: VirtualAuthenticator,
    live_server: LiveServer,
    output_dir: Path,
) -> None:
    username = unique_name()
    dialog = DialogDriver(page, output_dir)
    open_dialog(page, live_server)
    dialog.screen("start")
    dialog.create_account(username)
    dialog.screen("account-empty")

    dialog.add_passphrase(PASSPHRASE)
    recovery_code = dialog.add_codes("recovery code")
    backup_codes = dialog.add_codes("backup codes")
    assert len(recovery_code) == 1
    assert len(backup_codes) == 10
    dialog.set_threshold(2, 3)
    expect(page.get_by_text("2 of 3 guardians needed to recover this account.")).to_be_visible()
    dialog.screen("account-saved")

    # The lost phone: the authenticator is gone; keep a copy of its passkey to try it later.
    old_passkey = authenticator.credentials()[0]
    authenticator.remove()
    new_phone = VirtualAuthenticator(authenticator.cdp).add()

    page.reload()
    page.wait_for_selector("html[data-ready=true]")
    dialog.start_recovery(username)
    expect(page.get_by_text("2 more approvals needed.")).to_be_visible()
    dialog.screen("recover-guardians")

    dialog.approve_with_secret("Use passphrase", "Passphrase", "quartz lantern orbit meadow")
    expect(dialog.alert()).to_have_text(
        f"That passphrase is not right. Check the account name too: \u201c{username}\u201d.",
        timeout=SLOW,
    )
    expect(page.get_by_label("Passphrase", exact=True)).to_have_value("quartz lantern orbit meadow")
    dialog.screen("recover-wrong-passphrase")
    page.get_by_label("Passphrase", exact=True).fill(f"  {PASSPHRASE} ")
    dialog.button("Approve").click()
    expect(page.get_by_text("1 more approval needed.")).to_be_visible(timeout=SLOW)

    dialog.approve_with_secret("Use a backup code", "Backup code", "not-a-code")
    expect(dialog.alert()).to_have_text(
        "This backup code has 8 letters and digits; it should have 18 (three groups of six)."
    )
    page.get_by_label("Backup code", exact=True).fill(backup_codes[3].lower().replace("-", " "))
    dialog.button("Approve").click()
    dialog.expect_signed_in(username)
    dialog.screen("recovered")
    assert len(new_phone.credentials()) == 1

    # The old passkey stops working.
    new_phone.remove()
    stolen = VirtualAuthenticator(authenticator.cdp).add()
    stolen.add_credential(old_passkey)
    page.reload()
    page.wait_for_selector("html[data-ready=true]")
    dialog.sign_in()
    expect(dialog.alert()).to_contain_text(
        "This passkey is not registered here, or was replaced by an account recovery.",
        timeout=SLOW,
    )
    dialog.screen("old-passkey-refused")

    # The used backup code is refused the second time, and that changes nothing.
    stolen.remove()
    VirtualAuthenticator(authenticator.cdp).add()
    page.reload()
    page.wait_for_selector("html[data-ready=true]")
    before = snapshot(live_server.database, *ACCOUNT_TABLES)
    dialog.start_recovery(username)
    dialog.approve_with_secret("Use a backup code", "Backup code", backup_codes[3])
    expect(dialog.alert()).to_have_text(
        "That backup code is not right, or it was already used. Check the account name too:"
        f" \u201c{username}\u201d.",
        timeout=SLOW,
    )
    dialog.button("Choose another way").click()
    dialog.approve_with_secret("Use recovery code", "Recovery code", recovery_code[0])
    expect(page.get_by_text("1 more approval needed.")).to_be_visible(timeout=SLOW)
    assert snapshot(live_server.database, *ACCOUNT_TABLES) == before


def test_second_passkey_guardian_approves_a_recovery(
    page: Page,
    authenticator: VirtualAuthenticator,
    live_server: LiveServer,
    output_dir: Path,
) -> None:
    username = unique_name()
    dialog = DialogDriver(page, output_dir)
    open_dialog(page, live_server)
    dialog.create_account(username)

    security_key = VirtualAuthenticator(authenticator.cdp).add(transport="usb")
    authenticator.set_presence(False)  # only the security key answers
    dialog.button("Add second passkey").click()
    expect(dialog.button("Confirm with passkey")).to_be_visible(timeout=SLOW)
    assert len(security_key.credentials()) == 1
    authenticator.set_presence(True)
    security_key.set_presence(False)
    dialog.confirm_change()
    expect(page.get_by_text("Second passkey saved.")).to_be_visible(timeout=SLOW)
    dialog.screen("account-with-security-key")

    authenticator.remove()
    new_phone = VirtualAuthenticator(authenticator.cdp).add()
    page.reload()
    page.wait_for_selector("html[data-ready=true]")
    dialog.start_recovery(username)
    new_phone.set_presence(False)
    security_key.set_presence(True)
    page.get_by_role("button", name="Use other passkey").click()
    dialog.expect_signed_in(username)
    assert len(new_phone.credentials()) == 1


def test_leaving_a_recovery_halfway_changes_nothing(
    page: Page, authenticator: VirtualAuthenticator, live_server: LiveServer
) -> None:
    username = unique_name()
    dialog = DialogDriver(page, check_a11y=False)
    open_dialog(page, live_server)
    dialog.create_account(username)
    dialog.add_codes("recovery code")
    before = snapshot(live_server.database, *ACCOUNT_TABLES)

    page.reload()
    page.wait_for_selector("html[data-ready=true]")
    dialog.start_recovery(username)
    dialog.button("Cancel recovery").click()
    expect(dialog.button("Recover account")).to_be_visible()
    assert snapshot(live_server.database, *ACCOUNT_TABLES) == before


def test_unknown_account_recovery_looks_like_any_other(
    page: Page, authenticator: VirtualAuthenticator, live_server: LiveServer
) -> None:
    """A made-up account name gets a plausible flow whose approvals simply never verify."""
    dialog = DialogDriver(page, check_a11y=False)
    open_dialog(page, live_server)
    dialog.start_recovery(unique_name())
    expect(page.get_by_text("more approval")).to_be_visible()
    choice = page.locator("[data-slot=choices] button").first
    label = choice.inner_text()
    choice.click()
    if "passphrase" in label:
        secret = "correct horse battery staple"
    elif "recovery code" in label:
        secret = codes.new_recovery_code()
    else:
        secret = codes.new_backup_codes(1)[0]
    page.locator("#secret").fill(secret)
    dialog.button("Approve").click()
    expect(dialog.alert()).to_contain_text("is not right", timeout=SLOW)


def test_a_recovery_the_server_refuses_at_the_last_step_says_so_and_changes_nothing(
    page: Page, authenticator: VirtualAuthenticator, live_server: LiveServer, output_dir: Path
) -> None:
    """The approvals check out, then the owner changes the guardians (from another device)
    just before the page executes: the real server refuses the execute, the failure screen
    says why and offers a fresh start, and the account is as it was.

    The route only holds the execute request while the guardians change; the request then
    goes to the server as it was sent.
    """
    username = unique_name()
    dialog = DialogDriver(page, output_dir)
    open_dialog(page, live_server)
    dialog.create_account(username)
    (recovery_code,) = dialog.add_codes("recovery code")

    authenticator.remove()
    VirtualAuthenticator(authenticator.cdp).add()
    page.reload()
    page.wait_for_selector("html[data-ready=true]")
    before: list[dict[str, list[tuple[object, ...]]]] = []

    def guardians_change_first(route: Route) -> None:
        with sqlite3.connect(live_server.database) as database:
            database.execute(
                "UPDATE accounts SET guardians_version = guardians_version + 1 WHERE username = ?",
                (username,),
            )
        before.append(snapshot(live_server.database, *ACCOUNT_TABLES))
        route.continue_()

    page.route("**/api/recovery/execute", guardians_change_first)
    dialog.start_recovery(username)
    dialog.approve_with_secret("Use recovery code", "Recovery code", recovery_code)
    expect(page.get_by_role("heading", name="Recovery did not complete")).to_be_visible(
        timeout=SLOW
    )
    expect(dialog.alert()).to_have_text(
        "This account's guardians changed after the recovery started: start again."
    )
    dialog.screen("recover-failed")
    assert len(before) == 1
    assert snapshot(live_server.database, *ACCOUNT_TABLES) == before[0]

    dialog.button("Start again").click()
    expect(page.get_by_label("Account name")).to_be_visible()

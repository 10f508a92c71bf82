"""Errors that keep what was typed and say what to do, in the real page.

A mistyped code stays in the field and the screen names (and marks) the character; a
recovery code typed where a backup code was asked for offers "Use recovery code" with the
code moved over; a refused approval says to check the account name in the same words for a
real account and a made-up one; a dialog opened at 127.0.0.1 says which address to open.
"""

from __future__ import annotations

import secrets
import sqlite3
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import open_dialog
from tests.support.browser import PageWatch, VirtualAuthenticator
from tests.support.dialog_driver import SLOW, DialogDriver, axe_violations
from tests.support.live_server import LiveServer
from vouch.core import codes
from vouch.server.decoys import Decoys


def unique_name() -> str:
    return f"err-{secrets.token_hex(4)}"


def with_wrong_symbol(code: str, index: int) -> str:
    """`code` with its `index`th symbol (dashes not counted) changed, dashes kept."""
    symbols = [char for char in code if char != "-"]
    symbols[index] = "0" if symbols[index] != "0" else "1"
    flat = "".join(symbols)
    return "-".join(flat[i : i + 6] for i in range(0, len(flat), 6))


def lose_the_phone(page: Page, authenticator: VirtualAuthenticator) -> None:
    authenticator.remove()
    VirtualAuthenticator(authenticator.cdp).add()
    page.reload()
    page.wait_for_selector("html[data-ready=true]", timeout=SLOW)


def test_a_typo_keeps_the_code_and_a_recovery_code_moves_to_its_own_step(
    page: Page, authenticator: VirtualAuthenticator, live_server: LiveServer, output_dir: Path
) -> None:
    username = unique_name()
    dialog = DialogDriver(page, output_dir)
    open_dialog(page, live_server)
    dialog.create_account(username)
    (recovery_code,) = dialog.add_codes("recovery code")
    backups = dialog.add_codes("backup codes")
    lose_the_phone(page, authenticator)
    dialog.start_recovery(username)

    page.get_by_role("button", name="Use a backup code").click()
    field = page.get_by_label("Backup code", exact=True)
    typo = with_wrong_symbol(backups[0], 7)
    field.fill(typo)
    dialog.button("Approve").click()
    expect(dialog.alert()).to_have_text("The second character of group 2 looks wrong.")
    expect(field).to_have_value(typo)
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("[data-slot=typed] mark")).to_have_text(typo[8])
    expect(page.locator("[data-slot=typed]")).to_have_text(typo)
    dialog.screen("recover-code-typo")
    page.emulate_media(color_scheme="dark")
    dialog.screen("recover-code-typo-dark")  # the marked character keeps its contrast
    page.emulate_media(color_scheme="light")

    field.fill(recovery_code)
    dialog.button("Approve").click()
    expect(dialog.alert()).to_have_text("This looks like a recovery code, not a backup code.")
    expect(field).to_have_value(recovery_code)
    dialog.screen("recover-code-of-the-other-kind")
    dialog.button("Use recovery code").click()
    expect(page.get_by_role("heading", name="Enter your recovery code")).to_be_visible()
    expect(page.get_by_label("Recovery code", exact=True)).to_have_value(recovery_code)
    dialog.button("Approve").click()
    # Recovered with the recovery code: the dialog offers a new one in its place.
    expect(page.get_by_role("heading", name="Replace your recovery code")).to_be_visible(
        timeout=SLOW
    )


def decoy_name_with_a_recovery_code(server: LiveServer) -> str:
    """An unknown name whose decoy has a recovery-code guardian (white-box: the server's
    decoy key, from its database), so a real and a made-up refusal can be compared."""
    with sqlite3.connect(f"file:{server.database}?mode=ro", uri=True) as connection:
        (key,) = connection.execute(
            "SELECT value FROM server_secrets WHERE name = 'decoy_hmac_v1'"
        ).fetchone()
    decoys = Decoys(key)
    prefix = unique_name()
    for n in range(10_000):
        name = f"{prefix}-{n}"
        if any(row["kind"] == "recovery_code" for row in decoys.decoy(name).rows):
            return name
    raise AssertionError("no decoy with a recovery code")


def refusal_for(page: Page, dialog: DialogDriver, username: str) -> str:
    dialog.start_recovery(username)
    page.locator("[data-slot=choices] button", has_text="Use recovery code").first.click()
    wrong = codes.new_recovery_code()
    page.get_by_label("Recovery code", exact=True).fill(wrong)
    dialog.button("Approve").click()
    expect(dialog.alert()).to_contain_text("Check the account name", timeout=SLOW)
    expect(page.get_by_label("Recovery code", exact=True)).to_have_value(wrong)
    return str(dialog.alert().inner_text())


def test_a_refusal_says_check_the_account_name_alike_for_real_and_made_up_names(
    page: Page, authenticator: VirtualAuthenticator, live_server: LiveServer, output_dir: Path
) -> None:
    username = unique_name()
    dialog = DialogDriver(page, output_dir)
    open_dialog(page, live_server)
    dialog.create_account(username)
    dialog.add_codes("recovery code")
    lose_the_phone(page, authenticator)

    real = refusal_for(page, dialog, username)
    assert real == (
        f"That recovery code is not right. Check the account name too: \u201c{username}\u201d."
    )
    dialog.screen("recover-refused")
    dialog.button("Change account name").click()
    expect(page.get_by_label("Account name")).to_have_value(username)
    dialog.button("Back").click()

    decoy = decoy_name_with_a_recovery_code(live_server)
    made_up = refusal_for(page, dialog, decoy)
    assert made_up.replace(decoy, "NAME") == real.replace(username, "NAME")


def test_the_dialog_at_another_address_says_which_one_to_open(
    page: Page, watch: PageWatch, live_server: LiveServer, output_dir: Path
) -> None:
    other = f"http://127.0.0.1:{live_server.port}"
    watch.also_allowed.add(other)
    page.goto(f"{other}/dialog.html?mode=recover")
    page.wait_for_selector("html[data-ready=true]", timeout=SLOW)
    expect(page.get_by_role("heading", name="This dialog cannot open here")).to_be_visible()
    expected = f"{live_server.url}/dialog.html?mode=recover"
    expect(page.locator("#screen")).to_contain_text(
        f"This sign-in dialog's address is {live_server.url}."
    )
    link = page.get_by_role("link", name=f"Open {expected}")
    expect(link).to_have_attribute("href", expected)
    expect(page.get_by_role("button")).to_have_count(0)  # nothing here can work
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        page.screenshot(path=output_dir / f"wrong-address-{scheme}.png")
        assert axe_violations(page) == []
    link.click()
    page.wait_for_selector("html[data-ready=true]", timeout=SLOW)
    assert page.url == expected
    expect(page.get_by_role("heading", name="Recover your account")).to_be_visible()


def test_a_refused_sign_up_keeps_the_account_name(
    page: Page, authenticator: VirtualAuthenticator, live_server: LiveServer
) -> None:
    username = unique_name()
    dialog = DialogDriver(page, check_a11y=False)
    open_dialog(page, live_server)
    dialog.create_account(username)
    dialog.button("Sign out").click()
    page.get_by_label("Account name").fill(username)
    dialog.button("Create account").click()
    expect(dialog.alert()).to_contain_text("taken", timeout=SLOW)
    expect(page.get_by_label("Account name")).to_have_value(username)

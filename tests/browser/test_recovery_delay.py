"""With a time lock, a recovery waits, and the owner signing in with an old passkey cancels it."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import PageWatch, VirtualAuthenticator
from tests.support.dialog_driver import SLOW, DialogDriver
from tests.support.live_server import LiveServer, start_server


@pytest.fixture(scope="module")
def delayed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start_server(tmp_path_factory.mktemp("delay"), "--recovery-delay", "3600")
    yield server
    server.stop()


def test_owner_cancels_a_pending_recovery(
    page: Page,
    authenticator: VirtualAuthenticator,
    delayed_server: LiveServer,
    watch: PageWatch,
    output_dir: Path,
) -> None:
    watch.also_allowed.add(delayed_server.url)
    username = f"delay-{secrets.token_hex(3)}"
    dialog = DialogDriver(page, output_dir)
    page.goto(f"{delayed_server.url}/dialog.html")
    page.wait_for_selector("html[data-ready=true]", timeout=SLOW)
    dialog.create_account(username)
    [code] = dialog.add_codes("recovery code")

    owners_passkey = authenticator.credentials()[0]
    authenticator.remove()
    attacker = VirtualAuthenticator(authenticator.cdp).add()
    page.reload()
    page.wait_for_selector("html[data-ready=true]")
    dialog.start_recovery(username)
    dialog.approve_with_secret("Use recovery code", "Recovery code", code)
    expect(page.get_by_role("heading", name="Recovery scheduled")).to_be_visible(timeout=SLOW)
    expect(
        page.get_by_text("anyone signing in with one of the old passkeys can cancel it")
    ).to_be_visible()
    dialog.screen("recovery-pending")
    dialog.button("Finish recovery").click()
    expect(dialog.alert()).to_be_visible(timeout=SLOW)
    expect(page.get_by_role("heading", name="Recovery scheduled")).to_be_visible()

    attacker.remove()
    owner = VirtualAuthenticator(authenticator.cdp).add()
    owner.add_credential(owners_passkey)
    page.reload()
    page.wait_for_selector("html[data-ready=true]")
    dialog.sign_in()
    # Every sign-in shows a pending recovery first; going on, the account screen lists it
    # too (the banner's own Cancel is tested in test_email_notices.py).
    expect(page.get_by_role("heading", name="Someone is recovering your account")).to_be_visible(
        timeout=SLOW
    )
    dialog.button("It was me: continue").click()
    dialog.expect_signed_in(username)
    expect(page.get_by_role("heading", name="Recovery in progress")).to_be_visible(timeout=SLOW)
    dialog.screen("account-pending-recovery")
    dialog.button("Cancel this recovery").click()
    expect(
        page.get_by_text("The recovery was cancelled. Your passkeys keep working.")
    ).to_be_visible(timeout=SLOW)
    expect(page.get_by_role("heading", name="Recovery in progress")).to_be_hidden()

"""The recovery kit: shown once, copied, downloaded and printed with the account and date."""

from __future__ import annotations

import datetime
import secrets
from pathlib import Path

from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import open_dialog
from tests.support.browser import VirtualAuthenticator
from tests.support.dialog_driver import DialogDriver
from tests.support.live_server import LiveServer


def test_kit_can_be_copied_downloaded_and_printed(
    page: Page,
    context: BrowserContext,
    authenticator: VirtualAuthenticator,
    live_server: LiveServer,
    output_dir: Path,
) -> None:
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    username = f"kit-{secrets.token_hex(3)}"
    today = datetime.datetime.now(tz=datetime.UTC).strftime("%Y-%m-%d")
    dialog = DialogDriver(page, output_dir)
    open_dialog(page, live_server)
    dialog.create_account(username)
    dialog.button("Add backup codes").click()
    dialog.confirm_change()
    expect(page.get_by_role("heading", name="Save your backup codes")).to_be_visible()
    codes = [text.strip() for text in page.locator("[data-slot=codes] li").all_inner_texts()]
    assert len(codes) == 10
    assert len(set(codes)) == 10

    dialog.button("Copy").click()
    expect(page.get_by_text("Copied.")).to_be_visible()
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert all(code in copied for code in codes)
    assert f"for {username}" in copied

    with page.expect_download() as download:
        dialog.button("Download").click()
    assert download.value.suggested_filename == f"vouch-backup-codes-{username}.txt"
    text = Path(download.value.path()).read_text()
    assert text == copied
    assert f"Created {today}" in text

    page.emulate_media(media="print")
    printed = page.locator(".print-only")
    expect(printed).to_be_visible()
    expect(printed).to_contain_text(f"vouch backup codes for {username}")
    expect(printed).to_contain_text(f"Created {today}")
    for code in codes:
        expect(printed).to_contain_text(code)
    expect(dialog.button("Download")).to_be_hidden()
    page.screenshot(path=output_dir / "kit-print.png", full_page=True)
    page.emulate_media(media="screen")

    # Saved before it was shown: the kit is the last time the codes appear.
    page.get_by_label("I have saved this somewhere safe").check()
    dialog.button("Done").click()
    expect(page.get_by_text("Backup codes saved.")).to_be_visible()

"""The recovery kit: shown once, copied, downloaded and printed with the site, the account,
the date, what it is for and how to recover; one-time codes with a box to tick off each.
The passphrase gets Show/Hide, Copy and a printable sheet. Codes fit one line on a phone.

This module's server names an allowed host site ("Example App") and the dialog itself
("Vouch Demo"), as an operator would with serve.py's --allow-origin ORIGIN=NAME and
--rp-name.
"""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import open_dialog
from tests.support.browser import VirtualAuthenticator
from tests.support.dialog_driver import SLOW, DialogDriver
from tests.support.live_server import LiveServer, start_server

HOST = "https://app.example.com"
PASSPHRASE = "quartz lantern orbit meadow ticket volcano"


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start_server(
        tmp_path_factory.mktemp("kit"),
        "--allow-origin",
        f"{HOST}=Example App",
        "--rp-name",
        "Vouch Demo",
    )
    yield server
    server.stop()


def today() -> str:
    return datetime.datetime.now(tz=datetime.UTC).strftime("%Y-%m-%d")


def stub_print(page: Page) -> None:
    """Count window.print() calls instead of opening the print dialog."""
    page.evaluate("() => { window.printed = 0; window.print = () => { window.printed += 1; }; }")


def test_kit_can_be_copied_downloaded_and_printed(
    page: Page,
    context: BrowserContext,
    authenticator: VirtualAuthenticator,
    live_server: LiveServer,
    output_dir: Path,
) -> None:
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    username = f"kit-{secrets.token_hex(3)}"
    site = f"Vouch Demo ({live_server.url})"
    dialog = DialogDriver(page, output_dir)
    open_dialog(page, live_server)
    dialog.create_account(username)
    dialog.button("Add backup codes").click()
    dialog.confirm_change()
    expect(page.get_by_role("heading", name="Save your backup codes")).to_be_visible()
    expect(page.get_by_text(f"For {username} at {site}", exact=True)).to_be_visible()
    codes = [text.strip() for text in page.locator("[data-slot=codes] li").all_inner_texts()]
    assert len(codes) == 10
    assert len(set(codes)) == 10
    dialog.screen("kit-backup-codes")

    dialog.button("Copy").click()
    expect(page.get_by_text("Copied.")).to_be_visible()
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert all(code in copied for code in codes)

    with page.expect_download() as download:
        dialog.button("Download").click()
    assert download.value.suggested_filename == f"vouch-demo-backup-codes-{username}.txt"
    text = Path(download.value.path()).read_text()
    assert text == copied
    lines = text.splitlines()
    assert lines[:2] == [f"Backup codes for {username} at {site}", f"Created {today()}"]
    assert f"These codes get you back into the account {username} at Vouch Demo" in text
    assert (
        f"Open {live_server.url}/dialog.html and choose \u201cRecover account\u201d."
        f" Enter the account name {username}"
    ) in text
    assert "Each code works once: tick it off when you have used it." in text
    for number, code in enumerate(codes, start=1):
        assert f"[ ] {number:>2}. {code}" in lines

    stub_print(page)
    dialog.button("Print").click()
    assert page.evaluate("() => window.printed") == 1
    page.emulate_media(media="print")
    printed = page.locator(".print-only")
    expect(printed).to_be_visible()
    expect(printed).to_contain_text(f"Backup codes for {username} at {site}")
    expect(printed).to_contain_text(f"Created {today()}")
    expect(printed).to_contain_text("What they are for")
    expect(printed).to_contain_text("How to use one")
    expect(printed).to_contain_text("choose \u201cRecover account\u201d")
    expect(printed).to_contain_text("Each code works once: tick it off when you have used it.")
    for code in codes:
        expect(printed).to_contain_text(code)
    ticks = printed.locator(".tick")
    expect(ticks).to_have_count(10)
    for index in range(10):
        box = ticks.nth(index).bounding_box()
        assert box is not None
        assert box["width"] > 8
        assert box["height"] > 8
    expect(dialog.button("Download")).to_be_hidden()
    page.screenshot(path=output_dir / "kit-print.png", full_page=True)
    page.emulate_media(media="screen")

    # Saved before it was shown: the kit is the last time the codes appear.
    page.get_by_label("I have saved this somewhere safe").check()
    dialog.button("Done").click()
    expect(page.get_by_text("Backup codes saved.")).to_be_visible()


def test_an_embedded_kit_names_the_host_site_it_was_made_for(
    page: Page, authenticator: VirtualAuthenticator, live_server: LiveServer, output_dir: Path
) -> None:
    username = f"host-{secrets.token_hex(3)}"
    page.goto(
        f"{live_server.url}/dialog.html?mode=signin&origin={HOST}&display=popup&nonce=abcdefghijkl"
    )
    page.wait_for_selector("html[data-ready=true]", timeout=SLOW)
    dialog = DialogDriver(page, output_dir)
    dialog.create_account(username, set_up=True)  # the offer after sign-up: its first kit
    dialog.set_up_now()
    site = f"Example App ({HOST})"
    expect(page.get_by_text(f"For {username} at {site}", exact=True)).to_be_visible(timeout=SLOW)
    (code,) = [text.strip() for text in page.locator("[data-slot=codes] li").all_inner_texts()]
    with page.expect_download() as download:
        dialog.button("Download").click()
    assert download.value.suggested_filename == f"example-app-recovery-code-{username}.txt"
    text = Path(download.value.path()).read_text()
    assert text.startswith(f"Recovery code for {username} at {site}\nCreated {today()}\n")
    assert f"Open {HOST} and choose \u201cRecover account\u201d." in text
    assert "choose \u201cUse recovery code\u201d and type the code below." in text
    assert "The code keeps working after a recovery: keep it." in text
    assert f"\n{code}\n" in text
    assert "[ ]" not in text
    page.emulate_media(media="print")
    printed = page.locator(".print-only")
    expect(printed).to_contain_text(f"Recovery code for {username} at {site}")
    expect(printed.locator(".tick")).to_be_hidden()
    page.screenshot(path=output_dir / "kit-print-recovery-code.png", full_page=True)
    page.emulate_media(media="screen")


def test_the_passphrase_shows_hides_copies_and_prints_with_or_without_itself(
    page: Page,
    context: BrowserContext,
    authenticator: VirtualAuthenticator,
    live_server: LiveServer,
    output_dir: Path,
) -> None:
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    username = f"sheet-{secrets.token_hex(3)}"
    dialog = DialogDriver(page, output_dir)
    open_dialog(page, live_server)
    dialog.create_account(username)
    dialog.button("Add passphrase").click()
    field = page.get_by_label("Passphrase", exact=True)
    field.fill(PASSPHRASE)
    expect(field).to_have_attribute("type", "password")
    dialog.button("Show passphrase").click()
    expect(field).to_have_attribute("type", "text")
    expect(page.get_by_role("status").filter(has_text="Your passphrase is shown.")).to_be_visible()
    dialog.screen("passphrase-shown")
    dialog.button("Hide passphrase").click()
    expect(field).to_have_attribute("type", "password")
    dialog.button("Copy passphrase").click()
    expect(page.get_by_text("Passphrase copied.")).to_be_visible()
    assert page.evaluate("() => navigator.clipboard.readText()") == PASSPHRASE

    stub_print(page)
    sheet = page.locator(".print-only")
    dialog.button("Print a passphrase sheet").click()
    page.emulate_media(media="print")
    expect(sheet).to_be_visible()
    expect(sheet).to_contain_text(f"Passphrase for {username} at Vouch Demo ({live_server.url})")
    expect(sheet).to_contain_text(f"Created {today()}")
    expect(sheet).to_contain_text("choose \u201cUse passphrase\u201d")
    expect(sheet).to_contain_text("Write your passphrase here, by hand:")
    expect(sheet).not_to_contain_text(PASSPHRASE)
    space = sheet.locator(".write-here").bounding_box()
    assert space is not None
    assert space["height"] > 80  # room to write by hand
    page.screenshot(path=output_dir / "passphrase-sheet-blank.png", full_page=True)
    page.emulate_media(media="screen")

    page.get_by_label("Print my passphrase on the sheet").check()
    dialog.button("Print a passphrase sheet").click()
    assert page.evaluate("() => window.printed") == 2
    page.emulate_media(media="print")
    expect(sheet).to_contain_text("Your passphrase:")
    expect(sheet.locator(".write-here")).to_have_text(PASSPHRASE)
    page.screenshot(path=output_dir / "passphrase-sheet-filled.png", full_page=True)
    page.emulate_media(media="screen")
    dialog.screen("passphrase-sheet-choice")


def _lines(page: Page, selector: str) -> list[dict[str, float]]:
    """Each element's height in lines of its own line height, and whether it overflows."""
    result: list[dict[str, float]] = page.evaluate(
        """(selector) => [...document.querySelectorAll(selector)].map((el) => {
            const style = getComputedStyle(el);
            const range = document.createRange();
            range.selectNodeContents(el);
            return {
                lines: range.getClientRects().length,
                height: el.getBoundingClientRect().height / parseFloat(style.lineHeight),
                overflow: el.scrollWidth - el.clientWidth,
                right: range.getBoundingClientRect().right,
                box: el.closest('ol').getBoundingClientRect().right,
            };
        })""",
        selector,
    )
    return result


def test_codes_fit_one_line_on_a_390_pixel_phone(
    page: Page, authenticator: VirtualAuthenticator, live_server: LiveServer, output_dir: Path
) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    dialog = DialogDriver(page, output_dir)
    open_dialog(page, live_server)
    dialog.create_account(f"phone-{secrets.token_hex(3)}")
    for kind in ("recovery code", "backup codes"):
        dialog.button(f"Add {kind}").click()
        dialog.confirm_change()
        expect(page.get_by_role("heading", name=f"Save your {kind}")).to_be_visible()
        measured = _lines(page, "[data-slot=codes] li")
        assert measured, kind
        for item in measured:
            assert item["lines"] == 1, (kind, item)
            assert round(item["height"]) == 1, (kind, item)
            assert item["overflow"] <= 0, (kind, item)
            assert item["right"] <= item["box"], (kind, item)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
        dialog.screen(f"kit-390px-{kind.replace(' ', '-')}")
        page.get_by_label("I have saved this somewhere safe").check()
        dialog.button("Done").click()

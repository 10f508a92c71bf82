"""Keyboard use, focus, themes and axe-core on the screens that need no account state."""

from __future__ import annotations

import secrets
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import open_dialog
from tests.support.browser import VirtualAuthenticator
from tests.support.dialog_driver import SLOW, DialogDriver, axe_violations
from tests.support.live_server import LiveServer


def test_create_account_with_the_keyboard_only(
    page: Page, authenticator: VirtualAuthenticator, live_server: LiveServer
) -> None:
    open_dialog(page, live_server)
    username = f"kb-{secrets.token_hex(3)}"
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.id") == "username":
            break
    assert page.evaluate("() => document.activeElement.id") == "username"
    page.keyboard.type(username)
    page.keyboard.press("Enter")
    # The recovery offer that follows: its title has focus, then "Set up now", "Later".
    expect(page.get_by_role("heading", name="Protect your account")).to_be_focused(timeout=SLOW)
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Later")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_text(f"Signed in as {username}")).to_be_visible(timeout=SLOW)


def test_focus_stays_inside_the_dialog(page: Page, live_server: LiveServer) -> None:
    open_dialog(page, live_server)
    for presses in range(25):
        page.keyboard.press("Shift+Tab" if presses % 7 == 6 else "Tab")
        inside = page.evaluate(
            "() => document.getElementById('dialog').contains(document.activeElement)"
        )
        assert inside, f"focus left the dialog after {presses + 1} presses"


def test_focus_is_visible(page: Page, live_server: LiveServer) -> None:
    open_dialog(page, live_server)
    page.keyboard.press("Tab")
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", "")


def test_errors_are_announced(page: Page, live_server: LiveServer) -> None:
    open_dialog(page, live_server)
    page.get_by_role("button", name="Create account").click()
    alert = page.get_by_role("alert")
    expect(alert).to_have_text("Enter an account name.")
    assert alert.get_attribute("aria-live") == "assertive"


def test_light_and_dark_themes_pass_axe(
    page: Page, live_server: LiveServer, output_dir: Path
) -> None:
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        open_dialog(page, live_server)
        background = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
        page.screenshot(path=output_dir / f"start-{scheme}.png")
        assert axe_violations(page) == []
        DialogDriver(page, output_dir, check_a11y=True).button("Recover account").click()
        expect(page.get_by_role("heading", name="Recover your account")).to_be_visible()
        assert axe_violations(page) == []
        if scheme == "light":
            light_background = background
    assert background != light_background


def test_embedded_signed_in_screen_and_refusal_pass_axe(
    page: Page, authenticator: VirtualAuthenticator, live_server: LiveServer, output_dir: Path
) -> None:
    """Screens only an embedding shows: "You are in" (the SDK closes it at once) and a refusal."""
    username = f"emb-{secrets.token_hex(3)}"
    page.goto(
        f"{live_server.url}/dialog.html?mode=signin&origin={live_server.url}"
        "&display=popup&nonce=abcdefghijkl"
    )
    page.wait_for_selector("html[data-ready=true]", timeout=SLOW)
    DialogDriver(page, output_dir).create_account(username)
    expect(page.get_by_role("heading", name="You are in")).to_be_visible()
    page.screenshot(path=output_dir / "embedded-signed-in.png")
    assert axe_violations(page) == []

    page.goto(
        f"{live_server.url}/dialog.html?mode=signin&origin=https://evil.example"
        "&display=popup&nonce=abcdefghijkl"
    )
    page.wait_for_selector("html[data-ready=true]", timeout=SLOW)
    expect(page.get_by_role("heading", name="This dialog cannot open here")).to_be_visible()
    page.screenshot(path=output_dir / "refused.png")
    assert axe_violations(page) == []


def test_the_set_up_screens_pass_axe_in_dark_mode_on_a_phone(
    page: Page, authenticator: VirtualAuthenticator, live_server: LiveServer, output_dir: Path
) -> None:
    """The recovery offer, a change's confirmation and the threshold, as a newcomer sees them."""
    page.emulate_media(color_scheme="dark")
    page.set_viewport_size({"width": 375, "height": 740})
    open_dialog(page, live_server)
    dialog = DialogDriver(page, output_dir)
    dialog.create_account(f"dark-{secrets.token_hex(3)}", set_up=True)
    page.screenshot(path=output_dir / "dark-phone-offer.png", full_page=True)
    assert axe_violations(page) == []
    dialog.button("Later").click()
    dialog.add_codes("recovery code")
    dialog.button("Add backup codes").click()
    expect(dialog.button("Confirm with passkey")).to_be_visible(timeout=SLOW)
    page.screenshot(path=output_dir / "dark-phone-confirm.png", full_page=True)
    assert axe_violations(page) == []
    dialog.button("Confirm with passkey").click()
    dialog.read_kit("backup codes")
    dialog.button("Change approvals needed").click()
    expect(page.get_by_label("Approvals needed", exact=True)).to_be_focused()
    page.screenshot(path=output_dir / "dark-phone-threshold.png", full_page=True)
    assert axe_violations(page) == []

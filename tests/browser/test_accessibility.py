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

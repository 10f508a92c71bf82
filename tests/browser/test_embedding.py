"""The embed SDK from a host site: popup and iframe, same origin and another origin.

The token each returns must verify with PyJWT against the server's JWKS, and nothing else.
"""

from __future__ import annotations

import re
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.support.browser import PageWatch, VirtualAuthenticator, attach_authenticator
from tests.support.dialog_driver import SLOW, DialogDriver
from tests.support.live_server import ROOT, LiveServer, start_server
from tests.support.ports import free_port


@pytest.fixture(scope="module")
def host_site() -> Iterator[str]:
    """The demo host page served from a second, plain static origin."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
         "--directory", str(ROOT / "web")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://localhost:{port}"
    deadline = time.monotonic() + 10
    while True:
        try:
            httpx.get(f"{url}/index.html", timeout=1)
            break
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                process.kill()
                raise
            time.sleep(0.1)
    yield url
    process.terminate()
    process.wait()


@pytest.fixture(scope="module")
def embedding_server(
    tmp_path_factory: pytest.TempPathFactory, host_site: str
) -> Iterator[LiveServer]:
    server = start_server(tmp_path_factory.mktemp("embed"), "--allow-origin", host_site)
    yield server
    server.stop()


def verify_token(server: LiveServer, token: str, audience: str) -> dict[str, object]:
    jwks = jwt.PyJWKClient(f"{server.url}/.well-known/jwks.json")
    key = jwks.get_signing_key_from_jwt(token)
    claims: dict[str, object] = jwt.decode(
        token, key=key.key, algorithms=["EdDSA"], audience=audience, issuer=server.url
    )
    return claims


def host_page(page: Page, host: str, dialog: LiveServer, display: str) -> None:
    query = "" if host == dialog.url else f"?dialog={dialog.url}"
    page.goto(f"{host}/index.html{query}")
    page.get_by_label(
        {"popup": "Popup", "iframe": "Frame on this page", "auto": "Automatic"}[display]
    ).check()


@pytest.mark.parametrize("same_origin", [True, False], ids=["served-by-vouch", "other-origin"])
def test_popup_returns_a_token_that_verifies(
    context: BrowserContext,
    page: Page,
    watch: PageWatch,
    embedding_server: LiveServer,
    host_site: str,
    same_origin: bool,
    output_dir: Path,
) -> None:
    host = embedding_server.url if same_origin else host_site
    watch.also_allowed.update({embedding_server.url, host_site})
    host_page(page, host, embedding_server, "popup")
    with page.expect_popup() as opened:
        page.get_by_role("button", name="Sign in").click()
    popup = opened.value
    popup_watch = PageWatch(origin=embedding_server.url)
    popup_watch.attach(popup)
    attach_authenticator(context, popup)
    popup.wait_for_selector("html[data-ready=true]", timeout=SLOW)
    username = f"pop-{secrets.token_hex(3)}"
    DialogDriver(popup, output_dir).create_account(username, stays_open=False)

    expect(page.locator("#status")).to_have_text(f"Signed in as {username}", timeout=SLOW)
    page.screenshot(path=output_dir / "host-after-popup.png")
    assert popup.is_closed()
    token = page.locator("body").get_attribute("data-token")
    assert token
    claims = verify_token(embedding_server, token, audience=host)
    assert claims["sub"]
    with pytest.raises(jwt.InvalidAudienceError):
        verify_token(embedding_server, token, audience="https://elsewhere.example")
    popup_watch.assert_clean()


@pytest.mark.parametrize("same_origin", [True, False], ids=["served-by-vouch", "other-origin"])
def test_iframe_returns_a_token_that_verifies(
    context: BrowserContext,
    page: Page,
    watch: PageWatch,
    embedding_server: LiveServer,
    host_site: str,
    same_origin: bool,
    output_dir: Path,
) -> None:
    host = embedding_server.url if same_origin else host_site
    watch.also_allowed.update({embedding_server.url, host_site})
    attach_authenticator(context, page)
    host_page(page, host, embedding_server, "auto")
    page.get_by_role("button", name="Sign in").click()
    frame = page.frame_locator("iframe[title='Sign-in dialog']")
    frame.locator("html[data-ready=true]").wait_for(timeout=SLOW)
    username = f"frame-{secrets.token_hex(3)}"
    frame.get_by_label("Account name").fill(username)
    frame.get_by_role("button", name="Create account").click()
    frame.get_by_role("button", name="Later").click()

    expect(page.locator("#status")).to_have_text(f"Signed in as {username}", timeout=SLOW)
    assert page.locator("iframe[title='Sign-in dialog']").count() == 0
    page.screenshot(path=output_dir / "host-after-iframe.png")
    token = page.locator("body").get_attribute("data-token")
    assert token
    assert verify_token(embedding_server, token, audience=host)["sub"]


def test_closing_the_frame_rejects_with_closed(
    page: Page, watch: PageWatch, embedding_server: LiveServer
) -> None:
    watch.also_allowed.add(embedding_server.url)
    host_page(page, embedding_server.url, embedding_server, "iframe")
    page.get_by_role("button", name="Sign in").click()
    page.frame_locator("iframe").locator("html[data-ready=true]").wait_for(timeout=SLOW)
    page.get_by_role("button", name="Close the sign-in dialog").click()
    expect(page.locator("#status")).to_contain_text("Not signed in (closed)")
    # Closed right after it was ready, the frame may still have been fetching the files it
    # loads once up (tests/browser/test_deferred_loading.py); Chromium logs each fetch the
    # removal cancelled. Those, and nothing else, are expected here.
    cancelled = re.compile(r"console error: Fetch API cannot load \S+/v/\S+\.zip\. $")
    watch.errors[:] = [error for error in watch.errors if not cancelled.match(error)]


def test_dialog_refuses_a_host_the_server_does_not_allow(
    page: Page, live_server: LiveServer
) -> None:
    """The session server has no --allow-origin: an embedding request from elsewhere is refused."""
    page.goto(
        f"{live_server.url}/dialog.html?mode=signin&origin=https://evil.example"
        "&display=popup&nonce=abcdefghijkl"
    )
    page.wait_for_selector("html[data-ready=true]", timeout=SLOW)
    expect(page.get_by_role("heading", name="This dialog cannot open here")).to_be_visible()
    expect(page.get_by_text("https://evil.example is not allowed")).to_be_visible()
    assert page.get_by_role("button", name="Sign in with passkey").count() == 0


def test_recover_from_the_demo_host_in_a_frame(
    context: BrowserContext,
    page: Page,
    watch: PageWatch,
    embedding_server: LiveServer,
    host_site: str,
    output_dir: Path,
) -> None:
    """The whole story from a host site: protect, lose the passkey, recover, get a token."""
    watch.also_allowed.update({embedding_server.url, host_site})
    phone = attach_authenticator(context, page)
    username = f"host-{secrets.token_hex(3)}"
    dialog = DialogDriver(page, output_dir, check_a11y=False)
    page.goto(f"{embedding_server.url}/dialog.html")
    page.wait_for_selector("html[data-ready=true]", timeout=SLOW)
    dialog.create_account(username)
    [code] = dialog.add_codes("recovery code")

    phone.remove()
    VirtualAuthenticator(phone.cdp).add()
    host_page(page, host_site, embedding_server, "iframe")
    page.get_by_role("button", name="Recover account").click()
    frame = page.frame_locator("iframe[title='Sign-in dialog']")
    frame.locator("html[data-ready=true]").wait_for(timeout=SLOW)
    frame.get_by_label("Account name").fill(username)
    frame.get_by_role("button", name="Continue").click()
    frame.get_by_role("button", name="Create new passkey").click()
    frame.get_by_role("button", name="Use recovery code").click()
    frame.get_by_label("Recovery code").fill(code)
    frame.get_by_role("button", name="Approve").click()
    # The code was used: the frame offers a new one before handing back to the site.
    expect(frame.get_by_role("heading", name="Replace your recovery code")).to_be_visible(
        timeout=SLOW
    )
    frame.get_by_role("button", name="Not now").click()

    expect(page.locator("#status")).to_have_text(f"Signed in as {username}", timeout=SLOW)
    page.screenshot(path=output_dir / "host-after-recovery.png")
    token = page.locator("body").get_attribute("data-token")
    assert token
    assert verify_token(embedding_server, token, audience=host_site)["preferred_username"] == (
        username
    )


def test_sign_up_in_a_frame_offers_set_up_and_manage_account_needs_no_passkey(
    context: BrowserContext,
    page: Page,
    watch: PageWatch,
    embedding_server: LiveServer,
    host_site: str,
    output_dir: Path,
) -> None:
    watch.also_allowed.update({embedding_server.url, host_site})
    phone = attach_authenticator(context, page)
    host_page(page, host_site, embedding_server, "iframe")
    page.get_by_role("button", name="Sign in").click()
    frame = page.frame_locator("iframe[title='Sign-in dialog']")
    frame.locator("html[data-ready=true]").wait_for(timeout=SLOW)
    username = f"setup-{secrets.token_hex(3)}"
    frame.get_by_label("Account name").fill(username)
    frame.get_by_role("button", name="Create account").click()
    expect(frame.get_by_role("heading", name="Protect your account")).to_be_visible(timeout=SLOW)
    page.screenshot(path=output_dir / "frame-offer-after-sign-up.png")
    DialogDriver(page).set_up_now(frame)
    for kind, done in (("recovery code", "Next: backup codes"), ("backup codes", "Done")):
        expect(frame.get_by_role("heading", name=f"Save your {kind}")).to_be_visible(timeout=SLOW)
        frame.get_by_label("I have saved this somewhere safe").check()
        frame.get_by_role("button", name=done).click()
    expect(page.locator("#status")).to_have_text(f"Signed in as {username}", timeout=SLOW)

    # "Manage account" right away: the session is reused, no passkey, no "Create account".
    phone.set_presence(False)
    page.get_by_role("button", name="Manage account").click()
    frame = page.frame_locator("iframe[title='Sign-in dialog']")
    expect(frame.get_by_text(f"Signed in as {username}")).to_be_visible(timeout=SLOW)
    expect(frame.get_by_text("1 of 2 guardians needed to recover this account.")).to_be_visible()
    assert frame.get_by_role("button", name="Create account").count() == 0
    page.screenshot(path=output_dir / "frame-manage-account-resumed.png")

    # The host's close button, then a fresh page: the guardians are there, of course.
    page.get_by_role("button", name="Close the sign-in dialog").click()
    phone.set_presence(True)
    page.reload()
    page.get_by_label("Frame on this page").check()
    page.get_by_role("button", name="Manage account").click()
    frame = page.frame_locator("iframe[title='Sign-in dialog']")
    expect(frame.get_by_role("heading", name="Manage your account")).to_be_visible(timeout=SLOW)
    assert frame.get_by_role("button", name="Create account").count() == 0
    page.screenshot(path=output_dir / "frame-manage-account-sign-in.png")
    frame.get_by_role("button", name="Sign in with passkey").click()
    expect(frame.get_by_text("1 of 2 guardians needed to recover this account.")).to_be_visible(
        timeout=SLOW
    )
    frame.get_by_role("button", name="Done").click()
    expect(page.locator("#status")).to_have_text(f"Signed in as {username}", timeout=SLOW)

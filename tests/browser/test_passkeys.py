"""The skeleton end to end: boot offline, create an account, sign in, and the failures."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import httpx
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import open_dialog
from tests.support.browser import PageWatch, VirtualAuthenticator
from tests.support.db import count, snapshot
from tests.support.live_server import LiveServer, start_server

ACCOUNT_TABLES = ("accounts", "credentials", "sessions")


def unique_name() -> str:
    return f"user-{secrets.token_hex(4)}"


def create_account(page: Page, username: str) -> None:
    page.get_by_label("Account name").fill(username)
    page.get_by_role("button", name="Create account").click()
    page.get_by_role("button", name="Later").click()  # the recovery offer after sign-up
    expect(page.get_by_text(f"Signed in as {username}")).to_be_visible(timeout=20_000)


def test_dialog_boots_with_no_network_but_its_own_origin(
    context: BrowserContext, page: Page, live_server: LiveServer, output_dir: Path
) -> None:
    blocked: list[str] = []

    def only_own_origin(route: object) -> None:
        request = route.request  # type: ignore[attr-defined]
        if request.url.startswith(live_server.url):
            route.continue_()  # type: ignore[attr-defined]
        else:
            blocked.append(request.url)
            route.abort()  # type: ignore[attr-defined]

    context.route("**/*", only_own_origin)
    open_dialog(page, live_server)
    expect(page.get_by_role("button", name="Create account")).to_be_visible()
    expect(page.get_by_role("button", name="Sign in with passkey")).to_be_visible()
    page.screenshot(path=output_dir / "start.png")
    assert blocked == []


def test_shell_is_painted_before_python_runs(page: Page, live_server: LiveServer) -> None:
    page.route("**/pyodide/pyodide.asm.wasm", lambda route: None)  # never answers
    page.goto(f"{live_server.url}/dialog.html", wait_until="domcontentloaded")
    expect(page.get_by_role("status")).to_contain_text("Loading the secure dialog")
    assert page.get_attribute("html", "data-ready") == "false"


def test_create_account_with_a_new_passkey(
    page: Page, authenticator: VirtualAuthenticator, live_server: LiveServer, output_dir: Path
) -> None:
    username = unique_name()
    open_dialog(page, live_server)
    create_account(page, username)
    page.screenshot(path=output_dir / "signed-in.png")

    stored = authenticator.credentials()
    assert len(stored) == 1
    assert stored[0]["isResidentCredential"]
    assert count(live_server.database, "SELECT COUNT(*) FROM accounts WHERE username = ?",
                 (username,)) == 1  # fmt: skip
    assert count(live_server.database,
                 "SELECT COUNT(*) FROM credentials c JOIN accounts a ON a.id = c.account_id"
                 " WHERE a.username = ?", (username,)) == 1  # fmt: skip


def test_account_names_are_normalised_and_validated(
    page: Page, authenticator: VirtualAuthenticator, live_server: LiveServer
) -> None:
    open_dialog(page, live_server)
    page.get_by_label("Account name").fill("bad name!")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("alert")).to_have_text(
        'The account name cannot contain " ": use letters, digits and . _ - @ +'
    )
    assert authenticator.credentials() == []


def test_sign_in_with_the_passkey(
    page: Page, authenticator: VirtualAuthenticator, live_server: LiveServer
) -> None:
    username = unique_name()
    open_dialog(page, live_server)
    create_account(page, username)
    page.reload()
    page.wait_for_selector("html[data-ready=true]")
    page.get_by_role("button", name="Sign in with passkey").click()
    page.get_by_role("button", name="Not now").click()  # no guardians yet: the reminder
    expect(page.get_by_text(f"Signed in as {username}")).to_be_visible(timeout=20_000)


def test_sign_in_fails_clearly_after_the_authenticator_is_lost(
    page: Page, authenticator: VirtualAuthenticator, live_server: LiveServer, output_dir: Path
) -> None:
    open_dialog(page, live_server)
    create_account(page, unique_name())
    authenticator.remove()
    VirtualAuthenticator(authenticator.cdp).add()  # a new device with no passkey on it
    page.reload()
    page.wait_for_selector("html[data-ready=true]")
    before = snapshot(live_server.database, *ACCOUNT_TABLES)

    page.get_by_role("button", name="Sign in with passkey").click()
    expect(page.get_by_role("alert")).to_contain_text("No passkey was used", timeout=20_000)
    page.screenshot(path=output_dir / "no-passkey.png")
    assert snapshot(live_server.database, *ACCOUNT_TABLES) == before


def test_cancelled_verification_shows_a_message_and_changes_nothing(
    page: Page, authenticator: VirtualAuthenticator, live_server: LiveServer
) -> None:
    open_dialog(page, live_server)
    authenticator.cdp.send(
        "WebAuthn.setUserVerified", {"authenticatorId": authenticator.id, "isUserVerified": False}
    )
    before = snapshot(live_server.database, *ACCOUNT_TABLES)
    page.get_by_label("Account name").fill(unique_name())
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("alert")).to_contain_text("No passkey was used", timeout=20_000)
    assert snapshot(live_server.database, *ACCOUNT_TABLES) == before


def test_unknown_credential_is_refused_by_the_server(
    page: Page,
    authenticator: VirtualAuthenticator,
    live_server: LiveServer,
    watch: PageWatch,
    tmp_path: Path,
) -> None:
    """A passkey for this RP ID that this server never stored (made by another server)."""
    other = start_server(tmp_path)
    watch.also_allowed.add(other.url)
    try:
        page.goto(f"{other.url}/dialog.html")
        page.wait_for_selector("html[data-ready=true]", timeout=60_000)
        create_account(page, unique_name())
        open_dialog(page, live_server)  # leave the other server's page before it stops
    finally:
        other.stop()
    before = snapshot(live_server.database, *ACCOUNT_TABLES)
    page.get_by_role("button", name="Sign in with passkey").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "This passkey is not registered here", timeout=20_000
    )
    assert snapshot(live_server.database, *ACCOUNT_TABLES) == before


def test_replayed_registration_is_rejected(
    page: Page, authenticator: VirtualAuthenticator, live_server: LiveServer
) -> None:
    open_dialog(page, live_server)
    with page.expect_request("**/api/register/verify") as captured:
        create_account(page, unique_name())
    body = json.loads(captured.value.post_data or "{}")
    before = snapshot(live_server.database, *ACCOUNT_TABLES)

    replay = httpx.post(f"{live_server.url}/api/register/verify", json=body)
    assert replay.status_code == 400
    assert replay.json()["error"] == {
        "code": "challenge_used",
        "message": "This challenge was already used: start again.",
    }
    renamed = httpx.post(
        f"{live_server.url}/api/register/verify", json={**body, "username": unique_name()}
    )
    assert renamed.json()["error"]["code"] == "challenge_used"
    assert snapshot(live_server.database, *ACCOUNT_TABLES) == before

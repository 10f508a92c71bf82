"""A linked account (OpenID Connect) as a guardian, through a real provider's login page.

The provider is npm oidc-provider on loopback (tests/support/oidc_provider.mjs), registered
with the dialog's callback page. Its login page is a form in the popup the dialog opens;
the test signs in there as a person would, then loses the passkey, signs in at the
provider again on the "new device" (its cookies cleared) and is back in.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.support import oidc_provider
from tests.support.browser import NAVIGATION_TIMEOUT_MS, PageWatch, VirtualAuthenticator
from tests.support.dialog_driver import SLOW, DialogDriver
from tests.support.live_server import LiveServer, start_server
from tests.support.oidc_provider import CLIENT_ID, OpenIDProvider
from tests.support.ports import free_port

PROVIDER_NAME = "Test ID"
PASSPHRASE = "quartz lantern orbit meadow ticket volcano"
LABEL = "My test account"
CHOICE = f"Sign in with {PROVIDER_NAME} ({LABEL})"  # the recovery screen's button


@dataclass
class OidcSite:
    server: LiveServer
    op: OpenIDProvider


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcSite]:
    oidc_provider.require_node()
    directory = tmp_path_factory.mktemp("oidc-browser")
    port = free_port()
    callback = f"http://localhost:{port}/oidc-callback.html"
    with oidc_provider.running_provider(directory, redirect_uris=[callback]) as op:
        server = start_server(
            directory,
            "--oidc-provider",
            f"testid={op.issuer},{CLIENT_ID}",
            "--oidc-provider-name",
            f"testid={PROVIDER_NAME}",
            port=port,
        )
        try:
            yield OidcSite(server, op)
        finally:
            server.stop()


def open_at(
    page: Page, site: OidcSite, watch: PageWatch, output_dir: Path | None = None
) -> DialogDriver:
    # The dialog itself asks nothing of the provider: only its popup goes there.
    watch.also_allowed.add(site.server.url)
    page.goto(f"{site.server.url}/dialog.html")
    page.wait_for_selector("html[data-ready=true]", timeout=NAVIGATION_TIMEOUT_MS)
    return DialogDriver(page, output_dir)


def sign_in_at_provider(
    context: BrowserContext, page: Page, button: str, sub: str, *, screenshot: Path | None = None
) -> None:
    """Click `button` (it opens the provider's popup), then sign in there as `sub`."""
    with context.expect_page() as opened:
        page.get_by_role("button", name=button, exact=True).click()
    popup = opened.value
    popup.get_by_label("Account").fill(sub, timeout=SLOW)
    if screenshot is not None:
        popup.screenshot(path=screenshot)
    popup.get_by_role("button", name="Sign in").click()
    popup.wait_for_event("close", timeout=SLOW)


def link(
    context: BrowserContext, page: Page, dialog: DialogDriver, sub: str, output_dir: Path
) -> None:
    dialog.button(f"Link {PROVIDER_NAME} account").click()
    expect(page.get_by_role("heading", name=f"Link your {PROVIDER_NAME} account")).to_be_visible()
    page.get_by_label("Name it (optional)").fill(LABEL)
    dialog.screen("oidc-link")
    sign_in_at_provider(
        context,
        page,
        f"Continue with {PROVIDER_NAME}",
        sub,
        screenshot=output_dir / "oidc-provider-login.png",
    )
    expect(page.get_by_text(f"You signed in with {PROVIDER_NAME}.")).to_be_visible(timeout=SLOW)
    dialog.confirm_change("oidc-confirm")
    expect(page.get_by_text(f"{PROVIDER_NAME} account linked.")).to_be_visible(timeout=SLOW)


def new_person() -> tuple[str, str]:
    """A fresh account name, and the `sub` of the same person at the provider."""
    return f"oidc-{secrets.token_hex(3)}", f"person-{secrets.token_hex(4)}"


def lose_passkey(
    context: BrowserContext, page: Page, authenticator: VirtualAuthenticator
) -> VirtualAuthenticator:
    """A new device: no passkey, and not signed in at the provider either."""
    authenticator.remove()
    context.clear_cookies()
    new_device = VirtualAuthenticator(authenticator.cdp).add()
    page.reload()
    page.wait_for_selector("html[data-ready=true]")
    return new_device


def test_link_an_account_and_recover_with_it_alone(
    page: Page,
    context: BrowserContext,
    authenticator: VirtualAuthenticator,
    site: OidcSite,
    watch: PageWatch,
    output_dir: Path,
) -> None:
    username, sub = new_person()
    dialog = open_at(page, site, watch, output_dir)
    dialog.create_account(username)
    link(context, page, dialog, sub, output_dir)
    expect(page.get_by_text("1 of 1 guardian needed to recover this account.")).to_be_visible()
    dialog.screen("account-linked")

    # The server keeps the issuer, the audience and a commitment: never the sub.
    with sqlite3.connect(site.server.database) as db:
        (data,) = db.execute("SELECT data FROM guardians WHERE kind = 'oidc'").fetchall()[-1]
    stored = json.loads(data)
    assert stored["issuer"] == site.op.issuer
    assert stored["audience"] == CLIENT_ID
    assert sub not in data

    lose_passkey(context, page, authenticator)
    dialog.start_recovery(username)
    expect(dialog.button(CHOICE)).to_be_visible()
    dialog.screen("recover-oidc-choice")

    # Someone else's account at the provider is refused, and the choice stays open.
    sign_in_at_provider(context, page, CHOICE, "someone-else")
    expect(dialog.alert()).to_contain_text("not the one linked", timeout=SLOW)
    context.clear_cookies()

    sign_in_at_provider(context, page, CHOICE, sub)
    dialog.expect_signed_in(username)


def test_two_of_three_with_a_linked_account_and_a_passphrase(
    page: Page,
    context: BrowserContext,
    authenticator: VirtualAuthenticator,
    site: OidcSite,
    watch: PageWatch,
    output_dir: Path,
) -> None:
    username, sub = new_person()
    dialog = open_at(page, site, watch)
    dialog.create_account(username)
    dialog.add_passphrase(PASSPHRASE)
    dialog.add_codes("backup codes")
    link(context, page, dialog, sub, output_dir)
    dialog.set_threshold(2, 3)

    lose_passkey(context, page, authenticator)
    dialog.start_recovery(username)
    expect(page.get_by_text("2 more approvals needed.")).to_be_visible()
    sign_in_at_provider(context, page, CHOICE, sub)
    expect(page.get_by_text("1 more approval needed.")).to_be_visible(timeout=SLOW)
    dialog.approve_with_secret("Use passphrase", "Passphrase", PASSPHRASE)
    dialog.expect_signed_in(username)


def test_a_closed_provider_window_changes_nothing(
    page: Page,
    context: BrowserContext,
    authenticator: VirtualAuthenticator,
    site: OidcSite,
    watch: PageWatch,
    output_dir: Path,
) -> None:
    username = f"oidc-{secrets.token_hex(3)}"
    dialog = open_at(page, site, watch, output_dir)
    dialog.create_account(username)
    dialog.button(f"Link {PROVIDER_NAME} account").click()
    with context.expect_page() as opened:
        dialog.button(f"Continue with {PROVIDER_NAME}").click()
    expect(page.get_by_text(f"Continue in the {PROVIDER_NAME} window.")).to_be_visible()
    dialog.screen("oidc-wait")
    opened.value.close()
    expect(dialog.alert()).to_have_text(
        "The sign-in window was closed before you finished: try again.", timeout=SLOW
    )
    expect(page.get_by_text("Recovery is not set up")).to_be_visible()

"""A trusted contact, between two people: two browser contexts, each with its own passkey.

Alice invites Bob by his account name; Bob accepts in his own dialog with his passkey;
Alice confirms him as a guardian after comparing his fingerprint. Alice loses her phone;
her recovery asks Bob with a link and a code she reads out; Bob opens the link in his own
dialog, signs in, types the code (a wrong one is refused) and approves with his passkey,
and Alice's page sees it arrive. The second test is what must not work: a link that reached
Bob without Alice's code (phished) cannot be approved, leaving halfway changes nothing, a
declined request says so, and once Bob gives it up his guardian no longer counts.

Every new screen is screenshotted into test-results/ and checked with axe-core.
"""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, FrameLocator, Locator, Page, expect

from tests.browser.conftest import open_dialog
from tests.support.browser import (
    ACTION_TIMEOUT_MS,
    NAVIGATION_TIMEOUT_MS,
    PageWatch,
    VirtualAuthenticator,
    attach_authenticator,
)
from tests.support.db import count, snapshot
from tests.support.dialog_driver import SLOW, DialogDriver, axe_violations
from tests.support.live_server import LiveServer
from vouch.core.contacts import fingerprint

PASSPHRASE = "quartz lantern orbit meadow ticket volcano"
LABEL = "Bob"  # what Alice names her contact; the recovery screen shows it
CHOICE = f"Ask a trusted contact ({LABEL})"
# What a recovery changes of the account it recovers (the contact's own rows change as he
# signs in: his session, his passkey's counter).
RECOVERED_ROWS = {
    "accounts": "SELECT * FROM accounts WHERE id = ?",
    "credentials": "SELECT * FROM credentials WHERE account_id = ?",
    "sessions": "SELECT * FROM sessions WHERE account_id = ?",
    "guardians": "SELECT * FROM guardians WHERE account_id = ?",
    "recovery_approvals": "SELECT * FROM recovery_approvals",
}


@dataclass
class Person:
    """One person at their own browser: a context, a page, a passkey, a dialog."""

    username: str
    page: Page
    authenticator: VirtualAuthenticator
    dialog: DialogDriver
    watch: PageWatch
    directory: Path  # where their screenshots go

    def text(self, text: str) -> Locator:
        return self.page.get_by_text(text, exact=False)


Meet = Callable[[str], Person]


@pytest.fixture
def meet(
    browser: Browser,
    page: Page,
    context: BrowserContext,
    authenticator: VirtualAuthenticator,
    watch: PageWatch,
    live_server: LiveServer,
    output_dir: Path,
) -> Iterator[Meet]:
    """People, each in a browser context of their own: the first one gets the test's page,
    every other one a new context (closed, and checked for foreign requests, at the end)."""
    others: list[tuple[BrowserContext, PageWatch]] = []
    met: list[str] = []

    def person(role: str) -> Person:
        username = f"{role}-{secrets.token_hex(3)}"
        if not met:
            who_page, who_authenticator, who_watch = page, authenticator, watch
        else:
            # The others on a phone in dark mode: their screens are checked that way too.
            other = browser.new_context(color_scheme="dark", viewport={"width": 375, "height": 740})
            other.set_default_timeout(ACTION_TIMEOUT_MS)
            other.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
            who_watch = PageWatch(origin=live_server.url)
            others.append((other, who_watch))
            who_page = other.new_page()
            who_watch.attach(who_page)
            who_authenticator = attach_authenticator(other, who_page)
        directory = output_dir / role
        directory.mkdir(exist_ok=True)
        open_dialog(who_page, live_server)
        dialog = DialogDriver(who_page, directory)
        dialog.create_account(username)
        met.append(username)
        return Person(username, who_page, who_authenticator, dialog, who_watch, directory)

    yield person
    for other, other_watch in others:
        other.close()
        other_watch.assert_clean()


def sign_in_again(person: Person, live_server: LiveServer) -> None:
    """The next time they open their dialog: sign in, past the reminder an account without
    guardians gets, to the account screen."""
    open_dialog(person.page, live_server)
    person.dialog.sign_in()
    account = person.page.get_by_text(f"Signed in as {person.username}")
    not_now = person.dialog.button("Not now")
    expect(account.or_(not_now)).to_be_visible(timeout=SLOW)
    if not_now.is_visible():
        not_now.click()
    expect(account).to_be_visible(timeout=SLOW)


def invite(alice: Person, bob: Person) -> None:
    alice.dialog.button("Add trusted contact").click()
    alice.page.get_by_label("Their account name").fill(bob.username.upper())
    alice.dialog.screen("contact-invite")
    alice.dialog.button("Send invitation").click()
    expect(alice.text(f"Invitation sent to {bob.username}.")).to_be_visible(timeout=SLOW)
    expect(alice.text(f"Waiting for {bob.username} to accept")).to_be_visible()
    alice.dialog.screen("contact-invited")


def signed_in_at_a_site_while_asked(bob: Person, alice: Person, live_server: LiveServer) -> None:
    """Bob signs in at the demo host site first: its dialog (in a frame) goes straight back
    to the site, so it says first that Alice waits for his answer, then goes on."""
    bob.page.goto(f"{live_server.url}/index.html")
    bob.page.get_by_label("Frame on this page").check()
    bob.page.get_by_role("button", name="Sign in").click()
    frame = bob.page.frame_locator("iframe[title='Sign-in dialog']")
    frame.locator("html[data-ready=true]").wait_for(timeout=SLOW)
    frame.get_by_role("button", name="Sign in with passkey").click()
    frame.get_by_role("button", name="Not now").click(timeout=SLOW)  # no guardians yet
    asked = frame.get_by_text(f"{alice.username} invited you to be their trusted contact.")
    expect(asked).to_be_visible(timeout=SLOW)
    link = frame.get_by_role("link", name="your account page")
    expect(link).to_have_attribute("target", "_blank")
    handle = bob.page.locator("iframe[title='Sign-in dialog']").element_handle()
    content = handle.content_frame() if handle is not None else None
    assert content is not None
    bob.page.screenshot(path=bob.directory / "host-asked.png")
    assert axe_violations(content) == []  # type: ignore[arg-type]  # a Frame evaluates alike
    frame.get_by_role("button", name="Continue").click()
    expect(bob.page.locator("#status")).to_have_text(f"Signed in as {bob.username}", timeout=SLOW)


def accept(bob: Person, alice: Person, live_server: LiveServer) -> str:
    """Bob accepts in his own dialog; the fingerprint he would read out to Alice."""
    signed_in_at_a_site_while_asked(bob, alice, live_server)
    sign_in_again(bob, live_server)
    expect(bob.text(f"{alice.username} asks you to be their trusted contact.")).to_be_visible()
    said = bob.page.locator("[data-slot=contact-fingerprint]").inner_text()
    bob.dialog.screen("contact-invitation")
    bob.page.get_by_role("button", name=f"Accept {alice.username}'s invitation").click()
    expect(bob.text(f"You are now {alice.username}'s trusted contact.")).to_be_visible(timeout=SLOW)
    expect(bob.text(f"You vouch for {alice.username}.")).to_be_visible()
    bob.dialog.screen("contact-vouching")
    found = re.search(r"[0-9A-Z]{4}-[0-9A-Z]{4}", said)
    assert found is not None, said
    return found.group(0)


def confirm(alice: Person, bob: Person, live_server: LiveServer, bobs_fingerprint: str) -> None:
    """Alice confirms Bob, having compared the fingerprint her dialog shows with his."""
    sign_in_again(alice, live_server)
    expect(alice.text(f"{bob.username} accepted.")).to_be_visible()
    alice.dialog.button(f"Confirm {bob.username} as guardian").click()
    summary = alice.page.locator("[data-slot=summary]")
    expect(summary).to_contain_text(f"read you their fingerprint: {bobs_fingerprint}.")
    alice.page.get_by_label("Name them (optional)").fill(LABEL)
    alice.dialog.confirm_change("contact-confirm")
    expect(alice.text(f"{bob.username} is now a guardian.")).to_be_visible(timeout=SLOW)
    expect(alice.text(f"{LABEL} · {bob.username} · added")).to_be_visible()


def account_id(live_server: LiveServer, username: str) -> str:
    (row,) = [
        row for row in snapshot(live_server.database, "accounts")["accounts"] if username in row
    ]
    return str(row[0])


def rows_of(live_server: LiveServer, account: str) -> dict[str, list[tuple[Any, ...]]]:
    """The rows a recovery of `account` would change, and every recorded approval."""
    uri = f"file:{live_server.database}?mode=ro"
    with sqlite3.connect(uri, uri=True) as db:
        return {
            table: sorted(db.execute(sql, () if "?" not in sql else (account,)), key=repr)
            for table, sql in RECOVERED_ROWS.items()
        }


def lose_phone(person: Person) -> VirtualAuthenticator:
    person.authenticator.remove()
    person.authenticator = VirtualAuthenticator(person.authenticator.cdp).add()
    return person.authenticator


def ask_contact(dialog: Page | FrameLocator) -> tuple[str, str]:
    """Alice's recovery asks her contact: the link to send, the code to read out. `dialog`
    is her dialog's page, or the frame a host site shows it in."""
    dialog.get_by_role("button", name=CHOICE, exact=True).click()
    link = dialog.get_by_label("Link for your contact")
    expect(link).to_have_value(re.compile(r"/dialog\.html#help="), timeout=SLOW)
    code = dialog.locator("[data-slot=code]").inner_text().strip()
    assert re.fullmatch(r"\d{3} \d{3}", code), code
    qr = dialog.get_by_role("img", name="QR code of the link above")
    assert str(qr.get_attribute("src")).startswith("data:image/svg+xml")
    expect(dialog.get_by_text(f"Waiting for {LABEL} to open the link")).to_be_visible()
    return link.input_value(), code


def open_help_link(bob: Person, link: str, *, in_open_dialog: bool = False) -> None:
    """Bob opens the link in his own browser (or pastes it where his dialog is already
    open, which changes only the page's fragment), and is asked to sign in there."""
    if in_open_dialog:
        bob.page.evaluate("link => { location.hash = new URL(link).hash }", link)
    else:
        bob.page.goto("about:blank")  # a new document, as a link opened from a message is
        bob.page.goto(link)
        bob.page.wait_for_selector("html[data-ready=true]", timeout=NAVIGATION_TIMEOUT_MS)
    expect(bob.page.get_by_role("heading", name="Someone asks for your help")).to_be_visible()
    assert "#help=" not in bob.page.url  # the token left the address bar at once


def sign_in_to_help(bob: Person, alice: Person) -> None:
    bob.dialog.button("Sign in with passkey").click()
    expect(
        bob.page.get_by_role("heading", name=f"{alice.username} asks for your help")
    ).to_be_visible(timeout=SLOW)


def type_code(bob: Person, alice: Person, code: str) -> None:
    bob.page.get_by_label(f"Code {alice.username} reads to you").fill(code)
    bob.dialog.button("Approve with passkey").click()


def other_code(code: str) -> str:
    return "111 111" if code != "111 111" else "222 222"


def test_invite_accept_confirm_then_the_contact_and_a_passphrase_recover_the_account(
    meet: Meet, live_server: LiveServer
) -> None:
    alice, bob = meet("alice"), meet("bob")
    alice.dialog.add_passphrase(PASSPHRASE)
    invite(alice, bob)
    bobs_fingerprint = accept(bob, alice, live_server)
    bob_id = account_id(live_server, bob.username)
    assert bobs_fingerprint == fingerprint(bob_id)  # what Bob reads out is his account's
    confirm(alice, bob, live_server, bobs_fingerprint)
    alice.dialog.set_threshold(2, 2)
    alice.dialog.screen("account-with-contact")

    # Alice loses her phone and recovers from the demo host site, in its frame; Bob
    # answers in his own dialog, which the link opens.
    lose_phone(alice)
    alice.page.goto(f"{live_server.url}/index.html")
    alice.page.get_by_label("Frame on this page").check()
    alice.page.get_by_role("button", name="Recover account").click()
    frame = alice.page.frame_locator("iframe[title='Sign-in dialog']")
    frame.locator("html[data-ready=true]").wait_for(timeout=SLOW)
    frame.get_by_label("Account name").fill(alice.username)
    frame.get_by_role("button", name="Continue").click()
    frame.get_by_role("button", name="Create new passkey").click()
    frame.get_by_role("button", name="Use passphrase").click()
    frame.get_by_label("Passphrase", exact=True).fill(PASSPHRASE)
    frame.get_by_role("button", name="Approve", exact=True).click()
    expect(frame.get_by_text("1 more approval needed.")).to_be_visible(timeout=SLOW)
    link, code = ask_contact(frame)
    alice.page.screenshot(path=alice.directory / "host-recover-contact.png")

    open_help_link(bob, link)
    bob.dialog.screen("help-signin")
    sign_in_to_help(bob, alice)
    expect(bob.text("Their new passkey is on the device they are using")).to_be_visible()
    bob.dialog.screen("help-request")
    # Alice's page sees that Bob opened it, without reloading.
    opened = frame.get_by_text(f"They opened it: {LABEL} now asks you for the code.")
    expect(opened).to_be_visible(timeout=SLOW)

    type_code(bob, alice, other_code(code))
    expect(bob.dialog.alert()).to_contain_text("4 tries left", timeout=SLOW)
    bob.dialog.screen("help-wrong-code")
    type_code(bob, alice, code)
    expect(bob.page.get_by_role("heading", name=f"You vouched for {alice.username}")).to_be_visible(
        timeout=SLOW
    )
    bob.dialog.screen("help-approved")

    # Both approvals are in: Alice's page executes the recovery on its own, and the host
    # site gets her token.
    status = alice.page.locator("#status")
    expect(status).to_have_text(f"Signed in as {alice.username}", timeout=SLOW)
    alice.page.screenshot(path=alice.directory / "host-recovered.png")
    bob.dialog.button("Go to your account").click()
    bob.dialog.expect_signed_in(bob.username)

    # The code went from Alice's mouth to Bob's dialog: Alice's page never sent it.
    for request in alice.watch.requests:
        body = request.post_data or ""
        assert '"code"' not in body, request.url
    approvals = [r for r in bob.watch.requests if r.url.endswith("/api/contact-requests/approve")]
    assert [json.loads(r.post_data or "{}")["code"] for r in approvals] == [
        other_code(code).replace(" ", ""),
        code.replace(" ", ""),
    ]


def test_a_phished_contact_cannot_approve_leaving_changes_nothing_and_one_who_left_counts_not(
    meet: Meet, live_server: LiveServer
) -> None:
    alice, bob = meet("alice"), meet("bob")
    backup_codes = alice.dialog.add_codes("backup codes")
    invite(alice, bob)
    confirm(alice, bob, live_server, accept(bob, alice, live_server))
    lose_phone(alice)

    # A request Bob gets without Alice's code (as a phished link would reach him): he
    # cannot approve it, whatever he types; then Alice leaves halfway, and nothing changed.
    open_dialog(alice.page, live_server)
    before = rows_of(live_server, account_id(live_server, alice.username))
    alice.dialog.start_recovery(alice.username)
    link, code = ask_contact(alice.page)
    alice.dialog.screen("recover-contact")
    open_help_link(bob, link)
    sign_in_to_help(bob, alice)
    type_code(bob, alice, other_code(code))
    expect(bob.dialog.alert()).to_contain_text("That is not the code", timeout=SLOW)
    bob.page.get_by_label(f"Code {alice.username} reads to you").fill("")
    bob.dialog.button("Approve with passkey").click()
    expect(bob.dialog.alert()).to_have_text(f"Type the six digits {alice.username} reads to you.")
    expect(alice.text("They opened it")).to_be_visible(timeout=SLOW)
    alice.dialog.button("Choose another way").click()
    alice.dialog.button("Cancel recovery").click()
    expect(alice.dialog.button("Recover account")).to_be_visible()
    assert rows_of(live_server, account_id(live_server, alice.username)) == before

    # A new recovery; Bob finds it on his account screen too, declines it, and Alice's page
    # says so and offers another way.
    alice.dialog.start_recovery(alice.username)
    ask_contact(alice.page)
    bob.dialog.button("Not now").click()
    expect(bob.text(f"{alice.username} asks you to approve their recovery")).to_be_visible(
        timeout=SLOW
    )
    bob.dialog.screen("contact-request-listed")
    bob.page.get_by_role("button", name=f"Open {alice.username}'s request").click()
    expect(
        bob.page.get_by_role("heading", name=f"{alice.username} asks for your help")
    ).to_be_visible(timeout=SLOW)
    bob.dialog.button("Decline").click()
    expect(bob.page.get_by_role("heading", name="You declined")).to_be_visible(timeout=SLOW)
    bob.dialog.screen("help-declined")
    expect(alice.text(f"{LABEL} declined. Choose another way to approve.")).to_be_visible(
        timeout=SLOW
    )
    alice.dialog.screen("recover-contact-declined")
    alice.dialog.button("Choose another way").click()
    alice.dialog.approve_with_secret("Use a backup code", "Backup code", backup_codes[0])
    alice.dialog.expect_signed_in(alice.username)

    # Bob gives it up: Alice's account says her contact guardian no longer counts, and a
    # recovery that asks him is refused in his dialog.
    bob.dialog.button("Go to your account").click()
    bob.page.get_by_role("button", name=f"Stop being {alice.username}'s contact").click()
    expect(bob.text(f"You are no longer {alice.username}'s contact.")).to_be_visible(timeout=SLOW)
    bob.dialog.screen("contact-left")
    sign_in_again(alice, live_server)
    expect(alice.text(f"{bob.username} is no longer your contact.")).to_be_visible()
    expect(alice.text("this guardian does not count: remove it")).to_be_visible()
    alice.dialog.screen("account-contact-left")
    alice.dialog.button("Sign out").click()
    approvals = count(live_server.database, "SELECT COUNT(*) FROM recovery_approvals")
    alice.dialog.start_recovery(alice.username)
    link, _ = ask_contact(alice.page)
    open_help_link(bob, link, in_open_dialog=True)
    bob.dialog.button("Sign in with passkey").click()
    expect(bob.page.get_by_role("heading", name="This request cannot be answered")).to_be_visible(
        timeout=SLOW
    )
    expect(bob.text("You are not this person's trusted contact any more.")).to_be_visible()
    bob.dialog.screen("help-not-a-contact")
    assert count(live_server.database, "SELECT COUNT(*) FROM recovery_approvals") == approvals

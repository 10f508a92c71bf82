"""The owner is told: an address verified in the dialog by a real mail, a recovery they did
not start cancelled from the mail's link, and another cancelled from the banner the next
sign-in shows. The mail goes through a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.server.outbox_helpers import cancel_link_in, code_in, text_of
from tests.support.browser import NAVIGATION_TIMEOUT_MS, PageWatch, VirtualAuthenticator
from tests.support.dialog_driver import SLOW, DialogDriver
from tests.support.live_server import LiveServer, start_server
from tests.support.smtp_sink import SmtpSink

PASSPHRASE = "quartz lantern orbit meadow ticket volcano"


@dataclass
class Mailing:
    server: LiveServer
    smtp: SmtpSink

    def mail(self, to: str, subject_has: str, *, count: int = 1) -> EmailMessage:
        """The `count`-th mail to `to` whose subject has `subject_has`, once it is in (the
        deadline is only against hanging)."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with self.smtp.lock:
                found = [
                    m
                    for m in self.smtp.messages
                    if to in str(m["To"]) and subject_has in str(m["Subject"])
                ]
            if len(found) >= count:
                return found[count - 1]
            time.sleep(0.05)
        subjects = [str(m["Subject"]) for m in self.smtp.messages]
        raise AssertionError(f"no mail {count} to {to} about {subject_has!r}: {subjects}")


@contextmanager
def mailing_server(directory: Path, *args: str) -> Iterator[Mailing]:
    """serve.py sending through a real SMTP server of its own on loopback."""
    smtp = SmtpSink().start()
    server = start_server(
        directory,
        "--smtp",
        smtp.url,
        "--mail-from",
        "vouch <no-reply@example.com>",
        "--outbox-poll",
        "0.2",
        *args,
    )
    try:
        yield Mailing(server, smtp)
    finally:
        server.stop()
        smtp.stop()


@pytest.fixture(scope="module")
def mailing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mailing]:
    with mailing_server(tmp_path_factory.mktemp("mailing"), "--recovery-delay", "3600") as m:
        yield m


def recover_with_code(
    page: Page, dialog: DialogDriver, authenticator: VirtualAuthenticator, username: str, code: str
) -> VirtualAuthenticator:
    """Someone else, on another device, recovers with the recovery code: it is held."""
    attacker = VirtualAuthenticator(authenticator.cdp).add()
    page.reload()
    page.wait_for_selector("html[data-ready=true]")
    dialog.start_recovery(username)
    dialog.approve_with_secret("Use recovery code", "Recovery code", code)
    expect(page.get_by_role("heading", name="Recovery scheduled")).to_be_visible(timeout=SLOW)
    return attacker


def test_the_owner_is_told_and_cancels_from_the_mail_and_from_the_banner(
    page: Page,
    authenticator: VirtualAuthenticator,
    mailing: Mailing,
    watch: PageWatch,
    output_dir: Path,
) -> None:
    server = mailing.server
    watch.also_allowed.add(server.url)
    username = f"mail-{secrets.token_hex(3)}"
    address = f"{username}@example.org"
    dialog = DialogDriver(page, output_dir)
    page.goto(f"{server.url}/dialog.html")
    page.wait_for_selector("html[data-ready=true]", timeout=NAVIGATION_TIMEOUT_MS)
    dialog.create_account(username)

    # The address, verified with the code that really arrived.
    dialog.button("Add email address").click()
    page.get_by_label("Email address").fill(address)
    dialog.screen("email-address")
    dialog.button("Send code").click()
    expect(page.get_by_text(f"We sent a code to {address}.")).to_be_visible(timeout=SLOW)
    code = code_in(mailing.mail(address, "verification code"))
    page.get_by_label("Code from the mail").fill(f"{code[:4]} {code[4:]}")
    dialog.screen("email-verify")
    dialog.button("Verify").click()
    expect(page.get_by_text("Email address verified: notices go there now.")).to_be_visible(
        timeout=SLOW
    )
    expect(page.get_by_text(f"Notices go to {address}.")).to_be_visible()
    [recovery_code] = dialog.add_codes("recovery code")
    owners_passkey = authenticator.credentials()[0]

    # A recovery the owner did not start: the mail says so, and its link cancels it.
    authenticator.remove()
    attacker = recover_with_code(page, dialog, authenticator, username, recovery_code)
    link = cancel_link_in(mailing.mail(address, "has started"))
    assert link.startswith(f"{server.url}/recovery/cancel?token=")
    page.goto(link)
    expect(page.get_by_role("button", name="Cancel this recovery")).to_be_visible()
    dialog.screen("cancel-link")
    page.get_by_role("button", name="Cancel this recovery").click()
    expect(page.get_by_text("Recovery cancelled").first).to_be_visible(timeout=SLOW)
    dialog.screen("cancel-link-done")

    # Another one: the owner's next sign-in shows it first, with Cancel.
    page.goto(f"{server.url}/dialog.html")
    page.wait_for_selector("html[data-ready=true]")
    attacker.remove()
    recover_with_code(page, dialog, authenticator, username, recovery_code).remove()
    owner = VirtualAuthenticator(authenticator.cdp).add()
    owner.add_credential(owners_passkey)
    page.reload()
    page.wait_for_selector("html[data-ready=true]")
    dialog.sign_in()
    expect(page.get_by_role("heading", name="Someone is recovering your account")).to_be_visible(
        timeout=SLOW
    )
    dialog.screen("pending-banner")
    dialog.button("Cancel this recovery").click()
    expect(page.get_by_role("heading", name="Recovery cancelled")).to_be_visible(timeout=SLOW)
    dialog.button("Continue").click()
    dialog.expect_signed_in(username)
    # Cancelled from the mail, then from the dialog: both mails say so too.
    mailing.mail(address, "cancelled", count=2)


@pytest.fixture(scope="module")
def mailing_now(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mailing]:
    """As `mailing`, without a time lock: a recovery completes when approved."""
    with mailing_server(tmp_path_factory.mktemp("mailing-now")) as m:
        yield m


def recovery_code_in(message: EmailMessage) -> str:
    """The one-time code of a recovery mail: ten digits, grouped in fives."""
    match = re.search(r"\b(\d{5}) ?(\d{5})\b", text_of(message))
    assert match, text_of(message)
    return match.group(1) + " " + match.group(2)


def verify_address(page: Page, dialog: DialogDriver, mailing: Mailing, address: str) -> None:
    dialog.button("Add email address").click()
    page.get_by_label("Email address").fill(address)
    dialog.button("Send code").click()
    code = code_in(mailing.mail(address, "verification code"))
    page.get_by_label("Code from the mail").fill(code)
    dialog.button("Verify").click()
    expect(page.get_by_text(f"Notices go to {address}.")).to_be_visible(timeout=SLOW)


def test_recover_with_an_emailed_code_and_a_passphrase(
    page: Page,
    authenticator: VirtualAuthenticator,
    mailing_now: Mailing,
    watch: PageWatch,
    output_dir: Path,
) -> None:
    server = mailing_now.server
    watch.also_allowed.add(server.url)
    username = f"mail-{secrets.token_hex(3)}"
    address = f"{username}@example.org"
    dialog = DialogDriver(page, output_dir)
    page.goto(f"{server.url}/dialog.html")
    page.wait_for_selector("html[data-ready=true]", timeout=NAVIGATION_TIMEOUT_MS)
    dialog.create_account(username)
    verify_address(page, dialog, mailing_now, address)
    dialog.add_passphrase(PASSPHRASE)
    dialog.button("Add email guardian").click()
    expect(page.get_by_text("Email is weaker than your other guardians")).to_be_visible()
    dialog.confirm_change("email-guardian-confirm")
    expect(page.get_by_text("Email guardian saved.")).to_be_visible(timeout=SLOW)
    dialog.set_threshold(2, 2)

    authenticator.remove()
    VirtualAuthenticator(authenticator.cdp).add()
    page.reload()
    page.wait_for_selector("html[data-ready=true]")
    dialog.start_recovery(username)
    dialog.button("Email me a code").click()
    expect(page.get_by_role("heading", name="Enter the code we emailed")).to_be_visible(
        timeout=SLOW
    )
    dialog.screen("recover-email")
    mail = mailing_now.mail(address, "account recovery code")
    code = recovery_code_in(mail)
    # A wrong code first: refused in words, what was typed kept.
    page.get_by_label("Code from the mail").fill("00000 00000")
    dialog.button("Approve").click()
    expect(dialog.alert()).to_contain_text("That code is not right", timeout=SLOW)
    page.get_by_label("Code from the mail").fill(code)
    dialog.button("Approve").click()
    expect(page.get_by_text("1 more approval needed.")).to_be_visible(timeout=SLOW)
    dialog.approve_with_secret("Use passphrase", "Passphrase", PASSPHRASE)
    dialog.expect_signed_in(username)
    # The owner is told the recovery happened.
    mailing_now.mail(address, "recovered")

"""Mail, for real: serve.py sends through a real SMTP server on loopback (aiosmtpd), or
writes .eml files; the owner's address is verified with a mailed code whose every refusal
is a 4xx that changes nothing; a held recovery's mail carries a link that cancels that one
recovery, once."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest

from tests.server.conftest import start
from tests.server.helpers import Api, register, sign_in
from tests.server.outbox_helpers import (
    CHROME_ON_ANDROID,
    add_email,
    cancel_link_in,
    code_in,
    held_recovery,
    html_of,
    mails_in,
    rows,
    text_of,
    verify_email,
    wait_for_mails,
    with_guardian,
)
from tests.support.live_server import LiveServer
from tests.support.smtp_sink import SmtpSink

DELAY = "3600"


def subject(message: EmailMessage) -> str:
    """The Subject unfolded (the standard library keeps the space a long one is folded at)."""
    return str(message["Subject"]).strip()


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture(scope="module")
def relayed(tmp_path_factory: pytest.TempPathFactory, smtp: SmtpSink) -> Iterator[LiveServer]:
    live = start(
        tmp_path_factory.mktemp("smtp"),
        "--smtp",
        smtp.url,
        "--mail-from",
        "Example <no-reply@example.com>",
        "--recovery-delay",
        DELAY,
        "--rp-name",
        "Example",
        "--outbox-poll",
        "0.2",
    )
    yield live
    live.stop()


@pytest.fixture(scope="module")
def filed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """No --smtp: mail is written into mail/ next to the database."""
    live = start(tmp_path_factory.mktemp("eml"), "--recovery-delay", DELAY, "--outbox-poll", "0.2")
    yield live
    live.stop()


def mail_dir(live: LiveServer) -> Path:
    return live.database.parent / "mail"


def to(address: str) -> object:
    return lambda found: [m for m in found if address in str(m["To"])]


def mails_to(live: LiveServer, address: str) -> list[EmailMessage]:
    return [m for m in mails_in(mail_dir(live)) if address in str(m["To"])]


def latest_to(live: LiveServer, address: str, count: int) -> EmailMessage:
    found = wait_for_mails(
        mail_dir(live), lambda ms: len([m for m in ms if address in str(m["To"])]) >= count
    )
    return [m for m in found if address in str(m["To"])][count - 1]


def code_mail(live: LiveServer, started: dict[str, object]) -> EmailMessage:
    """The mail of this verification (its Message-ID is the verification's id)."""
    mark = f"<{started['verification_id']}@"
    found = wait_for_mails(
        mail_dir(live), lambda ms: any(str(m["Message-ID"]).startswith(mark) for m in ms)
    )
    return next(m for m in found if str(m["Message-ID"]).startswith(mark))


def test_a_real_smtp_server_receives_the_code_and_the_held_recovery_mail(
    relayed: LiveServer, smtp: SmtpSink
) -> None:
    api = Api(relayed.url)
    api.http.headers["User-Agent"] = CHROME_ON_ANDROID
    user = register(api)
    address = f"{user.username}@example.com"
    before = len(smtp.messages)
    verify_email(api, user, address, lambda: smtp.wait_for(before + 1)[before])
    code_mail = smtp.messages[before]
    assert code_mail["From"] == "Example <no-reply@example.com>"
    assert code_mail["To"] == address
    assert smtp.envelopes[before] == ("no-reply@example.com", [address])
    assert "verification code" in subject(code_mail)
    assert code_in(code_mail) not in subject(code_mail)  # the code only in the body
    assert code_in(code_mail) in html_of(code_mail)
    assert "Chrome on Android" in text_of(code_mail)

    guardian = with_guardian(api, user)  # guardians.changed: the address is verified now
    recovery = held_recovery(api, user, guardian)
    mails = smtp.wait_for(before + 3)[before + 1 :]
    subjects = [subject(m) for m in mails]
    assert subjects == [
        f"The recovery guardians of your Example account {user.username} changed",
        f"A recovery of your Example account {user.username} has started",
    ]
    held = mails[1]
    text, page = text_of(held), html_of(held)
    for part in (text, page):
        assert user.username in part
        assert "Chrome on Android" in part
        assert " UTC" in part
        assert "If it was not you" in part
    link = cancel_link_in(held)
    assert link in text
    assert link.replace("&", "&amp;") in page
    assert link.startswith(f"{relayed.url}/recovery/cancel?token={recovery.reference}.")
    assert held["Message-ID"].startswith("<evt_")
    assert held["Auto-Submitted"] == "auto-generated"
    event_id = held["Message-ID"][1:].partition("@")[0]
    assert rows(
        relayed.database,
        "SELECT event, status, attempts FROM outbox WHERE event_id = ?",
        (event_id,),
    ) == [("recovery.pending", "sent", 1)]


def test_without_smtp_each_mail_is_an_eml_file_next_to_the_database(filed: LiveServer) -> None:
    assert f"written as .eml files into {mail_dir(filed)}" in filed.log()
    api = Api(filed.url)
    user = register(api)
    address = f"{user.username}@example.org"
    verify_email(api, user, address, lambda: latest_to(filed, address, 1))
    guardian = with_guardian(api, user)
    held_recovery(api, user, guardian)
    mails = wait_for_mails(
        mail_dir(filed), lambda ms: len([m for m in ms if address in str(m["To"])]) >= 3
    )
    names = sorted(p.name for p in mail_dir(filed).glob("*.eml"))
    assert all(name.endswith(".eml") for name in names)
    assert not list(mail_dir(filed).glob("*.part"))
    assert any("has started" in subject(m) for m in mails)


def test_no_mail_is_queued_for_an_account_without_a_verified_address(filed: LiveServer) -> None:
    api = Api(filed.url)
    user = register(api)
    add_email(api, user, f"{user.username}@example.org")  # asked for, never verified
    guardian = with_guardian(api, user)
    held_recovery(api, user, guardian)
    assert rows(
        filed.database,
        "SELECT COUNT(*) FROM outbox WHERE account_id = ? AND channel = 'mail'",
        (user.account,),
    ) == [(0,)]
    account = api.call("GET", "/api/account", session=user.session)
    assert account["email"] is None
    assert account["email_pending"]["address"] == f"{user.username}@example.org"


# Verifying an address: each refusal a 4xx that changes nothing --------------------------------


def account_email(api: Api, session: str) -> object:
    return api.call("GET", "/api/account", session=session)["email"]


def test_a_wrong_code_is_refused_and_counted_and_the_right_one_then_verifies(
    filed: LiveServer,
) -> None:
    api = Api(filed.url)
    user = register(api)
    address = f"{user.username}@example.org"
    started = add_email(api, user, address)
    code = code_in(code_mail(filed, started))
    wrong = "0" * 8 if code != "0" * 8 else "1" * 8
    error = api.refused(
        "POST",
        "/api/account/email/verify",
        {"verification_id": started["verification_id"], "code": wrong},
        status=400,
        code="email_code_wrong",
        session=user.session,
    )
    assert error["attempts_left"] == 4
    assert account_email(api, user.session) is None
    api.refused(  # malformed: refused before any try is counted
        "POST",
        "/api/account/email/verify",
        {"verification_id": started["verification_id"], "code": "12ab"},
        status=400,
        code="email_code_malformed",
        session=user.session,
    )
    assert rows(
        filed.database,
        "SELECT attempts FROM email_verifications WHERE id = ?",
        (started["verification_id"],),
    ) == [(1,)]
    spaced = f"{code[:4]} {code[4:]}"
    verified = api.call(
        "POST",
        "/api/account/email/verify",
        {"verification_id": started["verification_id"], "code": spaced},
        session=user.session,
    )
    assert verified["address"] == address
    assert account_email(api, user.session) == verified
    # The code is kept only as a keyed hash: nowhere in the database as text.
    raw = filed.database.read_bytes() + Path(f"{filed.database}-wal").read_bytes()
    assert code.encode() not in raw


def test_a_used_code_cannot_be_replayed(filed: LiveServer) -> None:
    api = Api(filed.url)
    user = register(api)
    address = f"{user.username}@example.org"
    started = add_email(api, user, address)
    body = {
        "verification_id": started["verification_id"],
        "code": code_in(code_mail(filed, started)),
    }
    first = api.call("POST", "/api/account/email/verify", body, session=user.session)
    api.refused(
        "POST",
        "/api/account/email/verify",
        body,
        status=409,
        code="email_code_used",
        session=user.session,
    )
    assert account_email(api, user.session) == first


def test_too_many_wrong_codes_stop_even_the_right_one(filed: LiveServer) -> None:
    api = Api(filed.url)
    user = register(api)
    address = f"{user.username}@example.org"
    started = add_email(api, user, address)
    code = code_in(code_mail(filed, started))
    wrong = "0" * 8 if code != "0" * 8 else "1" * 8
    verification = started["verification_id"]
    codes = [
        api.request(
            "POST",
            "/api/account/email/verify",
            {"verification_id": verification, "code": wrong},
            session=user.session,
        ).json()["error"]["code"]
        for _ in range(6)
    ]
    assert codes == ["email_code_wrong"] * 4 + ["email_code_attempts"] * 2
    api.refused(
        "POST",
        "/api/account/email/verify",
        {"verification_id": verification, "code": code},
        status=429,
        code="email_code_attempts",
        session=user.session,
    )
    assert account_email(api, user.session) is None


def test_an_expired_code_is_refused(filed: LiveServer) -> None:
    api = Api(filed.url)
    user = register(api)
    address = f"{user.username}@example.org"
    started = add_email(api, user, address)
    code = code_in(code_mail(filed, started))
    with sqlite3.connect(filed.database) as connection:  # as if 15 minutes had passed
        connection.execute(
            "UPDATE email_verifications SET expires_at = expires_at - 901 WHERE id = ?",
            (started["verification_id"],),
        )
    api.refused(
        "POST",
        "/api/account/email/verify",
        {"verification_id": started["verification_id"], "code": code},
        status=400,
        code="email_code_expired",
        session=user.session,
    )
    assert account_email(api, user.session) is None


def test_a_new_code_replaces_the_old_one_and_another_account_cannot_use_it(
    filed: LiveServer,
) -> None:
    api = Api(filed.url)
    user, other = register(api), register(api)
    address = f"{user.username}@example.org"
    first = add_email(api, user, address)
    first_code = code_in(code_mail(filed, first))
    second = add_email(api, user, address)
    body = {"verification_id": first["verification_id"], "code": first_code}
    api.refused(
        "POST",
        "/api/account/email/verify",
        body,
        status=400,
        code="unknown_verification",
        session=user.session,
    )
    second_body = {
        "verification_id": second["verification_id"],
        "code": code_in(code_mail(filed, second)),
    }
    api.refused(
        "POST",
        "/api/account/email/verify",
        second_body,
        status=400,
        code="unknown_verification",
        session=other.session,
    )
    api.refused(
        "POST",
        "/api/account/email",
        {"address": "not an address"},
        status=400,
        code="invalid_email",
        session=user.session,
    )
    assert account_email(api, user.session) is None
    assert account_email(api, other.session) is None
    api.call("POST", "/api/account/email/verify", second_body, session=user.session)


# The cancel link ----------------------------------------------------------------------------


def test_the_mailed_link_cancels_its_recovery_only_and_only_once(filed: LiveServer) -> None:
    api = Api(filed.url)
    api.http.headers["User-Agent"] = CHROME_ON_ANDROID
    user = register(api)
    address = f"{user.username}@example.org"
    verify_email(api, user, address, lambda: latest_to(filed, address, 1))
    guardian = with_guardian(api, user)
    first = held_recovery(api, user, guardian)
    second = held_recovery(api, user, guardian)
    started = [
        m
        for m in wait_for_mails(
            mail_dir(filed),
            lambda ms: (
                len([m for m in ms if address in str(m["To"]) and "has started" in subject(m)]) >= 2
            ),
        )
        if address in str(m["To"]) and "has started" in subject(m)
    ]
    links = {cancel_link_in(m) for m in started}
    (link,) = [each for each in links if f"token={first.reference}." in each]
    pending = api.call("GET", "/api/account", session=user.session)["pending_recoveries"]
    assert {p["recovery_id"] for p in pending} == {first.reference, second.reference}
    assert {p["device"] for p in pending} == {"Chrome on Android"}

    page = httpx.get(link)  # a GET (a mail scanner's, a preview's) changes nothing
    assert page.status_code == 200
    assert "Cancel this recovery" in page.text
    assert len(api.call("GET", "/api/account", session=user.session)["pending_recoveries"]) == 2

    token = link.partition("token=")[2]
    done = httpx.post(f"{filed.url}/recovery/cancel", data={"token": token})
    assert done.status_code == 200
    assert "Recovery cancelled" in done.text
    pending = api.call("GET", "/api/account", session=user.session)["pending_recoveries"]
    assert [p["recovery_id"] for p in pending] == [second.reference]
    statuses = dict(
        rows(
            filed.database,
            "SELECT id, status FROM recoveries WHERE id IN (?, ?)",
            (first.reference, second.reference),
        )
    )
    assert statuses == {first.reference: "cancelled", second.reference: "pending"}

    again = httpx.post(f"{filed.url}/recovery/cancel", data={"token": token})
    assert again.status_code == 409
    assert "already cancelled" in again.text
    api.refused(
        "POST",
        "/api/recovery/cancel-link",
        {"token": token},
        status=409,
        code="recovery_not_pending",
    )
    # A token for the other recovery made by swapping in its reference is refused.
    forged = f"{second.reference}.{token.partition('.')[2]}"
    refused = httpx.post(f"{filed.url}/recovery/cancel", data={"token": forged})
    assert refused.status_code == 400
    assert "not one this server sent" in refused.text
    assert httpx.get(f"{filed.url}/recovery/cancel?token={forged}").status_code == 400
    api.refused(
        "POST",
        "/api/recovery/cancel-link",
        {"token": forged},
        status=400,
        code="invalid_cancel_link",
    )
    assert [
        p["recovery_id"]
        for p in api.call("GET", "/api/account", session=user.session)["pending_recoveries"]
    ] == [second.reference]
    # The owner is told of the cancellation, and the old passkey still signs in.
    wait_for_mails(
        mail_dir(filed),
        lambda ms: any("was cancelled" in subject(m) and address in str(m["To"]) for m in ms),
    )
    assert sign_in(api, user.device).status_code == 200


def test_the_address_a_new_one_replaces_is_told_and_where_the_notices_go_now(
    filed: LiveServer,
) -> None:
    api = Api(filed.url)
    user = register(api)
    old, new = f"{user.username}@example.org", f"{user.username}@elsewhere.example"
    verify_email(api, user, old, lambda: latest_to(filed, old, 1))
    verify_email(api, user, old, lambda: latest_to(filed, old, 2))  # the same again: no notice
    verify_email(api, user, new, lambda: latest_to(filed, new, 1))
    told = latest_to(filed, old, 3)
    assert subject(told) == f"Your vouch account {user.username} has a new email address"
    text = text_of(told)
    assert f"now sends its notices to {user.username[0]}•••@elsewhere.example" in text
    assert new not in text  # masked: enough for the owner to know it, no more
    assert "put your own address back" in text
    assert len(mails_to(filed, old)) == 3  # two codes, then the notice; nothing else
    assert len(mails_to(filed, new)) == 1  # its code only
    assert account_email(api, user.session)["address"] == new  # type: ignore[index]

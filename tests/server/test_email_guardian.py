"""The email guardian, with real parts: serve.py mails each code through a real SMTP server
on loopback (aiosmtpd), and the tests read the code from the mail that arrived.

Adding one needs the account's verified address; a recovery's code is bound to that
recovery and that guardian, kept only as a keyed hash, good once and for 5 tries; the page
cannot approve for the guardian; an unknown name answers the same, in the same time, and
no mail is sent for it.
"""

from __future__ import annotations

import re
import sqlite3
import statistics
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from tests.server.conftest import start
from tests.server.helpers import (
    Api,
    Guardian,
    Recovery,
    User,
    confirm_change,
    guardian_id,
    passphrase_guardian,
    register,
    save_guardians,
    snapshot,
    start_recovery,
)
from tests.server.outbox_helpers import CHROME_ON_ANDROID, text_of, verify_email
from tests.server.test_decoys import shape, unknown_name_shaped_like
from tests.support.live_server import LiveServer
from tests.support.smtp_sink import SmtpSink
from tests.support.stats import paired as p_slower
from vouch.core.kinds import EMAIL
from vouch.server import maintenance, recovery, recovery_approvals, recovery_email_codes
from vouch.server.app import build_context
from vouch.server.config import Config
from vouch.server.errors import ApprovalInvalid, VouchError
from vouch.server.kinds import DEFAULT_KINDS, Approved, GuardianSet
from vouch.server.kinds import Guardian as StoredGuardian
from vouch.server.kinds.email import DECOY_DOMAIN
from vouch.server.storage import Database, Transaction

WRONG = "That code is not right. Check the latest mail, or send a new code."
TABLES = (
    "accounts",
    "credentials",
    "sessions",
    "guardians",
    "recoveries",
    "recovery_approvals",
    "account_emails",
)


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture(scope="module")
def vouch(tmp_path_factory: pytest.TempPathFactory, smtp: SmtpSink) -> Iterator[LiveServer]:
    live = start(
        tmp_path_factory.mktemp("email-guardian"),
        "--smtp",
        smtp.url,
        "--mail-from",
        "Example <no-reply@example.com>",
        "--rp-name",
        "Example",
        "--outbox-poll",
        "0.2",
    )
    yield live
    live.stop()


@pytest.fixture
def api(vouch: LiveServer) -> Api:
    client = Api(vouch.url)
    client.http.headers["User-Agent"] = CHROME_ON_ANDROID
    return client


# Helpers --------------------------------------------------------------------------------


def mails_to(smtp: SmtpSink, address: str) -> list[EmailMessage]:
    with smtp.lock:
        return [m for m in smtp.messages if str(m["To"]) == address]


def wait_for_mail(smtp: SmtpSink, address: str, count: int, subject: str = "") -> EmailMessage:
    """The `count`th mail to `address` whose subject has `subject` (a deadline only against
    hanging)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = [m for m in mails_to(smtp, address) if subject in str(m["Subject"])]
        if len(found) >= count:
            return found[count - 1]
        time.sleep(0.05)
    raise AssertionError(f"no mail {count} to {address}: {mails_to(smtp, address)}")


def code_in(message: EmailMessage) -> str:
    """The code as a mail shows it: two groups of five digits on a line of their own."""
    match = re.search(r"^(\d{5} \d{5})\r?$", text_of(message), re.MULTILINE)
    assert match, text_of(message)
    return match.group(1)


def with_address(api: Api, smtp: SmtpSink, user: User, address: str | None = None) -> str:
    address = address or f"{user.username}@example.com"
    count = len(mails_to(smtp, address))
    verify_email(
        api, user, address, lambda: wait_for_mail(smtp, address, count + 1, "verification")
    )
    return address


def email_guardian(address: str, label: str = "Email") -> Guardian:
    return Guardian({"id": guardian_id(), "kind": EMAIL.name, "label": label, "address": address})


def set_up(
    api: Api, smtp: SmtpSink, username: str | None = None
) -> tuple[User, Guardian, Guardian]:
    """An account with a verified address, a passphrase and an email guardian, 2 of 2."""
    user = register(api, username)
    address = with_address(api, smtp, user)
    passphrase, email = passphrase_guardian(user), email_guardian(address)
    save_guardians(api, user, 2, [passphrase, email])
    return user, passphrase, email


def send(api: Api, rec: Recovery, guardian: str, status: int = 200) -> dict[str, Any]:
    body = {"recovery_id": rec.id, "guardian_id": guardian}
    return api.call("POST", "/api/recovery/email/send", body, status=status)


def verify_body(rec: Recovery, guardian: str, code: str) -> dict[str, Any]:
    return {"recovery_id": rec.id, "guardian_id": guardian, "code": code}


def sent_code(api: Api, smtp: SmtpSink, rec: Recovery, email: Guardian) -> str:
    """Send a code for `rec` and read it from the mail the guardian's address received."""
    address = email.entry["address"]
    count = len([m for m in mails_to(smtp, address) if "recovery code" in str(m["Subject"])])
    send(api, rec, email.id)
    return code_in(wait_for_mail(smtp, address, count + 1, "recovery code"))


def other_code(code: str) -> str:
    digits = code.replace(" ", "")
    return str((int(digits) + 1) % 10**10).zfill(10)


def approvals_of(database: Path, rec: Recovery) -> list[tuple[str, bool]]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        rows = connection.execute(
            "SELECT guardian_id, used_at IS NOT NULL FROM recovery_approvals WHERE recovery_id = ?",
            (rec.reference,),
        ).fetchall()
    return [(g, bool(used)) for g, used in rows]


def everything(database: Path) -> dict[str, Any]:
    return snapshot(database, TABLES)


# Adding the guardian ----------------------------------------------------------------------


def test_an_email_guardian_must_be_the_account_s_verified_address(
    api: Api, smtp: SmtpSink, vouch: LiveServer
) -> None:
    user = register(api)
    passphrase = passphrase_guardian(user)
    address = f"{user.username}@example.com"
    before = everything(vouch.database)
    config = {"threshold": 1, "guardians": [passphrase.entry, email_guardian(address).entry]}
    error = api.refused(
        "PUT",
        "/api/guardians",
        confirm_change(api, user, config),
        status=400,
        code="email_not_verified",
        session=user.session,
    )
    assert error["message"] == (
        "guardians[1].address: this account has no verified email address: verify one first"
        " (POST /api/account/email); only a verified address can be a guardian."
    )
    with_address(api, smtp, user, address)
    other = email_guardian(f"someone-else-{user.username}@example.com")
    config = {"threshold": 1, "guardians": [passphrase.entry, other.entry]}
    error = api.refused(
        "PUT",
        "/api/guardians",
        confirm_change(api, user, config),
        status=400,
        code="email_not_verified",
        session=user.session,
    )
    assert f"is not this account's verified address ('{address}')" in error["message"]
    assert everything(vouch.database)["guardians"] == before["guardians"]
    # The verified one, typed with its domain in capitals, is stored as verified.
    typed = email_guardian(address.replace("example.com", "Example.COM"))
    saved = save_guardians(api, user, 1, [passphrase, typed])
    assert saved["guardians"][1] == {
        "id": typed.id,
        "kind": "email",
        "label": "Email",
        "address": address,
        "created_at": saved["guardians"][1]["created_at"],
    }
    shown = api.call("GET", "/api/account", session=user.session)["guardians"][1]
    assert shown["address"] == address
    # Another address verified later: the guardian keeps the one it was given...
    newer = with_address(api, smtp, user, f"new-{user.username}@example.com")
    kept = Guardian({**typed.entry, "address": address, "label": "Old mailbox"})
    again = save_guardians(api, user, 1, [passphrase, kept])
    assert again["guardians"][1]["address"] == address
    assert again["guardians"][1]["label"] == "Old mailbox"
    # ...but a new guardian can only be the address verified now.
    config = {"threshold": 1, "guardians": [passphrase.entry, email_guardian(address).entry]}
    api.refused(
        "PUT",
        "/api/guardians",
        confirm_change(api, user, config),
        status=400,
        code="email_not_verified",
        session=user.session,
    )
    assert save_guardians(api, user, 1, [email_guardian(newer)])["guardians"][0]["address"] == (
        newer
    )


# A recovery -------------------------------------------------------------------------------


def test_a_recovery_with_an_emailed_code_and_a_passphrase(
    api: Api, smtp: SmtpSink, vouch: LiveServer
) -> None:
    user, passphrase, email = set_up(api, smtp)
    rec = start_recovery(api, user.username)
    assert rec.start["guardians"][1] == {"id": email.id, "kind": "email", "label": "Email"}
    address = email.entry["address"]
    sent = send(api, rec, email.id)
    assert sent["sent"] is True
    assert sent["expires_at"] <= rec.start["expires"]
    assert sent["expires_at"] <= int(time.time()) + 900
    mail = wait_for_mail(smtp, address, 1, "recovery code")
    text = text_of(mail)
    assert str(mail["Subject"]).strip() == "Your Example account recovery code"
    for part in (user.username, "Chrome on Android", " UTC", "If this was not you"):
        assert part in text
    code = code_in(mail)
    assert code not in str(mail["Subject"])
    # The code is nowhere on the server's disk: not in the database, its WAL, or the log.
    stored = b"".join(
        path.read_bytes()
        for path in vouch.database.parent.iterdir()
        if path.name.startswith(vouch.database.name)
    )
    for spelling in (code, code.replace(" ", "")):
        assert spelling.encode() not in stored
        assert spelling not in vouch.log()
    # Nothing counts until the code comes back.
    api.refused(
        "POST",
        "/api/recovery/execute",
        rec.execute_body([rec.approve(passphrase)]),
        status=400,
        code="not_enough_approvals",
    )
    typed = code.replace(" ", "-")  # spaces and dashes are ignored
    ok = api.call("POST", "/api/recovery/email/verify", verify_body(rec, email.id, typed))
    assert ok == {"ok": True, "guardian_id": email.id}
    assert approvals_of(vouch.database, rec) == [(email.id, False)]
    result = api.call("POST", "/api/recovery/execute", rec.execute_body([rec.approve(passphrase)]))
    assert result["status"] == "complete"
    assert approvals_of(vouch.database, rec) == [(email.id, True)]
    events = api.call("GET", "/api/audit", session=str(result["session"]))["events"]
    kinds = [event["kind"] for event in events]
    assert "recovery_email_approved" in kinds
    (completed,) = [event for event in events if event["kind"] == "recovery_complete"]
    assert completed["detail"]["guardians"] == [passphrase.id, email.id]
    # The owner is told, at the verified address, that the email guardian approved.
    told = wait_for_mail(smtp, address, 1, "A guardian approved")
    assert 'email guardian "Email" approved a recovery' in text_of(told)
    assert "Chrome on Android" in text_of(told)
    # The code, used, approves nothing more: not this recovery (used), nor another.
    api.refused(
        "POST",
        "/api/recovery/email/verify",
        verify_body(rec, email.id, code),
        status=400,
        code="challenge_used",
    )


def test_the_page_cannot_send_an_email_guardian_s_approval(
    api: Api, smtp: SmtpSink, vouch: LiveServer
) -> None:
    user, passphrase, email = set_up(api, smtp)
    rec = start_recovery(api, user.username)
    before = everything(vouch.database)
    signature = rec.approve(passphrase)["signature"]
    for sent in ({"guardian_id": email.id}, {"guardian_id": email.id, "signature": signature}):
        error = api.refused(
            "POST",
            "/api/recovery/execute",
            rec.execute_body([rec.approve(passphrase), sent]),
            status=400,
            code="out_of_band_approval",
        )
        assert error["guardian_id"] == email.id
        check = {
            "recovery_id": rec.id,
            "new_credential": rec.new_credential_json(),
            "approval": sent,
        }
        api.refused("POST", "/api/recovery/check", check, status=400, code="out_of_band_approval")
    assert everything(vouch.database) == before


def test_wrong_codes_are_counted_and_five_stop_the_code_until_a_new_one_is_sent(
    api: Api, smtp: SmtpSink, vouch: LiveServer
) -> None:
    user, _passphrase, email = set_up(api, smtp)
    rec = start_recovery(api, user.username)
    code = sent_code(api, smtp, rec, email)
    before = everything(vouch.database)
    answers = [
        api.request(
            "POST", "/api/recovery/email/verify", verify_body(rec, email.id, other_code(code))
        )
        for _ in range(6)
    ]
    assert [(r.status_code, r.json()["error"]["code"]) for r in answers] == [
        (400, "approval_invalid")
    ] * 4 + [(429, "email_code_attempts")] * 2
    assert answers[0].json()["error"] == {
        "code": "approval_invalid",
        "message": WRONG,
        "guardian_id": email.id,
        "attempts_left": 4,
    }
    # Out of tries: even the right code is refused, and nothing was recorded.
    api.refused(
        "POST",
        "/api/recovery/email/verify",
        verify_body(rec, email.id, code),
        status=429,
        code="email_code_attempts",
    )
    assert everything(vouch.database) == before
    # A malformed code costs no try and says what a code is.
    for typed in ("123", "12345 6789x", "١٢٣٤٥٦٧٨٩٠"):
        error = api.refused(
            "POST",
            "/api/recovery/email/verify",
            verify_body(rec, email.id, typed),
            status=400,
            code="email_code_malformed",
        )
        assert error["message"].startswith("A code is 10 digits")
    # A new code resets the tries; the old one no longer works.
    fresh = sent_code(api, smtp, rec, email)
    api.refused(  # (the same ten digits twice: one chance in 10**10)
        "POST",
        "/api/recovery/email/verify",
        verify_body(rec, email.id, code),
        status=400,
        code="approval_invalid",
    )
    api.call("POST", "/api/recovery/email/verify", verify_body(rec, email.id, fresh))
    # Used: asking again with it finds no code waiting.
    api.refused(
        "POST",
        "/api/recovery/email/verify",
        verify_body(rec, email.id, fresh),
        status=400,
        code="email_code_missing",
    )
    assert approvals_of(vouch.database, rec) == [(email.id, False)]


def test_an_expired_code_and_a_code_never_sent_are_refused(
    api: Api, smtp: SmtpSink, vouch: LiveServer
) -> None:
    user, _passphrase, email = set_up(api, smtp)
    rec = start_recovery(api, user.username)
    api.refused(
        "POST",
        "/api/recovery/email/verify",
        verify_body(rec, email.id, "12345 67890"),
        status=400,
        code="email_code_missing",
    )
    code = sent_code(api, smtp, rec, email)
    with sqlite3.connect(vouch.database) as connection:  # as if 15 minutes had passed
        connection.execute(
            "UPDATE recovery_email_codes SET expires_at = expires_at - 901 WHERE recovery_id = ?",
            (rec.reference,),
        )
    before = everything(vouch.database)
    api.refused(
        "POST",
        "/api/recovery/email/verify",
        verify_body(rec, email.id, code),
        status=400,
        code="email_code_expired",
    )
    assert everything(vouch.database) == before


def test_a_code_approves_only_its_own_recovery_and_guardian(
    api: Api, smtp: SmtpSink, vouch: LiveServer
) -> None:
    user = register(api)
    address = with_address(api, smtp, user)
    passphrase = passphrase_guardian(user)
    home, work = email_guardian(address, "Home"), email_guardian(address, "Work")
    save_guardians(api, user, 2, [passphrase, home, work])
    first, second = start_recovery(api, user.username), start_recovery(api, user.username)
    code_first = sent_code(api, smtp, first, home)
    code_second = sent_code(api, smtp, second, home)
    code_work = sent_code(api, smtp, second, work)
    before = everything(vouch.database)
    for rec, guardian, code in [
        (second, home.id, code_first),  # another recovery's
        (second, work.id, code_second),  # another guardian's
        (second, home.id, code_work),
    ]:
        error = api.refused(
            "POST",
            "/api/recovery/email/verify",
            verify_body(rec, guardian, code),
            status=400,
            code="approval_invalid",
        )
        assert error["message"] == WRONG
    assert everything(vouch.database) == before
    # Not an email guardian of this recovery: the passphrase, or an id it does not have.
    for other in (passphrase.id, "nobody"):
        for path, body in [
            ("/api/recovery/email/send", {"recovery_id": second.id, "guardian_id": other}),
            ("/api/recovery/email/verify", verify_body(second, other, code_second)),
        ]:
            api.refused("POST", path, body, status=400, code="not_an_email_guardian")
    api.refused(
        "POST",
        "/api/recovery/email/send",
        {"recovery_id": "no-such-recovery", "guardian_id": home.id},
        status=400,
        code="unknown_recovery",
    )
    assert everything(vouch.database) == before
    # Both email guardians approving make the threshold of 2 without the passphrase.
    api.call("POST", "/api/recovery/email/verify", verify_body(second, home.id, code_second))
    api.call("POST", "/api/recovery/email/verify", verify_body(second, work.id, code_work))
    assert approvals_of(vouch.database, first) == []
    assert sorted(approvals_of(vouch.database, second)) == sorted(
        [(home.id, False), (work.id, False)]
    )


def test_at_most_five_codes_are_sent_per_guardian_and_recovery(
    api: Api, smtp: SmtpSink, vouch: LiveServer
) -> None:
    user, _passphrase, email = set_up(api, smtp)
    rec = start_recovery(api, user.username)
    for _ in range(5):
        send(api, rec, email.id)
    error = api.refused(
        "POST",
        "/api/recovery/email/send",
        {"recovery_id": rec.id, "guardian_id": email.id},
        status=429,
        code="email_code_sends",
    )
    assert "5 codes were sent" in error["message"]
    # Another recovery (the owner starting again) has its own.
    assert send(api, start_recovery(api, user.username), email.id)["sent"] is True


# Decoys -----------------------------------------------------------------------------------


def test_an_unknown_name_answers_like_an_account_and_no_mail_is_sent(
    api: Api, smtp: SmtpSink, vouch: LiveServer
) -> None:
    user, _passphrase, email = set_up(api, smtp)
    name = unknown_name_shaped_like(vouch, ("passphrase", "email"), "nobody")
    real, decoy = start_recovery(api, user.username), start_recovery(api, name)
    assert shape(real.start) == shape(decoy.start)
    decoy_email = decoy.start["guardians"][1]
    assert set(decoy_email) == {"id", "kind", "label"}
    assert decoy_email["label"] == "Email"
    ids = {"real": email.id, "decoy": decoy_email["id"]}
    recs = {"real": real, "decoy": decoy}
    mails_before = len(smtp.messages)

    def answers(path: str, body_of: Any) -> dict[str, tuple[int, Any]]:
        found = {}
        for key in ("decoy", "real"):
            response = api.request("POST", path, body_of(recs[key], ids[key]))
            body = response.json()
            error = body.get("error")
            if error is not None:
                body = {k: v for k, v in error.items() if k != "guardian_id"}
                assert error.get("guardian_id") in (None, ids[key])
            found[key] = (response.status_code, body if error else shape(body))
        return found

    missing = answers(
        "/api/recovery/email/verify", lambda rec, g: verify_body(rec, g, "12345 67890")
    )
    assert missing["real"] == missing["decoy"]
    assert missing["real"][1]["code"] == "email_code_missing"
    sent = answers(
        "/api/recovery/email/send", lambda rec, g: {"recovery_id": rec.id, "guardian_id": g}
    )
    assert sent["real"] == sent["decoy"] == (200, {"sent": "bool", "expires_at": "int"})
    code = code_in(wait_for_mail(smtp, email.entry["address"], 1, "recovery code"))
    wrong = answers(
        "/api/recovery/email/verify", lambda rec, g: verify_body(rec, g, other_code(code))
    )
    assert wrong["real"] == wrong["decoy"]
    assert wrong["real"][1] == {"code": "approval_invalid", "message": WRONG, "attempts_left": 4}
    # The real mail, sent after the decoy's answer, is the only one that arrived.
    codes_mailed = [m for m in smtp.messages[mails_before:] if "recovery code" in m["Subject"]]
    assert [str(m["To"]) for m in codes_mailed] == [email.entry["address"]]
    assert not [m for m in smtp.messages if DECOY_DOMAIN in str(m["To"])]
    with sqlite3.connect(f"file:{vouch.database}?mode=ro", uri=True) as connection:
        rows = connection.execute(
            "SELECT recovery_id, attempts, sends FROM recovery_email_codes"
            " WHERE recovery_id IN (?, ?) ORDER BY recovery_id = ?",
            (real.reference, decoy.reference, real.reference),
        ).fetchall()
    # The same database work: a row each, a try counted on each.
    assert [row[1:] for row in rows] == [(1, 1), (1, 1)]


def test_sending_takes_the_same_time_for_known_and_unknown_names(
    smtp: SmtpSink, vouch: LiveServer
) -> None:
    """A send for a real account (a mail goes out, after the answer) and for an unknown name
    shaped like it, in pairs back to back; each send is its recovery's first."""
    api = Api(vouch.url)
    # The real account's own decoy (derived, unused) shaped like the unknown name's: the
    # cost of deriving a decoy depends on its shape, which is not what is measured here.
    owner = unknown_name_shaped_like(vouch, ("passphrase", "email"), "owner")
    user, _passphrase, _email = set_up(api, smtp, owner)
    names = {
        "known": user.username,
        "unknown": unknown_name_shaped_like(vouch, ("passphrase", "email"), "ghost"),
    }
    rounds = 230
    bodies: dict[str, list[dict[str, str]]] = {key: [] for key in names}
    for key, name in names.items():
        for _ in range(rounds):
            start = api.call("POST", "/api/recovery/start", {"username": name})
            guardian = start["guardians"][1]["id"]
            bodies[key].append({"recovery_id": start["recovery_id"], "guardian_id": guardian})
    times: dict[str, list[float]] = {key: [] for key in names}
    for round_ in range(rounds):
        order = list(names) if round_ % 2 else list(reversed(names))
        for key in order:
            began = time.perf_counter()
            response = api.http.post("/api/recovery/email/send", json=bodies[key][round_])
            elapsed = time.perf_counter() - began
            assert response.status_code == 200, response.text
            if round_ >= 30:
                times[key].append(elapsed)
    auc = p_slower(times["known"], times["unknown"])
    medians = {k: round(statistics.median(v) * 1e6) for k, v in times.items()}
    assert 0.3 < auc < 0.7, f"send: P(slower) = {auc:.2f} {medians}"


# The code store and the approvals, on each backend -------------------------------------------


def test_issue_verify_record_and_consume_on_each_backend(database: Database) -> None:
    now = [1000]
    context = build_context(Config(), database, kinds=DEFAULT_KINDS, clock=lambda: now[0])
    key = b"k" * 32

    def fill(tx: Transaction) -> None:
        tx.execute(
            "INSERT INTO accounts (id, username, created_at, threshold, guardians_version)"
            " VALUES ('acct', 'name', 1, 1, 1)"
        )
        for ref in ("rec", "other"):
            tx.execute(
                "INSERT INTO recoveries (id, account_id, username, challenge,"
                " registration_challenge, guardians_version, status, created_at, expires_at)"
                " VALUES (?, 'acct', 'name', ?, ?, 1, 'started', 1, 1600)",
                (ref, b"c" * 32, b"r" * 32),
            )

    database.run_sync(fill)
    found = database.run_sync(lambda tx: recovery.load_reference(tx, "rec"))
    other = database.run_sync(lambda tx: recovery.load_reference(tx, "other"))

    def issue(rec: recovery.Recovery) -> recovery_email_codes.Issued:
        return database.run_sync(
            lambda tx: recovery_email_codes.issue(
                tx, key=key, recovery=rec, guardian_id="g1", now=now[0]
            )
        )

    def verify(rec: recovery.Recovery, code: str) -> recovery_email_codes.Wrong | None:
        return database.run_sync(
            lambda tx: recovery_email_codes.verify(
                tx, key=key, recovery=rec, guardian_id="g1", code=code, now=now[0]
            )
        )

    issued = issue(found)
    assert issued.expires_at == 1600  # the recovery's expiry, before 15 minutes are up
    assert re.fullmatch(r"\d{10}", issued.code)
    issue(other)
    # The code of one recovery is wrong for another, and counted there.
    assert verify(other, issued.code) == recovery_email_codes.Wrong("g1", 4)
    row = database.run_sync(
        lambda tx: tx.one("SELECT attempts FROM recovery_email_codes WHERE recovery_id = 'other'")
    )
    assert row == {"attempts": 1}
    assert verify(found, issued.code) is None
    with pytest.raises(VouchError) as used:
        verify(found, issued.code)
    assert used.value.code == "email_code_missing"
    stored = database.run_sync(lambda tx: tx.all("SELECT code_hash FROM recovery_email_codes"))
    assert all(issued.code.encode() not in bytes(row["code_hash"]) for row in stored)

    def record(tx: Transaction) -> bool:
        return recovery_approvals.record(tx, context, found, "g1", {"via": EMAIL.name})

    assert database.run_sync(record) is True
    guardians = GuardianSet(
        account="acct",
        threshold=1,
        guardians=(StoredGuardian(id="g1", kind=EMAIL.name, label="Email"),),
    )
    rows = database.run_sync(
        lambda tx: recovery_approvals.load(tx, DEFAULT_KINDS, found, guardians)
    )
    approved = recovery_approvals.usable(DEFAULT_KINDS, guardians, rows, sent=[])
    assert approved == [Approved("g1", EMAIL.name, {"via": EMAIL.name}, recorded=True)]

    def consume(tx: Transaction) -> None:
        recovery_approvals.consume(tx, context, found, approved)

    database.run_sync(consume)
    with pytest.raises(ApprovalInvalid, match="That code is not right"):
        database.run_sync(consume)  # a replay, or the loser of a race
    # Pruned with the recovery.
    later = 1600 + maintenance.GRACE_SECONDS + 1
    database.run_sync(lambda tx: maintenance.prune(tx, later))
    left = database.run_sync(lambda tx: tx.all("SELECT recovery_id FROM recovery_email_codes"))
    assert left == []


def test_a_trusted_contact_is_mailed_the_invitation(smtp: SmtpSink, vouch: LiveServer) -> None:
    """Mailed to the person invited, at their verified address: who asks, and that the
    answer waits in their own dialog (the mail has nothing to click that answers)."""
    api = Api(vouch.url)
    owner, contact = register(api), register(api)
    address = with_address(api, smtp, contact)
    api.call("POST", "/api/contacts/invite", {"username": contact.username}, session=owner.session)
    mail = wait_for_mail(smtp, address, 1, "trusted contact")
    assert str(mail["Subject"]).startswith(f"{owner.username} asks you to be their trusted")
    text = text_of(mail)
    assert f"sign in on {vouch.url}" in text
    assert "decline it" in text
    # Inviting again while it is pending mails no one again.
    api.call("POST", "/api/contacts/invite", {"username": contact.username}, session=owner.session)
    time.sleep(0.5)
    assert len([m for m in mails_to(smtp, address) if "trusted contact" in str(m["Subject"])]) == 1

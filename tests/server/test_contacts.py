"""Trusted contacts on the real server: invitations answered with the contact's passkey, the
guardian admitted only once accepted, and a recovery approved in the contact's own session
with the code the requester reads out and an assertion over the recovery message."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.server.conftest import start
from tests.server.helpers import (
    Api,
    Guardian,
    Recovery,
    User,
    execute,
    passphrase_guardian,
    register,
    save_guardians,
    start_recovery,
)
from tests.server.test_decoys import shape, unknown_name_shaped_like
from tests.support.api_client import confirm_change, guardian_id
from tests.support.live_server import LiveServer
from tests.support.soft_authenticator import SoftAuthenticator
from vouch.core.b64url import b64url_decode, b64url_encode
from vouch.core.contacts import answer_message, fingerprint, verification_code
from vouch.core.kinds import CONTACT
from vouch.core.messages import webauthn_challenge_for
from vouch.server import contacts
from vouch.server.errors import BadRequest
from vouch.server.storage import Database, Transaction


@pytest.fixture(scope="module")
def vouch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start(tmp_path_factory.mktemp("vouch"))
    yield live
    live.stop()


@pytest.fixture
def api(vouch: LiveServer) -> Api:
    return Api(vouch.url)


def answer(api: Api, contact: User, owner: User, what: str, *, status: int = 200) -> Any:
    options = api.call("POST", "/api/contacts/options", {}, session=contact.session)
    message = answer_message(
        contact.account, owner.account, what, b64url_decode(options["challenge"])
    )
    request_options = {
        **options["options"],
        "challenge": b64url_encode(webauthn_challenge_for(message)),
    }
    body = {
        "challenge_id": options["challenge_id"],
        "owner": owner.account,
        "answer": what,
        "assertion": contact.device.get(request_options),
    }
    return api.request("POST", "/api/contacts/answer", body, session=contact.session)


def contact_guardian(contact: User, label: str = "Trusted contact") -> Guardian:
    return Guardian(
        {"id": guardian_id(), "kind": CONTACT.name, "label": label, "account": contact.account}
    )


def befriend(api: Api, owner: User, contact: User) -> None:
    api.call("POST", "/api/contacts/invite", {"username": contact.username}, session=owner.session)
    assert answer(api, contact, owner, "accept").status_code == 200


def vouched_account(api: Api) -> tuple[User, User, Guardian, Guardian]:
    """An owner whose guardians are a passphrase and a contact who accepted, 2 of 2."""
    owner, contact = register(api), register(api)
    befriend(api, owner, contact)
    passphrase, guardian = passphrase_guardian(owner), contact_guardian(contact)
    save_guardians(api, owner, 2, [passphrase, guardian])
    return owner, contact, passphrase, guardian


def ask(api: Api, recovery: Recovery, guardian_id_: str) -> dict[str, Any]:
    body = {
        "recovery_id": recovery.id,
        "guardian_id": guardian_id_,
        "new_credential": recovery.new_credential_json(),
        "authenticator": "platform",
    }
    return api.call("POST", "/api/recovery/contact/request", body)


def status(api: Api, recovery: Recovery, guardian: Guardian) -> str:
    body = {"recovery_id": recovery.id, "guardian_id": guardian.id}
    return str(api.call("POST", "/api/recovery/contact/status", body)["status"])


def approve_body(contact: User, opened: dict[str, Any], code: str) -> dict[str, Any]:
    return {
        "request_id": opened["request_id"],
        "code": code,
        "assertion": contact.device.get(opened["options"]),
    }


def audit_kinds(api: Api, user: User) -> list[str]:
    return [e["kind"] for e in api.call("GET", "/api/audit", session=user.session)["events"]]


# Invitations -------------------------------------------------------------------------------


def test_an_invitation_is_answered_with_the_contacts_passkey(api: Api) -> None:
    owner, contact = register(api), register(api)
    invited = api.call(
        "POST",
        "/api/contacts/invite",
        {"username": contact.username.upper()},
        session=owner.session,
    )["contact"]
    assert invited["status"] == "pending"
    assert invited["fingerprint"] == fingerprint(contact.account)
    seen = api.call("GET", "/api/contacts", session=contact.session)
    assert seen["fingerprint"] == invited["fingerprint"]  # what the two compare
    assert seen["vouching_for"] == [
        {
            "account": owner.account,
            "username": owner.username,
            "status": "pending",
            "created_at": invited["created_at"],
        }
    ]
    # Not before acceptance: the guardian is refused, and nothing is saved.
    early = contact_guardian(contact)
    config = {"threshold": 1, "guardians": [early.entry]}
    error = api.refused(
        "PUT",
        "/api/guardians",
        confirm_change(api, owner, config),
        status=400,
        code="contact_not_accepted",
        session=owner.session,
    )
    assert "has not accepted" in error["message"]
    assert api.call("GET", "/api/account", session=owner.session)["guardians"] == []
    # An assertion of the owner's passkey cannot answer for the contact.
    options = api.call("POST", "/api/contacts/options", {}, session=contact.session)
    message = answer_message(
        contact.account, owner.account, "accept", b64url_decode(options["challenge"])
    )
    forged = owner.device.get(
        {
            **options["options"],
            "allowCredentials": [],
            "challenge": b64url_encode(webauthn_challenge_for(message)),
        }
    )
    api.refused(
        "POST",
        "/api/contacts/answer",
        {
            "challenge_id": options["challenge_id"],
            "owner": owner.account,
            "answer": "accept",
            "assertion": forged,
        },
        status=400,
        code="unknown_credential",
        session=contact.session,
    )
    # Signed for "decline" but sent as "accept": the message differs, the signature fails.
    options = api.call("POST", "/api/contacts/options", {}, session=contact.session)
    message = answer_message(
        contact.account, owner.account, "decline", b64url_decode(options["challenge"])
    )
    signed = contact.device.get(
        {**options["options"], "challenge": b64url_encode(webauthn_challenge_for(message))}
    )
    api.refused(
        "POST",
        "/api/contacts/answer",
        {
            "challenge_id": options["challenge_id"],
            "owner": owner.account,
            "answer": "accept",
            "assertion": signed,
        },
        status=400,
        code="verification_failed",
        session=contact.session,
    )
    assert (
        api.call("GET", "/api/contacts", session=owner.session)["invited"][0]["status"] == "pending"
    )
    assert answer(api, contact, owner, "accept").json() == {
        "owner": {
            "account": owner.account,
            "username": owner.username,
            "status": "accepted",
            "created_at": invited["created_at"],
        }
    }
    save_guardians(api, owner, 1, [contact_guardian(contact, "Sam")])
    assert [
        g["kind"] for g in api.call("GET", "/api/account", session=owner.session)["guardians"]
    ] == ["contact"]
    assert audit_kinds(api, owner)[1:3] == ["contact_accepted", "contact_invited"]
    assert audit_kinds(api, contact)[:2] == ["contact_accepted", "contact_invitation_received"]


def test_bad_invitations_are_refused_and_change_nothing(api: Api) -> None:
    owner, other = register(api), register(api)
    api.refused(
        "POST",
        "/api/contacts/invite",
        {"username": "no-such-person-zz"},
        status=400,
        code="unknown_contact",
        session=owner.session,
    )
    api.refused(
        "POST",
        "/api/contacts/invite",
        {"username": owner.username},
        status=400,
        code="contact_is_you",
        session=owner.session,
    )
    api.refused(
        "POST",
        "/api/contacts/invite",
        {"username": "x" * 300},
        status=400,
        code="invalid_body",
        session=owner.session,
    )
    api.refused(
        "POST",
        "/api/contacts/invite",
        {"username": other.username},
        status=401,
        code="unauthorized",
    )
    assert api.call("GET", "/api/contacts", session=owner.session)["invited"] == []
    # An answer with no invitation behind it.
    assert answer(api, other, owner, "accept").json()["error"]["code"] == "no_invitation"
    # Declined: it cannot then be accepted; a new invitation asks again.
    api.call("POST", "/api/contacts/invite", {"username": other.username}, session=owner.session)
    assert answer(api, other, owner, "decline").json() == {"owner": None}
    assert answer(api, other, owner, "accept").json()["error"]["code"] == "no_invitation"
    assert (
        api.call("GET", "/api/contacts", session=owner.session)["invited"][0]["status"]
        == "declined"
    )
    assert api.call("GET", "/api/contacts", session=other.session)["vouching_for"] == []
    own = {"id": guardian_id(), "kind": CONTACT.name, "label": "Me", "account": owner.account}
    api.refused(
        "PUT",
        "/api/guardians",
        confirm_change(api, owner, {"threshold": 1, "guardians": [own]}),
        status=400,
        code="contact_is_you",
        session=owner.session,
    )


# Recovery ----------------------------------------------------------------------------------


def open_request(api: Api, contact: User, request_id: str) -> dict[str, Any]:
    return api.call(
        "POST", "/api/contact-requests/open", {"request_id": request_id}, session=contact.session
    )


def test_a_contact_and_a_passphrase_recover_the_account(api: Api, vouch: LiveServer) -> None:
    owner, contact, passphrase, guardian = vouched_account(api)
    recovery = start_recovery(api, owner.username)
    assert recovery.start["guardians"][1] == {
        "id": guardian.id,
        "kind": "contact",
        "label": "Trusted contact",
    }
    asked = ask(api, recovery, guardian.id)
    assert asked["link"] == f"{vouch.url}/dialog.html#help={asked['request_id']}"
    assert status(api, recovery, guardian) == "waiting"
    # The contact's list shows it (by its stored id, not the link's secret).
    (listed,) = api.call("GET", "/api/contacts", session=contact.session)["requests"]
    assert listed["username"] == owner.username
    assert listed["request_id"] != asked["request_id"]
    opened = open_request(api, contact, listed["request_id"])
    assert opened["device"]
    assert opened["authenticator"] == "platform"
    assert b64url_decode(opened["message"]) == recovery.message()
    assert status(api, recovery, guardian) == "opened"
    # Not before the approval: one approval of two.
    api.refused(
        "POST",
        "/api/recovery/execute",
        recovery.execute_body([recovery.approve(passphrase)]),
        status=400,
        code="not_enough_approvals",
    )
    code = verification_code(recovery.message())
    result = api.call(
        "POST",
        "/api/contact-requests/approve",
        approve_body(contact, opened, code),
        session=contact.session,
    )
    assert result == {"ok": True, "username": owner.username}
    assert status(api, recovery, guardian) == "approved"
    done = execute(api, recovery, [recovery.approve(passphrase)])
    assert done["status"] == "complete"
    assert "contact_help_approved" in audit_kinds(api, contact)
    owner_events = audit_kinds(
        api, User(owner.username, owner.account, done["session"], recovery.device)
    )
    assert "contact_help_approved" in owner_events
    assert "contact_help_requested" in owner_events


def test_a_phished_contact_without_the_code_cannot_approve(api: Api, vouch: LiveServer) -> None:
    """The link reached the contact without the person asking (who would read out the
    code): every guess is refused, the fifth closes the request, and nothing is recorded."""
    owner, contact, passphrase, guardian = vouched_account(api)
    recovery = start_recovery(api, owner.username)
    asked = ask(api, recovery, guardian.id)
    opened = open_request(api, contact, asked["request_id"])
    right = verification_code(recovery.message()).replace(" ", "")
    guesses = [str((int(right) + n) % 1_000_000).zfill(6) for n in range(1, 6)]
    for left, guess in zip((4, 3, 2, 1), guesses, strict=False):
        error = api.refused(
            "POST",
            "/api/contact-requests/approve",
            approve_body(contact, opened, guess),
            status=400,
            code="contact_code_wrong",
            session=contact.session,
        )
        assert error["attempts_left"] == left
    api.refused(
        "POST",
        "/api/contact-requests/approve",
        approve_body(contact, opened, guesses[4]),
        status=400,
        code="help_request_closed",
        session=contact.session,
    )
    # Closed now, the right code no longer helps, and nothing counts at execute.
    api.refused(
        "POST",
        "/api/contact-requests/approve",
        approve_body(contact, opened, right),
        status=400,
        code="help_request_closed",
        session=contact.session,
    )
    assert status(api, recovery, guardian) == "declined"
    api.refused(
        "POST",
        "/api/recovery/execute",
        recovery.execute_body([recovery.approve(passphrase)]),
        status=400,
        code="not_enough_approvals",
    )
    assert audit_kinds(api, contact).count("contact_help_refused") >= 4


def test_an_approval_is_for_its_own_recovery_and_new_passkey(api: Api) -> None:
    owner, contact, passphrase, guardian = vouched_account(api)
    first, second = start_recovery(api, owner.username), start_recovery(api, owner.username)
    opened = open_request(api, contact, ask(api, first, guardian.id)["request_id"])
    # The other recovery's code on this request is wrong; this one's code with an
    # assertion over the other recovery's message fails its signature.
    other = open_request(api, contact, ask(api, second, guardian.id)["request_id"])
    body = approve_body(contact, other, verification_code(second.message()))
    api.refused(
        "POST",
        "/api/contact-requests/approve",
        {**body, "request_id": opened["request_id"]},
        status=400,
        code="contact_code_wrong",
        session=contact.session,
    )
    body = approve_body(contact, other, verification_code(first.message()))
    api.refused(
        "POST",
        "/api/contact-requests/approve",
        {**body, "request_id": opened["request_id"]},
        status=400,
        code="verification_failed",
        session=contact.session,
    )
    # Approved for the first recovery's new passkey: another one registered at execute is refused.
    api.call(
        "POST",
        "/api/contact-requests/approve",
        approve_body(contact, opened, verification_code(first.message())),
        session=contact.session,
    )
    first.registration = SoftAuthenticator(api.url).create(first.start["registration"]["options"])
    error = api.refused(
        "POST",
        "/api/recovery/execute",
        first.execute_body([first.approve(passphrase)]),
        status=400,
        code="approval_invalid",
    )
    assert error["guardian_id"] == guardian.id
    # The other person cannot open it.
    stranger = register(api)
    api.refused(
        "POST",
        "/api/contact-requests/open",
        {"request_id": opened["request_id"]},
        status=403,
        code="not_your_request",
        session=stranger.session,
    )
    api.refused(
        "POST",
        "/api/contact-requests/open",
        {"request_id": "nope"},
        status=400,
        code="no_help_request",
        session=contact.session,
    )


def test_a_declined_request_and_a_contact_who_left_do_not_count(api: Api) -> None:
    owner, contact, passphrase, guardian = vouched_account(api)
    recovery = start_recovery(api, owner.username)
    asked = ask(api, recovery, guardian.id)
    api.call(
        "POST",
        "/api/contact-requests/decline",
        {"request_id": asked["request_id"]},
        session=contact.session,
    )
    assert status(api, recovery, guardian) == "declined"
    assert "contact_help_declined" in audit_kinds(api, owner)
    api.refused(
        "POST",
        "/api/contact-requests/open",
        {"request_id": asked["request_id"]},
        status=400,
        code="help_request_closed",
        session=contact.session,
    )
    # Asked again for the same recovery and new passkey: a new link, the answer stands.
    again = ask(api, recovery, guardian.id)
    assert again["request_id"] != asked["request_id"]
    assert status(api, recovery, guardian) == "declined"
    api.refused(
        "POST",
        "/api/contact-requests/open",
        {"request_id": asked["request_id"]},
        status=400,
        code="no_help_request",
        session=contact.session,
    )
    # The contact approves a new recovery, then gives it up before it executes.
    recovery = start_recovery(api, owner.username)
    opened = open_request(api, contact, ask(api, recovery, guardian.id)["request_id"])
    api.call(
        "POST",
        "/api/contact-requests/approve",
        approve_body(contact, opened, verification_code(recovery.message())),
        session=contact.session,
    )
    assert answer(api, contact, owner, "remove").json() == {"owner": None}
    assert (
        api.call("GET", "/api/contacts", session=owner.session)["invited"][0]["status"] == "removed"
    )
    assert "contact_removed" in audit_kinds(api, owner)
    api.refused(
        "POST",
        "/api/recovery/execute",
        recovery.execute_body([recovery.approve(passphrase)]),
        status=400,
        code="approval_invalid",
    )
    # And can no longer approve another.
    recovery = start_recovery(api, owner.username)
    asked = ask(api, recovery, guardian.id)
    api.refused(
        "POST",
        "/api/contact-requests/open",
        {"request_id": asked["request_id"]},
        status=403,
        code="not_a_contact",
        session=contact.session,
    )


def test_a_contact_recovered_recently_cannot_approve_and_the_time_lock_holds(
    tmp_path: Path,
) -> None:
    live = start(tmp_path, "--recovery-delay", "3600")
    try:
        api = Api(live.url)
        owner, contact, passphrase, guardian = vouched_account(api)
        # The contact's own account is recovered (by a passphrase of its own).
        theirs = passphrase_guardian(contact)
        save_guardians(api, contact, 1, [theirs])
        own = start_recovery(api, contact.username)
        held = execute(api, own, [own.approve(theirs)], status=202)
        with sqlite3.connect(live.database) as db:
            db.execute(
                "UPDATE recoveries SET effective_at = 1 WHERE account_id = ?", (contact.account,)
            )
        session = api.call("POST", "/api/recovery/complete", {"recovery_id": held["recovery_id"]})[
            "session"
        ]
        contact.device = own.device
        recovery = start_recovery(api, owner.username)
        asked = ask(api, recovery, guardian.id)
        error = api.refused(
            "POST",
            "/api/contact-requests/open",
            {"request_id": asked["request_id"]},
            status=403,
            code="contact_recently_recovered",
            session=session,
        )
        assert "recovered recently" in error["message"]
        assert error["until"] > 0
        # Seven days later they can: the time lock then holds the owner's recovery.
        with sqlite3.connect(live.database) as db:
            db.execute(
                "UPDATE accounts SET recovered_at = recovered_at - 8 * 86400 WHERE id = ?",
                (contact.account,),
            )
        contact.session = sign_in_again(api, contact)  # the recovered account signs in
        session = contact.session
        opened = open_request(api, contact, asked["request_id"])
        api.call(
            "POST",
            "/api/contact-requests/approve",
            approve_body(contact, opened, verification_code(recovery.message())),
            session=session,
        )
        pending = execute(api, recovery, [recovery.approve(passphrase)], status=202)
        assert pending["status"] == "pending"
    finally:
        live.stop()


def sign_in_again(api: Api, user: User) -> str:
    options = api.call("POST", "/api/signin/options", {})
    assertion = user.device.get(options["options"])
    return str(
        api.call(
            "POST",
            "/api/signin/verify",
            {"challenge_id": options["challenge_id"], "credential": assertion},
        )["session"]
    )


def test_a_decoy_asks_its_contact_like_a_real_account(api: Api, vouch: LiveServer) -> None:
    owner, _contact, _passphrase, guardian = vouched_account(api)
    name = unknown_name_shaped_like(vouch, ("passphrase", "contact"), "ghost")
    real, decoy = start_recovery(api, owner.username), start_recovery(api, name)
    assert shape(real.start) == shape(decoy.start)
    decoy_guardian = decoy.start["guardians"][1]
    assert decoy_guardian["kind"] == "contact"
    assert decoy_guardian["label"] == "Trusted contact"
    asked = [ask(api, real, guardian.id), ask(api, decoy, decoy_guardian["id"])]
    assert shape(asked[0]) == shape(asked[1])
    assert status(api, decoy, Guardian(decoy_guardian)) == "waiting"
    api.refused(
        "POST",
        "/api/recovery/contact/request",
        {
            "recovery_id": decoy.id,
            "guardian_id": decoy.start["guardians"][0]["id"],
            "new_credential": decoy.new_credential_json(),
        },
        status=400,
        code="not_a_contact_guardian",
    )
    stranger = register(api)
    api.refused(
        "POST",
        "/api/contact-requests/open",
        {"request_id": asked[1]["request_id"]},
        status=403,
        code="not_your_request",
        session=stranger.session,
    )


# The store on each backend -------------------------------------------------------------------


def test_invitations_and_help_requests_on_each_backend(database: Database) -> None:
    def fill(tx: Transaction) -> None:
        for account in ("owner", "friend"):
            tx.execute(
                "INSERT INTO accounts (id, username, created_at) VALUES (?, ?, 1)",
                (account, f"name-{account}"),
            )
        tx.execute(
            "INSERT INTO recoveries (id, account_id, username, challenge,"
            " registration_challenge, guardians_version, status, created_at, expires_at)"
            " VALUES ('rec', 'owner', 'name-owner', ?, ?, 1, 'started', 1, 1600)",
            (b"c" * 32, b"r" * 32),
        )

    database.run_sync(fill)
    assert database.run_sync(lambda tx: contacts.invite(tx, "owner", "friend", 10))
    assert not database.run_sync(lambda tx: contacts.invite(tx, "owner", "friend", 11))
    pending = database.run_sync(lambda tx: contacts.invitation(tx, "owner", "friend"))
    assert pending is not None
    assert (pending["status"], pending["created_at"]) == ("pending", 10)
    assert not database.run_sync(lambda tx: contacts.answer(tx, "friend", "owner", "accepted", 12))
    assert database.run_sync(lambda tx: contacts.answer(tx, "owner", "friend", "accepted", 12))
    assert database.run_sync(lambda tx: contacts.is_accepted(tx, "owner", "friend"))
    (listed,) = database.run_sync(lambda tx: contacts.invited_by(tx, "owner"))
    assert (listed["username"], listed["status"], listed["answered_at"]) == (
        "name-friend",
        "accepted",
        12,
    )

    def ask(tx: Transaction, message: bytes) -> str:
        return contacts.ask(
            tx,
            recovery_id="rec",
            guardian_id="g1",
            owner_id="owner",
            contact_id="friend",
            message=message,
            device="Firefox on Linux",
            authenticator=None,
            now=20,
            expires_at=1600,
        )

    token = database.run_sync(lambda tx: ask(tx, b"message one"))
    found = database.run_sync(lambda tx: contacts.find_request(tx, token))
    assert (found.message, found.status, found.wrong_codes) == (b"message one", "waiting", 0)
    database.run_sync(lambda tx: contacts.mark(tx, found, contacts.OPENED, 21))
    assert database.run_sync(lambda tx: contacts.count_wrong_code(tx, found, 22)) == 4
    (shown,) = database.run_sync(lambda tx: contacts.open_requests_for(tx, "friend", 30))
    assert shown["username"] == "name-owner"
    by_id = database.run_sync(lambda tx: contacts.find_request(tx, shown["request_id"]))
    assert by_id.id == found.id
    # Asked again with the same message: a new token, the same request; the old one is gone.
    again = database.run_sync(lambda tx: ask(tx, b"message one"))
    assert database.run_sync(lambda tx: contacts.status_of(tx, "rec", "g1")) == "opened"
    with pytest.raises(BadRequest):
        database.run_sync(lambda tx: contacts.find_request(tx, token))
    # A new message (another new passkey) starts it over.
    newest = database.run_sync(lambda tx: ask(tx, b"message two"))
    with pytest.raises(BadRequest):
        database.run_sync(lambda tx: contacts.find_request(tx, again))
    assert database.run_sync(lambda tx: contacts.find_request(tx, newest)).wrong_codes == 0
    latest = database.run_sync(
        lambda tx: tx.one("SELECT status, wrong_codes, message FROM contact_requests")
    )
    assert latest is not None
    assert (latest["status"], latest["wrong_codes"], bytes(latest["message"])) == (
        "waiting",
        0,
        b"message two",
    )
    assert database.run_sync(lambda tx: contacts.answer(tx, "owner", "friend", "removed", 40))
    assert not database.run_sync(lambda tx: contacts.is_accepted(tx, "owner", "friend"))

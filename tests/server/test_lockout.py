"""No one who knows only an account's name can lock its owner out (issue 12, item 1).

The server runs with the default limits. Strangers attack from other loopback addresses
(127.0.0.2 and up) until their own budgets are spent; the owner, from 127.0.0.1, still
starts, checks, recovers and signs in.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from itertools import count
from typing import Any

import httpx
import pytest
from starlette.requests import Request

from tests.server.helpers import (
    Api,
    Guardian,
    Recovery,
    User,
    execute,
    passkey_guardian,
    passphrase_guardian,
    recovery_code_guardian,
    register,
    save_guardians,
    sign_in,
    start_recovery,
)
from tests.server.test_contacts import ask, vouched_account
from tests.support.live_server import LiveServer, start_server
from tests.support.soft_authenticator import SoftAuthenticator, b64
from vouch.core.b64url import b64url_decode
from vouch.server.api import client_address

_addresses = count(2)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(tmp_path_factory.mktemp("lockout"))
    yield live
    live.stop()


@pytest.fixture
def owner(server: LiveServer) -> Api:
    return Api(server.url)


def stranger(server: LiveServer) -> Api:
    """A client at a loopback address no other test uses."""
    address = f"127.0.0.{next(_addresses)}"
    return Api(
        server.url,
        base_url=f"http://127.0.0.1:{server.port}",
        transport=httpx.HTTPTransport(local_address=address),
    )


def account(api: Api) -> tuple[User, Guardian]:
    user = register(api)
    passphrase = passphrase_guardian(user)
    save_guardians(api, user, 1, [passphrase])
    return user, passphrase


def spend(api: Api, path: str, body: dict[str, Any], *, allowed: int, status: int) -> None:
    """`allowed` attempts refused as `status` (they reach the check), then a 429."""
    for _ in range(allowed):
        response = api.request("POST", path, body)
        assert response.status_code == status, response.text
    assert api.request("POST", path, body).status_code == 429


def junk_check(recovery: Recovery, guardian: Guardian) -> dict[str, Any]:
    return {
        "recovery_id": recovery.id,
        "new_credential": recovery.new_credential_json(),
        "approval": {"guardian_id": guardian.id, "signature": b64(b"\1" * 64)},
    }


def recovers(api: Api, user: User, guardian: Guardian) -> None:
    recovery = start_recovery(api, user.username)
    body = {
        "recovery_id": recovery.id,
        "new_credential": recovery.new_credential_json(),
        "approval": recovery.approve(guardian),
    }
    assert api.call("POST", "/api/recovery/check", body)["ok"] is True
    result = execute(api, recovery, [recovery.approve(guardian)])
    assert result["status"] == "complete"
    assert result["username"] == user.username


def test_junk_executes_do_not_block_the_owners_recovery(server: LiveServer, owner: Api) -> None:
    user, passphrase = account(owner)
    attacker = stranger(server)
    recovery = start_recovery(attacker, user.username)
    junk = recovery.execute_body([{"guardian_id": passphrase.id, "signature": b64(b"\1" * 64)}])
    spend(attacker, "/api/recovery/execute", junk, allowed=10, status=400)
    recovers(owner, user, passphrase)


def test_many_starts_do_not_block_the_owners_start(server: LiveServer, owner: Api) -> None:
    user, passphrase = account(owner)
    body = {"username": user.username}
    spend(stranger(server), "/api/recovery/start", body, allowed=10, status=200)
    spend(stranger(server), "/api/recovery/start", body, allowed=10, status=200)
    recovers(owner, user, passphrase)


def test_junk_checks_do_not_block_the_owners_checks(server: LiveServer, owner: Api) -> None:
    """32 wrong passphrase approvals from four addresses: the owner is slowed, not refused."""
    user, passphrase = account(owner)
    for _ in range(4):
        attacker = stranger(server)
        recovery = start_recovery(attacker, user.username)
        for _ in range(8):
            attacker.refused(
                "POST",
                "/api/recovery/check",
                junk_check(recovery, passphrase),
                status=400,
                code="approval_invalid",
            )
    with sqlite3.connect(server.database) as db:
        (guesses,) = db.execute(
            "SELECT hits FROM rate_limits WHERE key = ?",
            (f"recovery_guess_account:{user.username}",),
        ).fetchone()
    assert guesses == 32  # counted against the account, past its budget of 20
    recovers(owner, user, passphrase)


def test_one_client_still_runs_out_of_checks(server: LiveServer, owner: Api) -> None:
    """Its own budget for the account (30 checks) is what a single client gets."""
    user, passphrase = account(owner)
    # Wrong recovery codes are not guesses (a code cannot be guessed): no slowing down.
    code = recovery_code_guardian(user)
    save_guardians(owner, user, 1, [passphrase, code])
    attacker = stranger(server)
    recovery = start_recovery(attacker, user.username)
    body = junk_check(recovery, code)
    spend(attacker, "/api/recovery/check", body, allowed=30, status=400)
    recovers(owner, user, passphrase)


def test_junk_sign_ins_do_not_block_the_owners_sign_in(server: LiveServer, owner: Api) -> None:
    user, _ = account(owner)
    attacker = stranger(server)
    forger = SoftAuthenticator(server.url)
    forger.create({"rp": {"id": "localhost"}, "user": {"id": b64(b"u")}, "challenge": b64(b"c")})
    for _ in range(25):  # more than the per-account limit sign-in used to have
        options = attacker.call("POST", "/api/signin/options", {})
        assertion = forger.get(options["options"])
        assertion["id"] = assertion["rawId"] = user.passkey  # the owner's credential, named
        body = {"challenge_id": options["challenge_id"], "credential": assertion}
        response = attacker.request("POST", "/api/signin/verify", body)
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] == "verification_failed"
    assert sign_in(owner, user.device).status_code == 200


def test_an_anonymous_start_names_no_credential(server: LiveServer, owner: Api) -> None:
    user, passphrase = account(owner)
    key = passkey_guardian(owner, user)
    save_guardians(owner, user, 1, [passphrase, key])
    answer = stranger(server).request("POST", "/api/recovery/start", {"username": user.username})
    assert answer.status_code == 200
    assert user.passkey not in answer.text
    assert key.entry["credential_id"] not in answer.text
    shown = [g for g in answer.json()["guardians"] if g["kind"] == "passkey"]
    assert shown == [{"id": key.id, "kind": "passkey", "label": "Second passkey"}]


def test_the_guardian_key_still_approves_without_being_named(
    server: LiveServer, owner: Api
) -> None:
    user, passphrase = account(owner)
    key = passkey_guardian(owner, user)
    save_guardians(owner, user, 1, [passphrase, key])
    recovery = start_recovery(owner, user.username)
    result = execute(owner, recovery, [recovery.approve(key)])
    assert result["status"] == "complete"


def test_an_ipv6_client_counts_as_its_64() -> None:
    """Unit-level: the subject an IPv6 peer is counted as (no IPv6 loopback range to test)."""

    def peer(host: str) -> str:
        return client_address(Request({"type": "http", "client": (host, 1), "headers": []}))

    assert peer("2001:db8:1:2:aaaa::1") == peer("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert peer("2001:db8:1:3::1") == "2001:db8:1:3::/64"
    assert peer("::ffff:192.0.2.7") == "192.0.2.7"
    assert peer("192.0.2.7") == "192.0.2.7"


def test_a_stranger_cannot_flood_a_trusted_contact_or_block_the_owner(
    server: LiveServer, owner: Api
) -> None:
    """Each recovery asks a contact once (asking again only replaces its link), a client's
    help requests per account are limited, and the contact is shown the newest request of
    each person only: the stranger's flood is one line, and the owner still asks."""
    user, contact, _passphrase, guardian = vouched_account(owner)
    attacker = stranger(server)
    for _ in range(10):
        recovery = start_recovery(attacker, user.username)
        ask(attacker, recovery, guardian.id)
    again = {
        "recovery_id": recovery.id,
        "guardian_id": guardian.id,
        "new_credential": recovery.new_credential_json(),
    }
    refused = attacker.request("POST", "/api/recovery/contact/request", again)
    assert refused.status_code == 429, refused.text
    time.sleep(1.1)  # times are whole seconds: the owner's request is the newest
    mine = start_recovery(owner, user.username)
    ask(owner, mine, guardian.id)
    (listed,) = owner.call("GET", "/api/contacts", session=contact.session)["requests"]
    assert listed["username"] == user.username
    opened = owner.call(
        "POST",
        "/api/contact-requests/open",
        {"request_id": listed["request_id"]},
        session=contact.session,
    )
    assert b64url_decode(opened["message"]) == mine.message()

"""Scripted recoveries against the live server: 1-of-1, 2-of-3 and 3-of-3, then each
rejection, each leaving the account's rows exactly as they were."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable

import pytest

from tests.server.helpers import (
    Api,
    Guardian,
    User,
    backup_codes_guardian,
    execute,
    passkey_guardian,
    passphrase_guardian,
    recovery_code_guardian,
    register,
    save_guardians,
    sign_in,
    snapshot,
    start_recovery,
)
from tests.support.live_server import LiveServer
from tests.support.soft_authenticator import b64

MAKERS: dict[str, Callable[[Api, User], Guardian]] = {
    "passphrase": lambda api, user: passphrase_guardian(user),
    "recovery_code": lambda api, user: recovery_code_guardian(user),
    "backup_codes": lambda api, user: backup_codes_guardian(user),
    "passkey": passkey_guardian,
}


def set_up(api: Api, threshold: int, kinds: list[str]) -> tuple[User, list[Guardian]]:
    user = register(api)
    guardians = [MAKERS[kind](api, user) for kind in kinds]
    save_guardians(api, user, threshold, guardians)
    return user, guardians


def assert_recovered(api: Api, user: User, result: dict[str, object], new_device: object) -> None:
    """Old passkey and session are dead; the new passkey and session work."""
    assert result["status"] == "complete"
    assert result["account"] == user.account
    assert result["username"] == user.username
    api.refused("GET", "/api/session", session=user.session, status=401, code="unauthorized")
    old = sign_in(api, user.device)
    assert old.status_code == 400
    assert old.json()["error"]["code"] == "unknown_credential"
    new_session = str(result["session"])
    account = api.call("GET", "/api/account", session=new_session)
    assert [p["id"] for p in account["passkeys"]] != [user.passkey]
    assert len(account["passkeys"]) == 1
    signed = sign_in(api, new_device)  # type: ignore[arg-type]
    assert signed.status_code == 200, signed.text
    assert signed.json()["account"] == user.account


@pytest.mark.parametrize("kind", list(MAKERS))
def test_one_of_one_recovery_with_each_kind(api: Api, kind: str) -> None:
    user, (guardian,) = set_up(api, 1, [kind])
    recovery = start_recovery(api, user.username)
    assert recovery.start["account"] == user.account
    assert recovery.start["threshold"] == 1
    result = execute(api, recovery, [recovery.approve(guardian)])
    assert_recovered(api, user, result, recovery.device)


def test_two_of_three_recovery(api: Api, server: LiveServer) -> None:
    user, (_, codes, passkey) = set_up(api, 2, ["passphrase", "backup_codes", "passkey"])
    recovery = start_recovery(api, user.username)
    result = execute(api, recovery, [recovery.approve(codes, code=3), recovery.approve(passkey)])
    assert_recovered(api, user, result, recovery.device)
    account = api.call("GET", "/api/account", session=str(result["session"]))
    (backup,) = [g for g in account["guardians"] if g["kind"] == "backup_codes"]
    assert backup["codes_remaining"] == 9
    events = api.call("GET", "/api/audit", session=str(result["session"]))["events"]
    kinds = [event["kind"] for event in events]
    # Newest first: the new passkey signed in, the old one was refused, the recovery.
    assert kinds[:3] == ["signin", "signin_failed", "recovery_complete"]
    assert events[2]["detail"]["guardians"] == [codes.id, passkey.id]
    # Applied at once: nothing kept to apply later (a held one keeps it: test_delay.py).
    with sqlite3.connect(f"file:{server.database}?mode=ro", uri=True) as database:
        row = database.execute(
            "SELECT status, plan FROM recoveries WHERE id = ?", (recovery.reference,)
        ).fetchone()
    assert row == ("complete", None)


def test_three_of_three_recovery(api: Api) -> None:
    user, guardians = set_up(api, 3, ["passphrase", "recovery_code", "passkey"])
    recovery = start_recovery(api, user.username)
    result = execute(api, recovery, [recovery.approve(g) for g in reversed(guardians)])
    assert_recovered(api, user, result, recovery.device)


def test_a_recovered_account_can_be_recovered_again(api: Api) -> None:
    user, (codes,) = set_up(api, 1, ["backup_codes"])
    first = start_recovery(api, user.username)
    execute(api, first, [first.approve(codes, code=0)])
    second = start_recovery(api, user.username)
    assert "codes_remaining" not in second.start["guardians"][0]  # the owner's to know
    result = execute(api, second, [second.approve(codes, code=1)])
    assert result["status"] == "complete"


# Rejections: each changes nothing -----------------------------------------------------------


TwoOfThree = tuple[User, list[Guardian]]


@pytest.fixture
def two_of_three(api: Api) -> TwoOfThree:
    return set_up(api, 2, ["passphrase", "recovery_code", "backup_codes"])


def refused_execute(
    api: Api, server: LiveServer, body: dict[str, object], *, status: int = 400, code: str
) -> dict[str, object]:
    before = snapshot(server.database)
    error = api.refused("POST", "/api/recovery/execute", body, status=status, code=code)
    assert snapshot(server.database) == before, "a refused recovery changed the database"
    return error


def test_replayed_recovery_is_refused(
    api: Api, server: LiveServer, two_of_three: TwoOfThree
) -> None:
    user, (passphrase, code, _) = two_of_three
    recovery = start_recovery(api, user.username)
    body = recovery.execute_body([recovery.approve(passphrase), recovery.approve(code)])
    api.call("POST", "/api/recovery/execute", body)
    error = refused_execute(api, server, body, code="challenge_used")
    assert error["message"] == "This recovery was already used: start again."


def test_approvals_signed_for_another_account_are_refused(
    api: Api, server: LiveServer, two_of_three: TwoOfThree
) -> None:
    user, (passphrase, code, _) = two_of_three
    other, (_, other_code) = set_up(api, 2, ["passphrase", "recovery_code"])
    recovery = start_recovery(api, user.username)
    # The other account's guardians, signing this very request: wrong keys.
    body = recovery.execute_body(
        [
            recovery.approve(passphrase),
            {**recovery.approve(other_code), "guardian_id": code.id},
        ]
    )
    error = refused_execute(api, server, body, code="approval_invalid")
    assert error == {
        "code": "approval_invalid",
        "message": "That recovery code is not right.",
        "guardian_id": code.id,
    }
    # This account's own guardian, signing a request that names the other account.
    body = recovery.execute_body(
        [recovery.approve(passphrase, account=other.account), recovery.approve(code)]
    )
    error = refused_execute(api, server, body, code="approval_invalid")
    assert error["message"] == "That passphrase is not right."


def test_approvals_signed_for_another_new_passkey_are_refused(
    api: Api, server: LiveServer, two_of_three: TwoOfThree
) -> None:
    user, (passphrase, code, _) = two_of_three
    recovery = start_recovery(api, user.username)
    attacker = start_recovery(api, user.username)  # same recovery, another new passkey
    approvals = [recovery.approve(passphrase), recovery.approve(code)]
    swapped = {**recovery.execute_body(approvals), "credential": attacker.registration}
    refused_execute(api, server, swapped, code="verification_failed")  # other challenge
    # Registered for this recovery, but not the passkey the guardians approved.
    approvals = [recovery.approve(passphrase), recovery.approve(code)]
    recovery.registration = recovery.device.create(recovery.start["registration"]["options"])
    refused_execute(api, server, recovery.execute_body(approvals), code="approval_invalid")


def test_the_same_guardian_counts_once(
    api: Api, server: LiveServer, two_of_three: TwoOfThree
) -> None:
    user, (passphrase, _, codes) = two_of_three
    recovery = start_recovery(api, user.username)
    twice = recovery.execute_body([recovery.approve(passphrase), recovery.approve(passphrase)])
    error = refused_execute(api, server, twice, code="duplicate_guardian")
    assert error["guardian_id"] == passphrase.id
    two_codes = recovery.execute_body(
        [recovery.approve(codes, code=0), recovery.approve(codes, code=1)]
    )
    refused_execute(api, server, two_codes, code="duplicate_guardian")


def test_too_few_approvals_are_refused(
    api: Api, server: LiveServer, two_of_three: TwoOfThree
) -> None:
    user, (passphrase, _, _) = two_of_three
    recovery = start_recovery(api, user.username)
    error = refused_execute(
        api,
        server,
        recovery.execute_body([recovery.approve(passphrase)]),
        code="not_enough_approvals",
    )
    assert error["message"] == "1 of the 2 approvals this account needs were sent."


def test_a_used_backup_code_is_refused(api: Api, server: LiveServer) -> None:
    user, (codes,) = set_up(api, 1, ["backup_codes"])
    first = start_recovery(api, user.username)
    execute(api, first, [first.approve(codes, code=4)])
    second = start_recovery(api, user.username)
    error = refused_execute(
        api, server, second.execute_body([second.approve(codes, code=4)]), code="approval_invalid"
    )
    assert error["message"] == "That backup code is not right, or it was already used."


def test_unknown_guardians_and_recoveries_are_refused(
    api: Api, server: LiveServer, two_of_three: TwoOfThree
) -> None:
    user, (passphrase, code, _) = two_of_three
    recovery = start_recovery(api, user.username)
    approvals = [recovery.approve(passphrase), {**recovery.approve(code), "guardian_id": "nope"}]
    refused_execute(api, server, recovery.execute_body(approvals), code="unknown_guardian")
    body = {**recovery.execute_body(approvals[:1]), "recovery_id": "no-such-recovery"}
    refused_execute(api, server, body, code="unknown_recovery")


def test_a_signature_where_an_assertion_belongs_is_refused(api: Api, server: LiveServer) -> None:
    user, (passphrase, passkey) = set_up(api, 1, ["passphrase", "passkey"])
    recovery = start_recovery(api, user.username)
    wrong_form = {**recovery.approve(passphrase), "guardian_id": passkey.id}
    error = refused_execute(api, server, recovery.execute_body([wrong_form]), code="invalid_body")
    assert "passkey guardian" in str(error["message"])


def test_a_passkey_that_is_not_the_guardian_is_refused(api: Api, server: LiveServer) -> None:
    user, (passkey,) = set_up(api, 1, ["passkey"])
    recovery = start_recovery(api, user.username)
    # The account's own sign-in passkey answers instead of the guardian key.
    options = {"challenge": b64(b"\0" * 32), "rpId": "localhost"}
    assertion = user.device.get(options)
    approval = {"guardian_id": passkey.id, "assertion": assertion}
    error = refused_execute(api, server, recovery.execute_body([approval]), code="approval_invalid")
    assert error["message"] == "That passkey is not a guardian of this account."
    # The guardian key, but over another challenge.
    assert passkey.device is not None
    stale = {"guardian_id": passkey.id, "assertion": passkey.device.get(options)}
    refused_execute(api, server, recovery.execute_body([stale]), code="approval_invalid")


def test_a_bad_new_passkey_is_refused(
    api: Api, server: LiveServer, two_of_three: TwoOfThree
) -> None:
    user, (passphrase, code, _) = two_of_three
    elsewhere = start_recovery(api, user.username, origin="https://evil.example")
    approvals = [elsewhere.approve(passphrase), elsewhere.approve(code)]
    error = refused_execute(
        api, server, elsewhere.execute_body(approvals), code="verification_failed"
    )
    assert "evil.example" in str(error["message"])
    unverified = start_recovery(api, user.username, user_verified=False)
    approvals = [unverified.approve(passphrase), unverified.approve(code)]
    refused_execute(api, server, unverified.execute_body(approvals), code="verification_failed")
    lying = start_recovery(api, user.username, publish_public_key=b"\x30" * 91)
    approvals = [lying.approve(passphrase), lying.approve(code)]
    refused_execute(api, server, lying.execute_body(approvals), code="new_credential_mismatch")


def test_a_refused_recovery_is_audited_and_leaves_the_owner_signed_in(
    api: Api, server: LiveServer, two_of_three: TwoOfThree
) -> None:
    user, (passphrase, code, _) = two_of_three
    recovery = start_recovery(api, user.username)
    body = recovery.execute_body(
        [recovery.approve(passphrase), {**recovery.approve(passphrase), "guardian_id": code.id}]
    )
    refused_execute(api, server, body, code="approval_invalid")
    api.call("GET", "/api/session", session=user.session)
    assert sign_in(api, user.device).status_code == 200
    events = api.call("GET", "/api/audit", session=user.session)["events"]
    failed = [event for event in events if event["kind"] == "recovery_failed"]
    assert failed[0]["detail"] == {
        "recovery_id": recovery.reference,  # never the id itself: that is a bearer secret
        "guardians": [passphrase.id, code.id],
        "reason": "approval_invalid",
    }
    # The recovery itself is still open: the right approvals go through.
    result = execute(api, recovery, [recovery.approve(passphrase), recovery.approve(code)])
    assert result["status"] == "complete"


def test_a_change_of_guardians_voids_started_recoveries(
    api: Api, server: LiveServer, two_of_three: TwoOfThree
) -> None:
    user, guardians = two_of_three
    recovery = start_recovery(api, user.username)
    save_guardians(api, user, 1, guardians[:1])
    body = recovery.execute_body([recovery.approve(guardians[0]), recovery.approve(guardians[1])])
    refused_execute(api, server, body, status=409, code="guardians_changed")


# Checking one approval ----------------------------------------------------------------------


def test_check_says_which_approvals_count_and_consumes_nothing(
    api: Api, server: LiveServer
) -> None:
    user, guardians = set_up(api, 2, list(MAKERS))
    recovery = start_recovery(api, user.username)
    new_credential = recovery.new_credential_json()
    before = snapshot(server.database)
    for guardian in guardians:
        body = {
            "recovery_id": recovery.id,
            "new_credential": new_credential,
            "approval": recovery.approve(guardian),
        }
        assert api.call("POST", "/api/recovery/check", body) == {
            "ok": True,
            "guardian_id": guardian.id,
        }
    for guardian, sentence in zip(
        guardians,
        [
            "That passphrase is not right.",
            "That recovery code is not right.",
            "That backup code is not right, or it was already used.",
            "That passkey is not a guardian of this account.",
        ],
        strict=True,
    ):
        wrong = recovery.approve(guardian, account="someone-else")
        body = {"recovery_id": recovery.id, "new_credential": new_credential, "approval": wrong}
        error = api.refused(
            "POST", "/api/recovery/check", body, status=400, code="approval_invalid"
        )
        assert error["message"] == sentence
    assert snapshot(server.database) == before
    result = execute(api, recovery, [recovery.approve(g, code=1) for g in guardians[2:]])
    assert result["status"] == "complete"


def test_the_recovery_id_is_kept_only_as_a_hash(api: Api, server: LiveServer) -> None:
    """It is a bearer secret (complete hands a session to whoever holds it), so no table,
    audit event or answer to the owner holds it: only its reference."""
    user, (codes,) = set_up(api, 1, ["backup_codes"])
    recovery = start_recovery(api, user.username)
    refused = recovery.execute_body([{"guardian_id": codes.id, "signature": "A" * 86}])
    api.refused("POST", "/api/recovery/execute", refused, status=400, code="approval_invalid")
    result = execute(api, recovery, [recovery.approve(codes, code=2)])
    dump = "\n".join(sqlite3.connect(server.database).iterdump())
    assert recovery.id not in dump
    assert recovery.reference in dump  # the recovery, its burnt code, its audit events
    audit = api.call("GET", "/api/audit", session=str(result["session"]))
    assert recovery.id not in json.dumps(audit)

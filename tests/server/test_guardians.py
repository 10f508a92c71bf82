"""Reading and replacing guardians: only with a fresh assertion over the exact configuration,
only valid configurations, and server state (used backup codes, created_at) kept."""

from __future__ import annotations

from typing import Any

import pytest

from tests.server.helpers import (
    Api,
    backup_codes_guardian,
    confirm_change,
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


def test_owner_reads_what_was_saved(api: Api) -> None:
    user = register(api)
    empty = api.call("GET", "/api/account", session=user.session)
    assert empty["threshold"] == 0
    assert empty["guardians"] == []
    assert empty["passkeys"] == [
        {"id": user.passkey, "created_at": empty["passkeys"][0]["created_at"], "last_used_at": None}
    ]
    guardians = [
        passphrase_guardian(user),
        backup_codes_guardian(user),
        passkey_guardian(api, user),
    ]
    saved = save_guardians(api, user, 2, guardians)
    account = api.call("GET", "/api/account", session=user.session)
    assert account["threshold"] == saved["threshold"] == 2
    assert account["guardians"] == saved["guardians"]
    for entry, guardian in zip(account["guardians"], guardians, strict=True):
        extra = {"created_at": entry["created_at"]}
        if guardian.kind == "backup_codes":
            extra["codes_remaining"] = 10
        assert entry == {**guardian.entry, **extra}
    events = api.call("GET", "/api/audit", session=user.session)["events"]
    assert events[0]["kind"] == "guardians_changed"
    assert events[0]["detail"]["threshold"] == 2


def test_unchanged_guardians_keep_their_used_codes_and_dates(api: Api) -> None:
    user = register(api)
    codes, passphrase = backup_codes_guardian(user), passphrase_guardian(user)
    save_guardians(api, user, 1, [codes, passphrase])
    recovery = start_recovery(api, user.username)
    session = str(execute(api, recovery, [recovery.approve(codes, code=2)])["session"])
    user.session, user.device = session, recovery.device
    before = {g["id"]: g for g in api.call("GET", "/api/account", session=session)["guardians"]}
    codes.entry["label"] = "Codes in the drawer"
    fresh_passphrase = passphrase_guardian(user, "another passphrase entirely")
    fresh_passphrase.entry["id"] = passphrase.id  # same id, new key: a new guardian
    saved = save_guardians(api, user, 2, [fresh_passphrase, codes])
    after = {g["id"]: g for g in saved["guardians"]}
    assert after[codes.id]["codes_remaining"] == 9
    assert after[codes.id]["label"] == "Codes in the drawer"
    assert after[codes.id]["created_at"] == before[codes.id]["created_at"]
    assert after[passphrase.id]["public_key"] == fresh_passphrase.entry["public_key"]
    # The used code stays used: a recovery with it is refused.
    again = start_recovery(api, user.username)
    body = again.execute_body([again.approve(codes, code=2), again.approve(fresh_passphrase)])
    api.refused("POST", "/api/recovery/execute", body, status=400, code="approval_invalid")


def test_zero_guardians_removes_them_all(api: Api) -> None:
    user = register(api)
    save_guardians(api, user, 1, [recovery_code_guardian(user)])
    assert save_guardians(api, user, 0, []) == {"threshold": 0, "guardians": []}
    start = api.call("POST", "/api/recovery/start", {"username": user.username})
    assert start["account"] != user.account  # a decoy now


def put(api: Api, user: Any, body: dict[str, Any], *, status: int = 400, code: str) -> str:
    error = api.refused(
        "PUT", "/api/guardians", body, session=user.session, status=status, code=code
    )
    return str(error["message"])


def test_a_change_needs_a_fresh_assertion_over_the_exact_config(
    api: Api, server: LiveServer
) -> None:
    user = register(api)
    guardian = passphrase_guardian(user)
    config = {"threshold": 1, "guardians": [guardian.entry]}
    before = snapshot(server.database)

    body = confirm_change(api, user, config)
    no_assertion = {key: value for key, value in body.items() if key != "assertion"}
    assert "assertion" in put(api, user, no_assertion, code="invalid_body")

    other_config = {"threshold": 1, "guardians": [passphrase_guardian(user).entry]}
    assert "passkey signature was not accepted" in put(
        api, user, {**body, "config": other_config}, code="verification_failed"
    )

    api.call("PUT", "/api/guardians", body, session=user.session)
    after_first = snapshot(server.database)
    assert after_first != before
    # Replaying the confirmed change (an old confirmation) is refused.
    assert put(api, user, body, code="challenge_used") == (
        "This challenge was already used: start again."
    )
    assert snapshot(server.database) == after_first


def test_a_change_is_confirmed_by_this_accounts_sign_in_passkey(api: Api) -> None:
    user, other = register(api), register(api)
    config = {"threshold": 1, "guardians": [passphrase_guardian(user).entry]}
    body = confirm_change(api, user, config)
    # Another account's challenge, or another account's passkey: refused.
    other_body = confirm_change(api, other, config)
    assert "another account" in put(
        api, user, {**body, "challenge_id": other_body["challenge_id"]}, code="invalid_challenge"
    )
    assert "this account's sign-in passkeys" in put(
        api, user, {**body, "assertion": other_body["assertion"]}, code="unknown_credential"
    )
    api.refused("PUT", "/api/guardians", body, status=401, code="unauthorized")
    api.call("PUT", "/api/guardians", body, session=user.session)


def test_a_guardian_passkey_confirms_nothing_and_never_signs_in(api: Api) -> None:
    user = register(api)
    guardian = passkey_guardian(api, user)
    assert guardian.device is not None
    options = api.call("POST", "/api/guardians/options", {}, session=user.session)
    assert [c["id"] for c in options["options"]["allowCredentials"]] == [user.passkey]
    response = sign_in(api, guardian.device)
    assert response.json()["error"]["code"] == "not_a_signin_passkey"
    config = {"threshold": 1, "guardians": [guardian.entry]}
    body = confirm_change(api, user, config)
    guardian_assertion = guardian.device.get({"challenge": b64(b"x" * 32), "rpId": "localhost"})
    forged = {**body, "assertion": guardian_assertion}
    put(api, user, forged, code="unknown_credential")
    creation = api.call("POST", "/api/guardians/passkey/options", {}, session=user.session)
    excluded = {c["id"] for c in creation["options"]["excludeCredentials"]}
    assert excluded == {user.passkey, guardian.entry["credential_id"]}
    # Discoverable (a recovery does not name it), under a user handle of its own.
    assert creation["options"]["authenticatorSelection"]["residentKey"] == "required"
    assert creation["options"]["user"]["id"] != user.account
    assert creation["options"]["user"]["name"] == f"{user.username} (recovery)"


def with_kdf(entry: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**entry, "kdf": {**entry["kdf"], **changes}}


@pytest.mark.parametrize(
    ("mutate", "code", "message"),
    [
        (lambda g, p: {"threshold": 3, "guardians": [g]}, "invalid_guardians",
         "threshold is 3, expected between 1 and 1 (the guardians)"),
        (lambda g, p: {"threshold": 0, "guardians": [g]}, "invalid_guardians",
         "threshold is 0, expected between 1 and 1 (the guardians)"),
        (lambda g, p: {"threshold": 1, "guardians": []}, "invalid_guardians",
         "threshold is 1 with no guardians, expected 0"),
        (lambda g, p: {"threshold": 1, "guardians": [g, g]}, "invalid_guardians",
         'guardians[1].id "GID" is used twice'),
        (lambda g, p: {"threshold": 1, "guardians": [{**g, "salt": "AAAA"}]}, "invalid_body",
         "Invalid request body at $.config.guardians[0].salt: 'AAAA' does not match"),
        (lambda g, p: {"threshold": 1, "guardians": [{**g, "public_key": b64(b"k" * 31)}]},
         "invalid_body", "Invalid request body at $.config.guardians[0].public_key"),
        (lambda g, p: {"threshold": 1, "guardians": [{**g, "public_key": "_" * 43}]},
         "invalid_guardians", "not the canonical base64url of any bytes"),
        (lambda g, p: {"threshold": 1, "guardians": [with_kdf(g, memory_kib=1024)]},
         "invalid_guardians",
         "guardians[0].kdf: Argon2id memory_kib is 1024, vouch requires at least 19456"),
        (lambda g, p: {"threshold": 1, "guardians": [with_kdf(g, algorithm="scrypt")]},
         "invalid_guardians", "guardians[0].kdf: KDF algorithm is 'scrypt', expected 'argon2id'"),
        (lambda g, p: {"threshold": 1, "guardians": [{k: v for k, v in g.items() if k != "kdf"}]},
         "invalid_guardians", "guardians[0] (passphrase) is missing kdf"),
        (lambda g, p: {"threshold": 1, "guardians": [{**g, "credential_id": "abc"}]},
         "invalid_guardians", "guardians[0] (passphrase) has unexpected field credential_id"),
        (lambda g, p: {"threshold": 1, "guardians": [{**g, "label": " "}]},
         "invalid_guardians", "guardians[0].label is empty"),
        (lambda g, p: {"threshold": 1, "guardians": [{**g, "id": "no spaces"}]},
         "invalid_body", "Invalid request body at $.config.guardians[0].id"),
        (lambda g, p: {"threshold": 1, "guardians": [{**g, "extra": 1}]},
         "invalid_body", "Additional properties are not allowed ('extra' was unexpected)"),
        (lambda g, p: {"threshold": 1, "guardians": [
            {"id": "pk", "kind": "passkey", "label": "Key", "credential_id": p}]},
         "invalid_guardians", "guardians[0].credential_id is not a guardian passkey of this"),
        (lambda g, p: {"threshold": 1, "guardians": [g] * 17}, "invalid_body",
         "Invalid request body at $.config.guardians"),
    ],
)  # fmt: skip
def test_invalid_configurations_are_refused_with_a_reason(
    api: Api, server: LiveServer, mutate: Any, code: str, message: str
) -> None:
    user = register(api)
    guardian = passphrase_guardian(user)
    config = mutate(guardian.entry, user.passkey)  # the sign-in passkey is no guardian
    before = snapshot(server.database)
    body = confirm_change(api, user, config)
    text = put(api, user, body, code=code)
    assert message.replace("GID", guardian.id) in text
    assert snapshot(server.database)["guardians"] == before["guardians"]


def test_backup_codes_need_ten_distinct_keys(api: Api) -> None:
    user = register(api)
    codes = backup_codes_guardian(user)
    keys = codes.entry["public_keys"]
    for public_keys, message in [
        (keys[:9], "Invalid request body at $.config.guardians[0].public_keys"),
        ([keys[0]] * 10, "guardians[0].public_keys has the same key twice"),
    ]:
        config = {"threshold": 1, "guardians": [{**codes.entry, "public_keys": public_keys}]}
        assert message in put(
            api,
            user,
            confirm_change(api, user, config),
            code=("invalid_body" if len(public_keys) != 10 else "invalid_guardians"),
        )


def test_signed_out_requests_are_refused(api: Api) -> None:
    for method, path, body in [
        ("GET", "/api/account", None),
        ("GET", "/api/audit", None),
        ("POST", "/api/guardians/options", {}),
        ("POST", "/api/guardians/passkey/options", {}),
        ("POST", "/api/recovery/cancel", {"recovery_id": "r"}),
    ]:
        api.refused(method, path, body, status=401, code="unauthorized")
        api.refused(method, path, body, session="not-a-session", status=401, code="unauthorized")

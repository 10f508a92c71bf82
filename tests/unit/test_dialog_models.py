"""The dialog's pure parts on CPython: account model, recovery flow, embed checks, kit."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import time
from typing import Any

import pytest

from vouch.core import codes
from vouch.core.b64url import b64url_decode, b64url_encode
from vouch.core.errors import InvalidCode
from vouch.core.kdf import Argon2Params
from vouch.crypto.provider import Provider
from vouch.dialog.embed import EmbedRefused, check_host, normalize_origin, parse_launch
from vouch.dialog.guardian_setup import AccountModel, config_entry
from vouch.dialog.kinds import backup_codes, passkey, passphrase, recovery_code
from vouch.dialog.recovery_flow import RecoveryFlow

CHEAP = Argon2Params(memory_kib=19 * 1024, iterations=2, lanes=1)


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def test_each_change_is_a_whole_configuration_and_the_default_threshold_is_one() -> None:
    empty = AccountModel.from_account(
        {"account": "acc", "username": "alice", "guardians": [], "threshold": 0}
    )
    assert empty.recovery_status().startswith("Recovery is not set up")
    first, second = passkey.build_entry("cred-1", label="Key"), passkey.build_entry("c2", label="K")
    assert empty.adding([first]) == {"threshold": 1, "guardians": [config_entry(first)]}
    # Two at once (the recommended pair): either is enough, so one lost is not a lockout.
    assert empty.adding([first, second])["threshold"] == 1
    model = AccountModel.from_account(
        {"account": "acc", "username": "alice", "guardians": [first, second], "threshold": 2}
    )
    third = passkey.build_entry("c3", label="K3")
    assert model.adding([third])["threshold"] == 2  # adding never changes a chosen threshold
    assert model.removing(first["id"]) == {"threshold": 1, "guardians": [config_entry(second)]}
    assert model.with_threshold(1)["threshold"] == 1
    with pytest.raises(ValueError, match=re.escape("Choose between 1 and 2 approvals.")):
        model.with_threshold(3)
    assert model.guardians == (first, second)  # the saved state is never edited in place


def test_a_guardian_with_a_saved_id_replaces_it_in_place() -> None:
    codes_entry = {"id": "g1", "kind": "passkey", "label": "Key", "credential_id": "a"}
    other = {"id": "g2", "kind": "passkey", "label": "Other", "credential_id": "b"}
    model = AccountModel.from_account(
        {"account": "a", "username": "bob", "guardians": [codes_entry, other], "threshold": 1}
    )
    renewed = {**codes_entry, "credential_id": "c"}
    assert model.adding([renewed])["guardians"] == [renewed, other]


def test_saved_guardians_are_signed_without_their_server_fields() -> None:
    saved = {
        "id": "g1",
        "kind": "passkey",
        "label": "Key",
        "credential_id": "abc",
        "created_at": 1_700_000_000,
    }
    model = AccountModel.from_account(
        {"account": "a", "username": "bob", "guardians": [saved], "threshold": 1}
    )
    assert model.config() == {"threshold": 1, "guardians": [config_entry(saved)]}
    assert "created_at" not in model.config()["guardians"][0]
    assert model.recovery_status() == "1 of 1 guardian needed to recover this account."
    assert model.default_label("passkey") == "Second passkey 2"


def _start(guardians: list[dict[str, Any]], threshold: int) -> dict[str, Any]:
    return {
        "recovery_id": "r1",
        "account": "account-1",
        "username": "alice",
        "challenge": b64url_encode(bytes(range(32))),
        "expires": int(time.time()) + 300,
        "rp_id": "localhost",
        "threshold": threshold,
        "guardians": guardians,
    }


def _credential() -> dict[str, Any]:
    return {
        "id": b64url_encode(b"new-credential"),
        "rawId": b64url_encode(b"new-credential"),
        "type": "public-key",
        "response": {"publicKey": b64url_encode(b"spki-der-bytes")},
    }


def test_recovery_signatures_verify_against_the_keys_set_up_in_the_page(
    provider: Provider,
) -> None:
    """What the account screen stores is what the recovery screens sign with."""
    code = codes.new_recovery_code()
    backup = codes.new_backup_codes(3)

    async def scenario() -> None:
        recovery = await recovery_code.build_entry(
            provider, code, account="account-1", label="Code"
        )
        backups = await backup_codes.build_entry(
            provider, backup, account="account-1", label="Backup"
        )
        public = [{k: v for k, v in g.items() if k not in ("public_key", "public_keys")}
                  for g in (recovery, backups)]  # fmt: skip
        flow = RecoveryFlow(start=_start(public, 2), credential=_credential())
        assert flow.new_credential_json()["public_key_sha256"] == b64url_encode(
            hashlib.sha256(b"spki-der-bytes").digest()
        )
        message = flow.message()
        account = flow.account
        approval = await recovery_code.approval(
            provider, public[0], code.lower(), message, account=account
        )
        assert await provider.ed25519_verify(
            b64url_decode(recovery["public_key"]), message, b64url_decode(approval["signature"])
        )
        approval = await backup_codes.approval(
            provider, public[1], backup[1], message, account=account
        )
        assert await provider.ed25519_verify(
            b64url_decode(backups["public_keys"][1]), message, b64url_decode(approval["signature"])
        )
        flow.record(approval)
        assert flow.progress_text() == "1 more approval needed."
        typo = backup[0][:-1] + ("0" if backup[0][-1] != "0" else "1")
        with pytest.raises(InvalidCode, match=r"^The last character of group 3 looks wrong\.$"):
            await backup_codes.approval(provider, public[1], typo, message, account=account)

    run(scenario())


def test_passphrase_guardian_round_trip(provider: Provider) -> None:
    async def scenario() -> None:
        guardian = await passphrase.build_entry(
            provider,
            " correct horse battery staple ",
            account="account-1",
            label="Phrase",
            params=CHEAP,
        )
        assert guardian["kdf"] == CHEAP.to_dict()
        public = {k: v for k, v in guardian.items() if k != "public_key"}
        flow = RecoveryFlow(start=_start([public], 1), credential=_credential())
        message, account = flow.message(), flow.account
        approval = await passphrase.approval(
            provider, public, "correct horse battery staple", message, account=account
        )
        assert await provider.ed25519_verify(
            b64url_decode(guardian["public_key"]),
            flow.message(),
            b64url_decode(approval["signature"]),
        )
        wrong = await passphrase.approval(
            provider, public, "correct horse battery stable", message, account=account
        )
        assert wrong["signature"] != approval["signature"]

    run(scenario())


def test_passkey_guardian_options_sign_the_message_hash() -> None:
    guardian = {"id": "g", "kind": "passkey", "label": "Key", "credential_id": "Y3JlZA"}
    flow = RecoveryFlow(start=_start([guardian], 1), credential=_credential())
    options = passkey.request_options(guardian, flow.message(), rp_id=flow.rp_id)
    assert (
        base64.urlsafe_b64decode(options["challenge"] + "=")
        == hashlib.sha256(flow.message()).digest()
    )
    assert options["allowCredentials"] == []  # discoverable: no ID is known
    assert options["userVerification"] == "required"


def test_flow_refuses_to_sign_before_the_new_passkey_exists() -> None:
    flow = RecoveryFlow(start=_start([], 1))
    with pytest.raises(ValueError, match=re.escape("Create the new passkey first.")):
        flow.message()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://Example.com", "https://example.com"),
        ("http://localhost:8080", "http://localhost:8080"),
        ("https://example.com/", "https://example.com"),
        ("https://example.com/path", None),
        ("javascript:alert(1)", None),
        ("https://user@example.com", None),
        ("example.com", None),
    ],
)
def test_normalize_origin(text: str, expected: str | None) -> None:
    assert normalize_origin(text) == expected


def test_launch_parameters_and_host_checks() -> None:
    direct = parse_launch({})
    assert not direct.embedded
    assert direct.mode == "signin"
    check_host(direct, [], "http://dialog", None)

    launch = parse_launch(
        {"mode": "recover", "origin": "https://host.test", "display": "iframe", "nonce": "n" * 12}
    )
    assert launch.mode == "recover"
    check_host(launch, ["https://host.test"], "http://dialog", "https://host.test")
    with pytest.raises(EmbedRefused, match=re.escape("https://host.test is not allowed")):
        check_host(launch, [], "http://dialog", None)
    with pytest.raises(
        EmbedRefused, match=re.escape("framed by https://evil.test, not https://host.test")
    ):
        check_host(launch, ["https://host.test"], "http://dialog", "https://evil.test")
    with pytest.raises(EmbedRefused, match="only be framed through the vouch SDK"):
        check_host(direct, [], "http://dialog", "https://evil.test")
    with pytest.raises(EmbedRefused, match="valid nonce"):
        parse_launch({"origin": "https://host.test", "display": "popup", "nonce": "x"})
    with pytest.raises(EmbedRefused, match="not one"):
        parse_launch({"origin": "https://host.test/x", "display": "popup", "nonce": "n" * 12})


def test_only_an_embedded_account_launch_waits_for_a_session_from_the_sdk() -> None:
    base = {"origin": "https://host.example", "display": "iframe", "nonce": "abcdefghij"}
    assert parse_launch({**base, "mode": "account", "resume": "1"}).resume
    assert not parse_launch({**base, "mode": "signin", "resume": "1"}).resume
    assert not parse_launch({**base, "mode": "account"}).resume
    assert not parse_launch({"mode": "account", "resume": "1"}).resume  # opened directly

"""The dialog's guardian kinds on CPython: the registry, the pure builders and approvals.

What the account screen builds is what the server stores and what the recovery screen
signs with: each entry has exactly its kind's signed fields, and each approval verifies
against the entry's public key over the message the server will check.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from typing import Any

import pytest

from vouch.core import codes
from vouch.core.b64url import b64url_decode, b64url_encode
from vouch.core.kdf import Argon2Params
from vouch.core.kinds import KINDS, PASSKEY, Proof
from vouch.core.messages import verify_guardian_signature
from vouch.crypto.provider import Provider
from vouch.dialog.kinds import (
    REGISTRY,
    backup_codes,
    contact,
    email,
    oidc,
    passkey,
    passphrase,
    recovery_code,
)
from vouch.dialog.kinds.base import new_entry
from vouch.dialog.recovery_flow import RecoveryFlow

CHEAP = Argon2Params(memory_kib=19 * 1024, iterations=2, lanes=1)
ACCOUNT = "account-1"
PASSPHRASE = "quartz lantern orbit meadow"


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def flow_for(guardians: list[dict[str, Any]], account: str = ACCOUNT) -> RecoveryFlow:
    start = {
        "recovery_id": "r1",
        "account": account,
        "username": "alice",
        "challenge": b64url_encode(bytes(range(32))),
        "expires": int(time.time()) + 300,
        "rp_id": "localhost",
        "threshold": 1,
        "guardians": guardians,
    }
    credential = {
        "rawId": b64url_encode(b"new-credential"),
        "response": {"publicKey": b64url_encode(b"spki-der-bytes")},
    }
    return RecoveryFlow(start=start, credential=credential)


def public(entry: dict[str, Any]) -> dict[str, Any]:
    """What a recovering user is shown of an entry: never its public key."""
    return {k: v for k, v in entry.items() if k not in ("public_key", "public_keys")}


def test_the_registry_offers_every_kind_in_the_order_of_core_kinds() -> None:
    assert list(REGISTRY) == list(KINDS)
    assert [d.kind for d in REGISTRY.values()] == list(KINDS.values())
    assert [d.add_text for d in REGISTRY.values()] == [
        "Add passphrase",
        "Add recovery code",
        "Add backup codes",
        "Add second passkey",
        "Link account",  # drawn as one button per provider ("Link Google account")
        "Add email guardian",  # drawn once the account has a verified address
        "Add trusted contact",
    ]
    for words in ("add_text", "use_text", "ask_for"):
        texts = [getattr(d, words) for d in REGISTRY.values()]
        assert len(set(texts)) == len(texts), f"two kinds share their {words}"


def test_a_choice_names_the_label_only_when_it_says_more_than_the_kind() -> None:
    words = REGISTRY[PASSKEY.name]
    assert words.choice_text({"label": "Second passkey"}) == "Use other passkey"
    assert words.choice_text({"label": "YubiKey"}) == "Use other passkey (YubiKey)"


def test_every_entry_has_exactly_its_kinds_fields(provider: Provider) -> None:
    async def build() -> list[dict[str, Any]]:
        return [
            await passphrase.build_entry(
                provider, PASSPHRASE, account=ACCOUNT, label="P", params=CHEAP
            ),
            await recovery_code.build_entry(
                provider, codes.new_recovery_code(), account=ACCOUNT, label="R"
            ),
            await backup_codes.build_entry(
                provider, codes.new_backup_codes(), account=ACCOUNT, label="B"
            ),
            passkey.build_entry("Y3JlZA", label="K"),
            oidc.build_entry("google", label="G"),
            email.build_entry("a@example.com", label="E"),
            contact.build_entry("acct-bob", label="C"),
        ]

    entries = run(build())
    assert [entry["kind"] for entry in entries] == list(KINDS)
    for entry in entries:
        assert tuple(entry) == KINDS[entry["kind"]].entry_fields
    assert entries[0]["kdf"] == CHEAP.to_dict()
    assert len(entries[2]["public_keys"]) == 10
    assert len({entry["id"] for entry in entries}) == 7


def test_an_entry_with_other_fields_than_its_kinds_is_refused() -> None:
    with pytest.raises(ValueError, match=r"expected \('id', 'kind', 'label', 'credential_id'\)"):
        new_entry(PASSKEY, label="K", credential_id="x", public_key="y")


def test_a_passphrase_approval_verifies_against_the_entry(provider: Provider) -> None:
    async def scenario() -> None:
        entry = await passphrase.build_entry(
            provider, f"  {PASSPHRASE} ", account=ACCOUNT, label="P", params=CHEAP
        )
        flow = flow_for([public(entry)])
        message = flow.message()
        approval = await passphrase.approval(
            provider, public(entry), PASSPHRASE, message, account=flow.account
        )
        assert set(approval) == {"guardian_id", Proof.SIGNATURE.value}
        assert approval["guardian_id"] == entry["id"]
        key = b64url_decode(entry["public_key"])
        signature = b64url_decode(approval["signature"])
        assert await verify_guardian_signature(provider, key, message, signature)
        assert not await verify_guardian_signature(provider, key, message + b"x", signature)
        wrong = await passphrase.approval(
            provider, public(entry), PASSPHRASE + "!", message, account=flow.account
        )
        wrong_signature = b64url_decode(wrong["signature"])
        assert not await verify_guardian_signature(provider, key, message, wrong_signature)

    run(scenario())


def test_code_approvals_verify_and_are_bound_to_the_account(provider: Provider) -> None:
    code = codes.new_recovery_code()
    made = codes.new_backup_codes(3)

    async def scenario() -> None:
        single = await recovery_code.build_entry(provider, code, account=ACCOUNT, label="R")
        several = await backup_codes.build_entry(provider, made, account=ACCOUNT, label="B")
        flow = flow_for([public(single), public(several)])
        message = flow.message()
        approval = await recovery_code.approval(
            provider, public(single), code.lower().replace("-", " "), message, account=ACCOUNT
        )
        key = b64url_decode(single["public_key"])
        assert await verify_guardian_signature(
            provider, key, message, b64url_decode(approval["signature"])
        )
        for index, backup in enumerate(made):
            approval = await backup_codes.approval(
                provider, public(several), backup, message, account=ACCOUNT
            )
            key = b64url_decode(several["public_keys"][index])
            assert await verify_guardian_signature(
                provider, key, message, b64url_decode(approval["signature"])
            )
        # The same code for another account is another key (HKDF info names the account).
        other = await recovery_code.approval(
            provider, public(single), code, message, account="account-2"
        )
        key = b64url_decode(single["public_key"])
        assert not await verify_guardian_signature(
            provider, key, message, b64url_decode(other["signature"])
        )

    run(scenario())


def test_a_derived_key_is_the_entrys_key(provider: Provider) -> None:
    made = codes.new_backup_codes(2)

    async def scenario() -> None:
        entry = await backup_codes.build_entry(provider, made, account=ACCOUNT, label="B")
        key = await backup_codes.derive_key(provider, public(entry), made[1], account=ACCOUNT)
        assert b64url_encode(key.public_key) == entry["public_keys"][1]

    run(scenario())


def test_passkey_request_options_sign_the_message_hash() -> None:
    entry = passkey.build_entry("Y3JlZA", label="Key")
    flow = flow_for([entry])
    options = passkey.request_options(entry, flow.message(), rp_id=flow.rp_id)
    assert b64url_decode(options["challenge"]) == hashlib.sha256(flow.message()).digest()
    assert options["rpId"] == "localhost"
    # The start named no credential: the authenticator offers the discoverable guardian key.
    assert options["allowCredentials"] == []
    assert options["userVerification"] == "required"
    approval = passkey.approval(entry, {"id": "Y3JlZA"})
    assert approval == {"guardian_id": entry["id"], Proof.ASSERTION.value: {"id": "Y3JlZA"}}

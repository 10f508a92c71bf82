"""Canonical messages: exact bytes, key order, Unicode, field checks, signatures."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import pytest

from vouch.core import messages
from vouch.core.errors import MalformedInput
from vouch.crypto.provider import Provider

CHALLENGE = bytes(range(32))
CREDENTIAL = messages.NewCredential(id=b"\xfb\xff\x00\x01", public_key_sha256=bytes(32))


def request(**changes: Any) -> messages.RecoveryRequest:
    fields: dict[str, Any] = {
        "account": "alice@example.com",
        "challenge": CHALLENGE,
        "expires": 1767225600,
        "rp_id": "example.com",
        "new_credential": CREDENTIAL,
    }
    fields.update(changes)
    return messages.RecoveryRequest(**fields)


def test_recovery_message_exact_bytes() -> None:
    assert messages.recovery_message(request()) == (
        b"vouch/v1/recovery\n"
        b'{"account":"alice@example.com",'
        b'"challenge":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",'
        b'"expires":1767225600,'
        b'"new_credential":{"id":"-_8AAQ",'
        b'"public_key_sha256":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},'
        b'"rp_id":"example.com"}'
    )


def test_unicode_is_utf8_not_escaped_and_quotes_are() -> None:
    message = messages.recovery_message(request(account='Zoë "Z" 🦊\u2028\x01'))
    assert b'"account":"Zo\xc3\xab \\"Z\\" \xf0\x9f\xa6\x8a\xe2\x80\xa8\\u0001"' in message


def test_unicode_is_not_normalised() -> None:
    composed = messages.recovery_message(request(account="Zoë"))
    decomposed = messages.recovery_message(request(account="Zoe\u0308"))
    assert composed != decomposed


def test_guardians_message_sorts_nested_keys() -> None:
    change = messages.GuardiansChange(
        account="alice",
        challenge=CHALLENGE,
        config={"threshold": 2, "guardians": [{"salt": "AA", "kind": "passphrase"}], "b": 1.5},
    )
    assert messages.guardians_message(change) == (
        b"vouch/v1/guardians\n"
        b'{"account":"alice","challenge":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",'
        b'"config":{"b":1.5,"guardians":[{"kind":"passphrase","salt":"AA"}],"threshold":2}}'
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"account": ""}, "account is '', expected a non-empty string"),
        ({"account": b"alice"}, "account is b'alice', expected a non-empty string"),
        ({"challenge": bytes(31)}, "challenge has 31 bytes, expected 32"),
        ({"challenge": "AAEC"}, "challenge is str, expected bytes"),
        ({"expires": True}, "expires is True, expected Unix seconds as an integer"),
        ({"expires": 1.5}, "expires is 1.5, expected Unix seconds as an integer"),
        ({"expires": -1}, "expires is -1, expected Unix seconds as an integer"),
        ({"rp_id": ""}, "rp_id is '', expected a non-empty string"),
        (
            {"new_credential": messages.NewCredential(id=b"", public_key_sha256=bytes(32))},
            "new_credential.id has 0 bytes, expected 1 to 1023",
        ),
        (
            {"new_credential": messages.NewCredential(id=b"x", public_key_sha256=bytes(20))},
            "new_credential.public_key_sha256 has 20 bytes, expected 32",
        ),
    ],
)
def test_recovery_fields_are_checked(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(MalformedInput) as caught:
        messages.recovery_message(request(**changes))
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"salt": b"raw"}, "message is not canonical JSON: unsupported type: <class 'bytes'>"),
        ({"x": float("nan")}, "message is not canonical JSON: nan is not representable in JCS"),
        ([1, 2], "config is list, expected a JSON object"),
    ],
)
def test_guardians_config_must_be_canonical_json(config: Any, message: str) -> None:
    change = messages.GuardiansChange(account="alice", challenge=CHALLENGE, config=config)
    with pytest.raises(MalformedInput) as caught:
        messages.guardians_message(change)
    assert str(caught.value) == message


def test_webauthn_challenge_is_sha256_of_the_message(provider: Provider) -> None:
    message = messages.recovery_message(request())
    challenge = messages.webauthn_challenge_for(message)
    assert challenge == hashlib.sha256(message).digest()
    assert challenge == asyncio.run(provider.sha256(message))


def test_verify_guardian_signature(provider: Provider) -> None:
    seed = bytes(range(32, 64))
    public_key = asyncio.run(provider.ed25519_public_key(seed))
    message = messages.recovery_message(request())
    signature = asyncio.run(provider.ed25519_sign(seed, message))
    verify = messages.verify_guardian_signature
    assert asyncio.run(verify(provider, public_key, message, signature)) is True
    other = messages.recovery_message(request(expires=1767225601))
    assert asyncio.run(verify(provider, public_key, other, signature)) is False
    assert asyncio.run(verify(provider, public_key, message, signature[:-1])) is False

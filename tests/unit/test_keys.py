"""Guardian key derivation: DESIGN.md's formula, policy before work, secrets kept out of repr."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from vouch.core import keys
from vouch.core.errors import MalformedInput, PolicyViolation
from vouch.core.kdf import Argon2Params
from vouch.crypto.provider import Provider

CHEAP = Argon2Params(memory_kib=19456, iterations=2, lanes=1)
SALT = bytes(range(16))
ACCOUNT = "acct_1"


class RefusingProvider:
    """Fails the test if any primitive is reached."""

    name = "refusing"

    def __getattr__(self, attribute: str) -> Any:
        raise AssertionError(f"provider.{attribute} was called")


def literal_public_key(ikm: bytes, kind: str, account_id: str = ACCOUNT) -> bytes:
    info = b"vouch/v1/" + kind.encode() + b"/" + account_id.encode()
    seed = HKDF(hashes.SHA256(), 32, SALT, info).derive(ikm)
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key()
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def passphrase_key(provider: Provider, text: str, **kwargs: Any) -> keys.GuardianKey:
    options: dict[str, Any] = {"salt": SALT, "account_id": ACCOUNT, "params": CHEAP}
    options.update(kwargs)
    return asyncio.run(keys.derive_passphrase_key(provider, text, **options))


def test_passphrase_key_follows_the_design(provider: Provider) -> None:
    key = passphrase_key(provider, "  correct horse battery staple ")
    ikm = Argon2id(salt=SALT, length=32, iterations=2, lanes=1, memory_cost=19456).derive(
        b"correct horse battery staple"
    )
    assert key.public_key == literal_public_key(ikm, "passphrase")
    assert len(key.seed) == 32


def test_nfkc_and_outer_whitespace_do_not_change_the_key(provider: Provider) -> None:
    composed = passphrase_key(provider, "Crème brûlée à la cuillère")
    decomposed = passphrase_key(
        provider, "\tCre\u0300me bru\u0302le\u0301e a\u0300 la cuille\u0300re "
    )
    assert composed == decomposed


def test_default_params_are_used_when_none_given(provider: Provider) -> None:
    default = passphrase_key(provider, "correct horse battery staple", params=None)
    explicit = passphrase_key(provider, "correct horse battery staple", params=Argon2Params())
    assert default == explicit
    assert default != passphrase_key(provider, "correct horse battery staple")


def test_keys_are_bound_to_kind_account_and_salt(provider: Provider) -> None:
    code = bytes(17)
    recovery = asyncio.run(
        keys.derive_recovery_code_key(provider, code, salt=SALT, account_id=ACCOUNT)
    )
    other_account = asyncio.run(
        keys.derive_recovery_code_key(provider, code, salt=SALT, account_id="acct_2")
    )
    other_salt = asyncio.run(
        keys.derive_recovery_code_key(provider, code, salt=bytes(16), account_id=ACCOUNT)
    )
    backup = asyncio.run(
        keys.derive_backup_code_key(provider, bytes(12), salt=SALT, account_id=ACCOUNT)
    )
    assert recovery.public_key == literal_public_key(code, "recovery_code")
    assert backup.public_key == literal_public_key(bytes(12), "backup_codes")
    assert len({recovery, other_account, other_salt, backup}) == 4


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"params": Argon2Params(memory_kib=8192, iterations=3, lanes=1)},
            "Argon2id memory_kib is 8192, vouch requires at least 19456",
        ),
        (
            {"params": Argon2Params(memory_kib=19456, iterations=1, lanes=1)},
            "Argon2id iterations is 1, vouch requires at least 2",
        ),
        (
            {"params": Argon2Params(memory_kib=19456, iterations=2, lanes=0)},
            "Argon2id lanes is 0, vouch requires at least 1",
        ),
        ({"salt": bytes(8)}, "salt has 8 bytes, vouch requires at least 16"),
    ],
)
def test_policy_is_checked_before_any_work(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(PolicyViolation) as caught:
        passphrase_key(RefusingProvider(), "correct horse battery staple", **kwargs)
    assert str(caught.value) == message


def test_empty_passphrase_is_refused_before_any_work() -> None:
    with pytest.raises(MalformedInput) as caught:
        passphrase_key(RefusingProvider(), " \t ")
    assert str(caught.value) == (
        "passphrase is empty (after trimming whitespace), expected some text"
    )


def test_code_keys_need_a_policy_salt_too() -> None:
    with pytest.raises(PolicyViolation, match=r"^salt has 8 bytes, vouch requires at least 16$"):
        asyncio.run(
            keys.derive_recovery_code_key(
                RefusingProvider(),
                bytes(17),
                salt=bytes(8),
                account_id=ACCOUNT,
            )
        )


def test_code_keys_refuse_the_wrong_kind_of_code(provider: Provider) -> None:
    with pytest.raises(ValueError, match=r"^Recovery code has 12 bytes, expected 14 or 17$"):
        asyncio.run(keys.derive_recovery_code_key(provider, bytes(12), salt=SALT, account_id="a"))
    with pytest.raises(TypeError, match=r"^Backup code must be bytes \(parse it first\), got str$"):
        asyncio.run(
            keys.derive_backup_code_key(provider, "0938-NKRK", salt=SALT, account_id="a")  # type: ignore[arg-type]
        )


def test_account_id_must_be_non_empty(provider: Provider) -> None:
    with pytest.raises(MalformedInput, match=r"^account_id is '', expected a non-empty string$"):
        asyncio.run(keys.derive_backup_code_key(provider, bytes(12), salt=SALT, account_id=""))
    with pytest.raises(MalformedInput, match=r"^account_id is '', expected a non-empty string$"):
        passphrase_key(RefusingProvider(), "correct horse battery staple", account_id="")


def test_hkdf_info() -> None:
    assert keys.hkdf_info("backup_codes", "é") == b"vouch/v1/backup_codes/\xc3\xa9"
    with pytest.raises(ValueError, match=r"^guardian kind is 'passkey', expected"):
        keys.hkdf_info("passkey", "a")


def test_repr_never_shows_the_seed() -> None:
    key = keys.GuardianKey(public_key=b"\x01" * 32, seed=b"\xee" * 32)
    assert "seed" not in repr(key)
    assert "\\xee" not in repr(key)
    assert "public_key" in repr(key)


def test_guardian_key_signs(provider: Provider) -> None:
    key = asyncio.run(keys.derive_backup_code_key(provider, bytes(12), salt=SALT, account_id="a"))
    signature = asyncio.run(key.sign(provider, b"message"))
    assert asyncio.run(provider.ed25519_verify(key.public_key, b"message", signature))


def test_new_salt(provider: Provider) -> None:
    salt = asyncio.run(keys.new_salt(provider))
    assert len(salt) == 16

"""Guardian keys: from what the user keeps to an Ed25519 key pair, the same in every runtime.

    passphrase     ikm = Argon2id(NFKC-trimmed UTF-8 passphrase, salt, m, t, p, 32)
    recovery_code  ikm = the code's bytes
    backup_codes   ikm = one code's bytes (each code is its own key)
    then           seed = HKDF-SHA256(ikm, salt, "vouch/v1/" + kind + "/" + account_id)

The seed is the Ed25519 private key. The salt is per guardian (16 random
bytes, stored with the public key); the ten backup codes of one guardian
share it, as each code is already high-entropy and distinct.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vouch.core import codes, kdf
from vouch.core.errors import MalformedInput
from vouch.core.kinds import BACKUP_CODES, KINDS, PASSPHRASE, RECOVERY_CODE, KindTable
from vouch.core.passphrase import passphrase_bytes
from vouch.crypto.provider import Provider

# The kinds whose secret becomes an Ed25519 key here (the others prove themselves otherwise).
DERIVING = KindTable(*(kind for kind in KINDS.values() if kind.derives_key))
SALT_BYTES = 16
SEED_BYTES = 32


@dataclass(frozen=True)
class GuardianKey:
    """An Ed25519 key pair of one guardian; ``repr`` never shows the seed."""

    public_key: bytes
    seed: bytes = field(repr=False)

    async def sign(self, provider: Provider, message: bytes) -> bytes:
        return await provider.ed25519_sign(self.seed, message)


def hkdf_info(kind: str, account_id: str) -> bytes:
    """The HKDF info string that binds a seed to its guardian kind (by name) and account."""
    if kind not in DERIVING:
        raise ValueError(f"guardian kind is {kind!r}, expected {DERIVING.expected()}")
    if not isinstance(account_id, str) or not account_id:
        raise MalformedInput(f"account_id is {account_id!r}, expected a non-empty string")
    return b"vouch/v1/" + kind.encode("ascii") + b"/" + account_id.encode("utf-8")


async def new_salt(provider: Provider) -> bytes:
    """A fresh 16-byte guardian salt."""
    return await provider.random_bytes(SALT_BYTES)


async def key_from_ikm(
    provider: Provider, ikm: bytes, *, salt: bytes, kind: str, account_id: str
) -> GuardianKey:
    """The HKDF step shared by every kind."""
    kdf.check_salt(salt)
    return await _key(provider, ikm, salt=salt, info=hkdf_info(kind, account_id))


async def _key(provider: Provider, ikm: bytes, *, salt: bytes, info: bytes) -> GuardianKey:
    seed = await provider.hkdf_sha256(ikm, salt=salt, info=info, length=SEED_BYTES)
    return GuardianKey(public_key=await provider.ed25519_public_key(seed), seed=seed)


async def derive_passphrase_key(
    provider: Provider,
    passphrase: str,
    *,
    salt: bytes,
    account_id: str,
    params: kdf.Argon2Params | None = None,
) -> GuardianKey:
    """Key of a passphrase guardian. Strength is checked at setup, not here:
    recovery must work with whatever passphrase was accepted then."""
    params = params or kdf.Argon2Params()
    kdf.check_policy(params)
    kdf.check_salt(salt)
    info = hkdf_info(PASSPHRASE.name, account_id)  # checked before the expensive part
    password = passphrase_bytes(passphrase)
    if not password:
        raise MalformedInput("passphrase is empty (after trimming whitespace), expected some text")
    ikm = await provider.argon2id(
        password,
        salt,
        memory_kib=params.memory_kib,
        iterations=params.iterations,
        lanes=params.lanes,
        length=kdf.KEY_LENGTH,
    )
    return await _key(provider, ikm, salt=salt, info=info)


def _check_code_bytes(formats: tuple[codes.CodeFormat, ...], code: bytes) -> None:
    """Bytes as one of the kind's formats parses them (today's, or the legacy one's)."""
    label = formats[0].label
    if not isinstance(code, bytes):
        raise TypeError(f"{label} must be bytes (parse it first), got {type(code).__name__}")
    lengths = codes.byte_lengths(formats)
    if len(code) not in lengths:
        expected = " or ".join(str(n) for n in sorted(lengths))
        raise ValueError(f"{label} has {len(code)} bytes, expected {expected}")


async def derive_recovery_code_key(
    provider: Provider, code: bytes, *, salt: bytes, account_id: str
) -> GuardianKey:
    """Key of a recovery-code guardian; ``code`` is ``parse_recovery_code``'s output."""
    _check_code_bytes(codes.RECOVERY_FORMATS, code)
    return await key_from_ikm(
        provider, code, salt=salt, kind=RECOVERY_CODE.name, account_id=account_id
    )


async def derive_backup_code_key(
    provider: Provider, code: bytes, *, salt: bytes, account_id: str
) -> GuardianKey:
    """Key of one backup code; ``code`` is ``parse_backup_code``'s output."""
    _check_code_bytes(codes.BACKUP_FORMATS, code)
    return await key_from_ikm(
        provider, code, salt=salt, kind=BACKUP_CODES.name, account_id=account_id
    )

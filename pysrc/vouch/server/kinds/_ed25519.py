"""What the three signature kinds share: a salt, Ed25519 public keys, and an approval that is
an Ed25519 signature of the recovery message by one of them (derived in the page from the
secret, `vouch.core.keys`)."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from vouch.core.b64url import b64url_decode, b64url_encode
from vouch.core.errors import VouchError as CoreError
from vouch.core.messages import verify_guardian_signature
from vouch.server import schemas
from vouch.server.api import decode_b64
from vouch.server.kinds.base import (
    Approved,
    DecoyGuardian,
    DecoyMaker,
    Guardian,
    ServerKind,
    invalid,
)
from vouch.server.schemas import JSONSchema

if TYPE_CHECKING:
    from vouch.server.context import Context

SALT_BYTES = 16
KEY_BYTES = 32
SALT_SCHEMA = schemas.b64url_bytes("salt", SALT_BYTES)
KEY_SCHEMA = schemas.b64url_bytes("Ed25519 public key", KEY_BYTES)
SIGNATURE_SCHEMA = schemas.b64url_bytes("Ed25519 signature", 64)
# A decoy guardian's bytes: the salt first, its keys from here on (as in every decoy so far).
_DECOY_KEYS_AT = 32


def parse_bytes(where: str, text: object, length: int) -> bytes:
    """Exactly `length` bytes of strict unpadded base64url, or a refusal naming `where`."""
    if not isinstance(text, str):
        raise invalid(f"{where} is {type(text).__name__}, expected a base64url string")
    try:
        value = b64url_decode(text, what=where)
    except CoreError as exc:
        raise invalid(str(exc)) from exc
    if len(value) != length:
        raise invalid(f"{where} has {len(value)} bytes, expected {length}")
    return value


def parse_salt(where: str, entry: Mapping[str, Any]) -> bytes:
    return parse_bytes(f"{where}.salt", entry["salt"], SALT_BYTES)


def encode_salt(guardian: Guardian) -> str:
    assert guardian.salt is not None
    return b64url_encode(guardian.salt)


def public_salt(row: Mapping[str, Any]) -> str:
    return b64url_encode(bytes(row["salt"]))


def decoy_salt(material: bytes) -> bytes:
    return material[:SALT_BYTES]


def decoy_keys(material: bytes, count: int) -> tuple[bytes, ...]:
    """`count` keys from a decoy guardian's bytes: keys no one has the seeds of."""
    return tuple(
        material[_DECOY_KEYS_AT + n * KEY_BYTES : _DECOY_KEYS_AT + (n + 1) * KEY_BYTES]
        for n in range(count)
    )


class SignatureKind(ServerKind):
    """A kind whose guardian approves with an Ed25519 signature by one of its keys."""

    proof_schema: ClassVar[JSONSchema | None] = SIGNATURE_SCHEMA

    async def verify(
        self, context: Context, guardian: Guardian, approval: Mapping[str, Any], *, message: bytes
    ) -> Approved:
        signature = decode_b64(approval["signature"], what="signature")
        keys = guardian.public_keys
        for index, public_key in enumerate(keys):
            if index in guardian.used_codes:
                continue
            if await verify_guardian_signature(context.provider, public_key, message, signature):
                return self.approved(guardian, index)
        # Refused: the used keys are tried too (and refused if they match), so a refusal
        # costs as much however many codes are left, and its timing tells neither how many
        # an account has used nor a real account from a decoy.
        for index in sorted(guardian.used_codes):
            await verify_guardian_signature(context.provider, keys[index], message, signature)
        raise self.refuse(guardian.id)

    def approved(self, guardian: Guardian, index: int) -> Approved:
        """The approval of the key at `index` (what applying it writes, if anything)."""
        return Approved(guardian.id, self.name)

    def decoy_maker(self, key: bytes) -> DecoyMaker:
        return self.decoy

    @abstractmethod
    def decoy(self, guardian_id: str, material: bytes) -> DecoyGuardian:
        """Its decoy from `material` (`DECOY_MATERIAL_BYTES` of the decoy stream)."""


class SingleKeyKind(SignatureKind):
    """A signature kind with one key, kept in the guardians row (passphrase, recovery code)."""

    def parse_key(self, where: str, entry: Mapping[str, Any]) -> bytes:
        return parse_bytes(f"{where}.public_key", entry["public_key"], KEY_BYTES)

    def public_key_column(self, guardian: Guardian) -> bytes | None:
        return guardian.public_keys[0]

    def encode_key(self, guardian: Guardian) -> str:
        return b64url_encode(guardian.public_keys[0])

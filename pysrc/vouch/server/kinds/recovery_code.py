"""A recovery code: one high-entropy code the user keeps (reusable), its bytes the key
material (`vouch.core.codes`). The server keeps the Ed25519 public key and the salt."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, ClassVar

from vouch.core.kinds import RECOVERY_CODE
from vouch.server.kinds import _ed25519
from vouch.server.kinds.base import DecoyGuardian, Guardian
from vouch.server.schemas import JSONSchema
from vouch.server.storage import Row


class RecoveryCode(_ed25519.SingleKeyKind):
    kind = RECOVERY_CODE
    config_schema: ClassVar[Mapping[str, JSONSchema]] = {
        "public_key": _ed25519.KEY_SCHEMA,
        "salt": _ed25519.SALT_SCHEMA,
    }
    public_schema: ClassVar[Mapping[str, JSONSchema]] = {"salt": _ed25519.SALT_SCHEMA}
    refusal = "That recovery code is not right."

    def parse(self, where: str, entry: Mapping[str, Any], guardian: Guardian) -> Guardian:
        salt = _ed25519.parse_salt(where, entry)
        public_key = self.parse_key(where, entry)
        return replace(guardian, salt=salt, public_keys=(public_key,))

    def entry_values(self, guardian: Guardian) -> dict[str, Any]:
        return {"public_key": self.encode_key(guardian), "salt": _ed25519.encode_salt(guardian)}

    def public_values(self, row: Row) -> dict[str, Any]:
        return {"salt": _ed25519.public_salt(row)}

    def decoy(self, guardian_id: str, material: bytes) -> DecoyGuardian:
        salt = _ed25519.decoy_salt(material)
        return self.decoy_guardian(
            guardian_id, {"salt": salt}, salt=salt, public_keys=_ed25519.decoy_keys(material, 1)
        )


KIND = RecoveryCode()

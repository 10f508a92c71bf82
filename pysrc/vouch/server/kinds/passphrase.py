"""A passphrase: Argon2id in the page turns it into an Ed25519 key (`vouch.core.kdf`).

The server keeps the public key, the salt and the Argon2id parameters; a recovering user is
shown the salt and the parameters (the page needs them to derive), never the key: a public
key would let an attacker test passphrase guesses offline.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, ClassVar

from vouch.core.errors import VouchError as CoreError
from vouch.core.kdf import Argon2Params, check_policy
from vouch.core.kinds import PASSPHRASE
from vouch.server.kinds import _ed25519
from vouch.server.kinds.base import DecoyGuardian, Guardian, invalid
from vouch.server.schemas import JSONSchema
from vouch.server.storage import Row

ARGON2_PARAMS: JSONSchema = {
    "type": "object",
    "description": "Argon2Params.to_dict(): algorithm argon2id, version 19, memory_kib,"
    " iterations, lanes (checked against vouch's policy)",
    "properties": {
        "algorithm": {"type": "string", "maxLength": 16},
        "version": {"type": "integer"},
        "memory_kib": {"type": "integer"},
        "iterations": {"type": "integer"},
        "lanes": {"type": "integer"},
    },
}
# A decoy shows the dialog's default parameters, as most real passphrases have.
_DECOY_KDF = json.dumps(Argon2Params().to_dict())


class Passphrase(_ed25519.SingleKeyKind):
    kind = PASSPHRASE
    config_schema: ClassVar[Mapping[str, JSONSchema]] = {
        "public_key": _ed25519.KEY_SCHEMA,
        "salt": _ed25519.SALT_SCHEMA,
        "kdf": ARGON2_PARAMS,
    }
    public_schema: ClassVar[Mapping[str, JSONSchema]] = {
        "salt": _ed25519.SALT_SCHEMA,
        "kdf": {"type": "object"},
    }
    guessable = True  # chosen by a person: strong by zxcvbn's measure, not 100 bits
    refusal = "That passphrase is not right."

    def parse(self, where: str, entry: Mapping[str, Any], guardian: Guardian) -> Guardian:
        salt = _ed25519.parse_salt(where, entry)
        public_key = self.parse_key(where, entry)
        try:
            kdf = Argon2Params.from_dict(entry["kdf"])
            check_policy(kdf)
        except CoreError as exc:
            raise invalid(f"{where}.kdf: {exc}") from exc
        return replace(guardian, salt=salt, kdf=kdf, public_keys=(public_key,))

    def entry_values(self, guardian: Guardian) -> dict[str, Any]:
        assert guardian.kdf is not None
        return {
            "public_key": self.encode_key(guardian),
            "salt": _ed25519.encode_salt(guardian),
            "kdf": guardian.kdf.to_dict(),
        }

    def public_values(self, row: Row) -> dict[str, Any]:
        return {"salt": _ed25519.public_salt(row), "kdf": json.loads(row["kdf"])}

    def decoy(self, guardian_id: str, material: bytes) -> DecoyGuardian:
        salt = _ed25519.decoy_salt(material)
        return self.decoy_guardian(
            guardian_id,
            {"salt": salt, "kdf": _DECOY_KDF},
            salt=salt,
            kdf=Argon2Params(),
            public_keys=_ed25519.decoy_keys(material, 1),
        )


KIND = Passphrase()

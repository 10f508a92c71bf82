"""Backup codes: ten one-time codes (`vouch.core.codes`), each its own Ed25519 key under one
salt. The keys and their used flags live in the backup_codes table; a recovery burns the code
that signed, inside its transaction, so a code approves one recovery only."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, ClassVar

from vouch.core.b64url import b64url_encode
from vouch.core.codes import BACKUP_CODE_COUNT
from vouch.core.kinds import BACKUP_CODES
from vouch.server.kinds import _ed25519
from vouch.server.kinds.base import Approved, DecoyGuardian, Guardian, invalid, stored_guardian
from vouch.server.schemas import JSONSchema
from vouch.server.storage import Row, Transaction


class BackupCodes(_ed25519.SignatureKind):
    kind = BACKUP_CODES
    config_schema: ClassVar[Mapping[str, JSONSchema]] = {
        "salt": _ed25519.SALT_SCHEMA,
        "public_keys": {
            "type": "array",
            "items": _ed25519.KEY_SCHEMA,
            "minItems": BACKUP_CODE_COUNT,
            "maxItems": BACKUP_CODE_COUNT,
        },
    }
    # Not how many codes are left: only the owner is told that (`owner_schema`). A decoy
    # would have to make up a count that follows the real ones, which change as people use
    # their codes; a locked-out person needs the salt, not the count.
    public_schema: ClassVar[Mapping[str, JSONSchema]] = {"salt": _ed25519.SALT_SCHEMA}
    owner_schema: ClassVar[Mapping[str, JSONSchema]] = {
        "codes_remaining": {"type": "integer", "minimum": 0, "maximum": BACKUP_CODE_COUNT}
    }
    refusal = "That backup code is not right, or it was already used."
    side_query = (
        "SELECT guardian_id, idx, public_key, used_at FROM backup_codes"
        " WHERE account_id = ? ORDER BY guardian_id, idx"
    )

    # A configuration --------------------------------------------------------------------

    def parse(self, where: str, entry: Mapping[str, Any], guardian: Guardian) -> Guardian:
        salt = _ed25519.parse_salt(where, entry)
        keys = tuple(
            _ed25519.parse_bytes(f"{where}.public_keys[{n}]", key, _ed25519.KEY_BYTES)
            for n, key in enumerate(entry["public_keys"])
        )
        if len(keys) != BACKUP_CODE_COUNT:
            raise invalid(f"{where}.public_keys has {len(keys)} keys, expected {BACKUP_CODE_COUNT}")
        if len(set(keys)) != len(keys):
            raise invalid(f"{where}.public_keys has the same key twice")
        return replace(guardian, salt=salt, public_keys=keys)

    def entry_values(self, guardian: Guardian) -> dict[str, Any]:
        return {
            "public_keys": [b64url_encode(key) for key in guardian.public_keys],
            "salt": _ed25519.encode_salt(guardian),
        }

    def owner_values(self, guardian: Guardian) -> dict[str, Any]:
        return {"codes_remaining": len(guardian.public_keys) - len(guardian.used_codes)}

    # Storage ------------------------------------------------------------------------------

    def insert_side(self, tx: Transaction, account_id: str, guardian: Guardian) -> None:
        for idx, key in enumerate(guardian.public_keys):
            tx.execute(
                "INSERT INTO backup_codes (account_id, guardian_id, idx, public_key)"
                " VALUES (?, ?, ?, ?)",
                (account_id, guardian.id, idx, key),
            )

    def delete_side(self, tx: Transaction, account_id: str, guardian_id: str) -> None:
        tx.execute(
            "DELETE FROM backup_codes WHERE account_id = ? AND guardian_id = ?",
            (account_id, guardian_id),
        )

    def from_row(self, row: Row, side: Sequence[Row]) -> Guardian:
        return stored_guardian(
            row,
            public_keys=tuple(bytes(code["public_key"]) for code in side),
            used=frozenset(code["idx"] for code in side if code["used_at"] is not None),
        )

    # A recovery ---------------------------------------------------------------------------

    def public_values(self, row: Row) -> dict[str, Any]:
        return {"salt": _ed25519.public_salt(row)}

    def decoy(self, guardian_id: str, material: bytes) -> DecoyGuardian:
        salt = _ed25519.decoy_salt(material)
        return self.decoy_guardian(
            guardian_id,
            {"salt": salt},
            salt=salt,
            public_keys=_ed25519.decoy_keys(material, BACKUP_CODE_COUNT),
        )

    def approved(self, guardian: Guardian, index: int) -> Approved:
        return Approved(guardian.id, self.name, effect={"backup_code": index})

    def hold(self, tx: Transaction, approved: Approved, *, account_id: str) -> None:
        row = tx.one(
            "SELECT used_at FROM backup_codes WHERE account_id = ? AND guardian_id = ? AND idx = ?",
            (account_id, approved.guardian_id, approved.effect["backup_code"]),
        )
        if row is None or row["used_at"] is not None:
            raise self.refuse(approved.guardian_id)

    def apply(
        self,
        tx: Transaction,
        approved: Approved,
        *,
        account_id: str,
        recovery_id: str,
        now: int,
    ) -> None:
        burnt = tx.execute(
            "UPDATE backup_codes SET used_at = ?, used_by = ? WHERE account_id = ?"
            " AND guardian_id = ? AND idx = ? AND used_at IS NULL",
            (now, recovery_id, account_id, approved.guardian_id, approved.effect["backup_code"]),
        )
        if burnt != 1:
            raise self.refuse(approved.guardian_id)


KIND = BackupCodes()

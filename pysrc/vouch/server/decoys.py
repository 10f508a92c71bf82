"""Decoy recoveries: what a recovery of an unknown account (or one without guardians) sees.

A decoy must not be told apart from a real account: it is stable (the same name always gets
the same account id, guardians, salts and labels, all expanded from one HMAC-SHA256 of the
name under a server secret), shaped like what the dialog saves (its default labels, its
12-character guardian ids), and it goes through the same code as a real account: at start
its guardians are rows in the database's format that the same function turns into
descriptors, and its approvals are verified by the same code against keys no one holds.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass

import cbor2
from cryptography.hazmat.primitives.asymmetric import ec

from vouch.core.b64url import b64url_encode
from vouch.core.kdf import Argon2Params
from vouch.server.guardians import Guardian, GuardianSet
from vouch.server.storage import Row

# (threshold, kinds): configurations people plausibly choose in the dialog.
SHAPES: tuple[tuple[int, tuple[str, ...]], ...] = (
    (1, ("passphrase",)),
    (1, ("recovery_code",)),
    (1, ("passphrase", "recovery_code")),
    (2, ("passphrase", "recovery_code")),
    (2, ("passphrase", "recovery_code", "backup_codes")),
    (2, ("passphrase", "backup_codes", "passkey")),
    (2, ("recovery_code", "backup_codes", "passkey")),
    (3, ("passphrase", "recovery_code", "backup_codes")),
)
# The dialog's default labels (vouch.dialog.guardian_setup.KIND_NAMES).
LABELS = {
    "passphrase": "Passphrase",
    "recovery_code": "Recovery code",
    "backup_codes": "Backup codes",
    "passkey": "Second passkey",
}
GUARDIAN_ID_BYTES = 9  # secrets.token_urlsafe(9) in the dialog
USER_HANDLE_BYTES = 16  # as /api/register/options issues
CREDENTIAL_ID_BYTES = 32
SALT_BYTES = 16
KEY_BYTES = 32
BACKUP_CODES = 10
# Bytes of the stream each guardian uses: id, salt or credential id, ten keys, used count.
_PER_GUARDIAN = GUARDIAN_ID_BYTES + CREDENTIAL_ID_BYTES + BACKUP_CODES * KEY_BYTES + 1
_DEFAULT_KDF = json.dumps(Argon2Params().to_dict())


@dataclass(frozen=True)
class Decoy:
    account: str
    threshold: int
    rows: list[Row]  # as guardians.public_rows returns them
    keys: list[tuple[bytes, ...]]  # each guardian's public keys (nobody has their seeds)


class Decoys:
    def __init__(self, key: bytes):
        self._key = key
        # One P-256 key that decoy passkey guardians "have", so a crafted assertion is
        # checked by the same py_webauthn code as for a real guardian, and fails the same way.
        seed = hmac.new(key, b"vouch/decoy/v1/passkey-key", hashlib.sha256).digest()
        private = ec.derive_private_key(int.from_bytes(seed, "big") % (2**255) + 1, ec.SECP256R1())
        numbers = private.public_key().public_numbers()
        self.passkey_public_key: bytes = cbor2.dumps(
            {
                1: 2,
                3: -7,
                -1: 1,
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )

    def decoy(self, username: str) -> Decoy:
        """The decoy account of `username`: the same every time, for every server process."""
        digest = hmac.new(self._key, b"vouch/decoy/v1\n" + username.encode(), hashlib.sha256)
        stream = hashlib.shake_256(digest.digest()).digest(
            1 + USER_HANDLE_BYTES + 3 * _PER_GUARDIAN
        )
        threshold, kinds = SHAPES[stream[0] % len(SHAPES)]
        account = b64url_encode(stream[1 : 1 + USER_HANDLE_BYTES])
        rows: list[Row] = []
        keys: list[tuple[bytes, ...]] = []
        offset = 1 + USER_HANDLE_BYTES
        for kind in kinds:
            part = stream[offset : offset + _PER_GUARDIAN]
            offset += _PER_GUARDIAN
            rows.append(_row(kind, part))
            keys.append(_keys(kind, part))
        return Decoy(account=account, threshold=threshold, rows=rows, keys=keys)

    def guardian_set(self, username: str) -> GuardianSet:
        """The decoy as check and execute verify against it."""
        decoy = self.decoy(username)
        guardians = []
        for row, keys in zip(decoy.rows, decoy.keys, strict=True):
            kdf = Argon2Params.from_dict(json.loads(row["kdf"])) if row["kdf"] else None
            used = len(keys) - row["codes_remaining"] if row["kind"] == "backup_codes" else 0
            guardians.append(
                Guardian(
                    id=row["id"],
                    kind=row["kind"],
                    label=row["label"],
                    salt=row["salt"],
                    kdf=kdf,
                    public_keys=keys,
                    credential_id=row["credential_id"],
                    used_codes=frozenset(range(used)),
                )
            )
        return GuardianSet(
            account=decoy.account, threshold=decoy.threshold, guardians=tuple(guardians)
        )


def _row(kind: str, part: bytes) -> Row:
    secret_part = part[GUARDIAN_ID_BYTES : GUARDIAN_ID_BYTES + CREDENTIAL_ID_BYTES]
    return {
        "id": b64url_encode(part[:GUARDIAN_ID_BYTES]),
        "kind": kind,
        "label": LABELS[kind],
        "salt": None if kind == "passkey" else secret_part[:SALT_BYTES],
        "kdf": _DEFAULT_KDF if kind == "passphrase" else None,
        "credential_id": b64url_encode(secret_part) if kind == "passkey" else None,
        "codes_remaining": BACKUP_CODES - part[-1] % 4 if kind == "backup_codes" else 0,
    }


def _keys(kind: str, part: bytes) -> tuple[bytes, ...]:
    start = GUARDIAN_ID_BYTES + CREDENTIAL_ID_BYTES
    count = {"passkey": 0, "backup_codes": BACKUP_CODES}.get(kind, 1)
    return tuple(part[start + n * KEY_BYTES : start + (n + 1) * KEY_BYTES] for n in range(count))

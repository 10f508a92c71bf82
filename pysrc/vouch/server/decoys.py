"""Decoy recoveries: what a recovery of an unknown account (or one without guardians) sees.

A decoy must not be told apart from a real account: it is stable (the same name always gets
the same account id, guardians, salts and labels, derived with HMAC-SHA256 from a server
secret), shaped like what the dialog saves (its default labels, its 12-character guardian
ids), and it goes through the same code: the same queries at start, the same verification
of approvals (against keys no one holds, so they always fail).
"""

from __future__ import annotations

import hashlib
import hmac

import cbor2
from cryptography.hazmat.primitives.asymmetric import ec

from vouch.core.b64url import b64url_encode
from vouch.core.kdf import Argon2Params
from vouch.server.guardians import Guardian, GuardianSet

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
BACKUP_CODES = 10


class Decoys:
    def __init__(self, key: bytes):
        self._key = key
        # One P-256 key that decoy passkey guardians "have", so a crafted assertion is
        # checked by the same py_webauthn code as for a real guardian, and fails the same way.
        private = ec.derive_private_key(
            int.from_bytes(self._derive("passkey-key", ""), "big") % (2**255) + 1, ec.SECP256R1()
        )
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

    def _derive(self, purpose: str, username: str, index: int = 0) -> bytes:
        message = f"vouch/decoy/v1\n{purpose}\n{index}\n{username}".encode()
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def user_handle(self, username: str) -> bytes:
        return self._derive("user-handle", username)[:USER_HANDLE_BYTES]

    def guardian_set(self, username: str) -> GuardianSet:
        """The decoy account of `username`: the same every time, for every server process."""
        choice = self._derive("shape", username)
        threshold, kinds = SHAPES[choice[0] % len(SHAPES)]
        guardians = tuple(self._guardian(username, n, kind) for n, kind in enumerate(kinds))
        return GuardianSet(
            account=b64url_encode(self.user_handle(username)),
            threshold=threshold,
            guardians=guardians,
        )

    def _guardian(self, username: str, n: int, kind: str) -> Guardian:
        guardian_id = b64url_encode(self._derive("guardian-id", username, n)[:GUARDIAN_ID_BYTES])
        guardian = Guardian(id=guardian_id, kind=kind, label=LABELS[kind])
        if kind == "passkey":
            credential = self._derive("credential-id", username, n)[:CREDENTIAL_ID_BYTES]
            return Guardian(
                id=guardian.id,
                kind=kind,
                label=guardian.label,
                credential_id=b64url_encode(credential),
            )
        salt = self._derive("salt", username, n)[:16]
        if kind == "backup_codes":
            keys = tuple(self._derive("key", username, 100 * n + k) for k in range(BACKUP_CODES))
            used = self._derive("used", username, n)[0] % 4
            return Guardian(
                id=guardian.id,
                kind=kind,
                label=guardian.label,
                salt=salt,
                public_keys=keys,
                used_codes=frozenset(range(used)),
            )
        return Guardian(
            id=guardian.id,
            kind=kind,
            label=guardian.label,
            salt=salt,
            kdf=Argon2Params() if kind == "passphrase" else None,
            public_keys=(self._derive("key", username, 100 * n),),
        )

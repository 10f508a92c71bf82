"""Accounts and their passkeys: sign-in passkeys, and guardian passkeys that only approve.

An account's id is the base64url of its WebAuthn user handle, so a recovery can register the
new passkey under the same user handle as the lost one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from vouch.core.b64url import b64url_encode
from vouch.server.ceremonies import RegisteredCredential
from vouch.server.storage import Row, Transaction

SIGNIN = "signin"
GUARDIAN = "guardian"


@dataclass(frozen=True)
class StoredCredential:
    id: str
    account_id: str
    public_key: bytes
    sign_count: int
    revoked: bool
    role: str


def find_account_by_username(tx: Transaction, username: str) -> Row | None:
    return tx.one("SELECT * FROM accounts WHERE username = ?", (username,))


def find_account(tx: Transaction, account_id: str) -> Row | None:
    return tx.one("SELECT * FROM accounts WHERE id = ?", (account_id,))


def create_account(tx: Transaction, *, account_id: str, username: str, now: int) -> None:
    tx.execute(
        "INSERT INTO accounts (id, username, created_at) VALUES (?, ?, ?)",
        (account_id, username, now),
    )


_INSERT_CREDENTIAL = (
    "INSERT INTO credentials"
    " (id, account_id, public_key, sign_count, transports, created_at, role)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)


def add_credential(
    tx: Transaction,
    *,
    account_id: str,
    credential: RegisteredCredential,
    now: int,
    role: str = SIGNIN,
) -> str:
    credential_id = b64url_encode(credential.id)
    tx.execute(
        _INSERT_CREDENTIAL, _credential_row(credential_id, account_id, credential, now, role)
    )
    return credential_id


def add_new_credential(
    tx: Transaction, *, account_id: str, credential: RegisteredCredential, now: int
) -> bool:
    """`add_credential` of a sign-in passkey in one statement that also checks the ID is
    new: False (nothing written) if any account has a passkey of this ID already."""
    credential_id = b64url_encode(credential.id)
    added = tx.execute(
        _INSERT_CREDENTIAL + " ON CONFLICT (id) DO NOTHING",
        _credential_row(credential_id, account_id, credential, now, SIGNIN),
    )
    return added == 1


def _credential_row(
    credential_id: str, account_id: str, credential: RegisteredCredential, now: int, role: str
) -> tuple[object, ...]:
    return (
        credential_id,
        account_id,
        credential.public_key,
        credential.sign_count,
        json.dumps(credential.transports),
        now,
        role,
    )


def _stored(row: Row) -> StoredCredential:
    return StoredCredential(
        id=row["id"],
        account_id=row["account_id"],
        public_key=bytes(row["public_key"]),
        sign_count=row["sign_count"],
        revoked=row["revoked_at"] is not None,
        role=row["role"],
    )


def find_credential(tx: Transaction, credential_id: str) -> StoredCredential | None:
    row = tx.one("SELECT * FROM credentials WHERE id = ?", (credential_id,))
    return None if row is None else _stored(row)


def credential_exists(tx: Transaction, credential_id: str) -> bool:
    return tx.one("SELECT 1 AS found FROM credentials WHERE id = ?", (credential_id,)) is not None


def record_use(tx: Transaction, credential_id: str, *, sign_count: int, now: int) -> bool:
    """Store the new signature counter; False if the passkey was revoked meanwhile.

    The condition makes a sign-in racing a recovery lose cleanly: PostgreSQL re-checks
    `revoked_at` after the recovery's revocation commits.
    """
    changed = tx.execute(
        "UPDATE credentials SET sign_count = ?, last_used_at = ?"
        " WHERE id = ? AND revoked_at IS NULL",
        (sign_count, now, credential_id),
    )
    return changed == 1


def active_credentials(tx: Transaction, account_id: str, role: str | None = None) -> list[Row]:
    """The account's unrevoked passkeys (of one role, if given), oldest first."""
    if role is None:
        return tx.all(
            "SELECT id, role, created_at, last_used_at FROM credentials"
            " WHERE account_id = ? AND revoked_at IS NULL ORDER BY created_at, id",
            (account_id,),
        )
    return tx.all(
        "SELECT id, role, created_at, last_used_at FROM credentials"
        " WHERE account_id = ? AND role = ? AND revoked_at IS NULL ORDER BY created_at, id",
        (account_id, role),
    )


def active_credential_ids(tx: Transaction, account_id: str) -> list[str]:
    return [row["id"] for row in active_credentials(tx, account_id, SIGNIN)]


def passkey_summaries(tx: Transaction, account_id: str) -> list[dict[str, Any]]:
    return [
        {"id": row["id"], "created_at": row["created_at"], "last_used_at": row["last_used_at"]}
        for row in active_credentials(tx, account_id, SIGNIN)
    ]

"""Accounts and their sign-in passkeys."""

from __future__ import annotations

import json
from dataclasses import dataclass

from vouch.server.ceremonies import NewCredential
from vouch.server.storage import Row, Transaction
from vouch.server.wire import b64encode


@dataclass(frozen=True)
class StoredCredential:
    id: str
    account_id: str
    public_key: bytes
    sign_count: int
    revoked: bool


def find_account_by_username(tx: Transaction, username: str) -> Row | None:
    return tx.one("SELECT * FROM accounts WHERE username = ?", (username,))


def find_account(tx: Transaction, account_id: str) -> Row | None:
    return tx.one("SELECT * FROM accounts WHERE id = ?", (account_id,))


def create_account(tx: Transaction, *, account_id: str, username: str, now: int) -> None:
    tx.execute(
        "INSERT INTO accounts (id, username, created_at) VALUES (?, ?, ?)",
        (account_id, username, now),
    )


def add_credential(tx: Transaction, *, account_id: str, credential: NewCredential, now: int) -> str:
    credential_id = b64encode(credential.id)
    tx.execute(
        "INSERT INTO credentials (id, account_id, public_key, sign_count, transports, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (
            credential_id,
            account_id,
            credential.public_key,
            credential.sign_count,
            json.dumps(credential.transports),
            now,
        ),
    )
    return credential_id


def find_credential(tx: Transaction, credential_id: str) -> StoredCredential | None:
    row = tx.one("SELECT * FROM credentials WHERE id = ?", (credential_id,))
    if row is None:
        return None
    return StoredCredential(
        id=row["id"],
        account_id=row["account_id"],
        public_key=bytes(row["public_key"]),
        sign_count=row["sign_count"],
        revoked=row["revoked_at"] is not None,
    )


def record_use(tx: Transaction, credential_id: str, *, sign_count: int, now: int) -> None:
    tx.execute(
        "UPDATE credentials SET sign_count = ?, last_used_at = ? WHERE id = ?",
        (sign_count, now, credential_id),
    )


def active_credential_ids(tx: Transaction, account_id: str) -> list[str]:
    rows = tx.all(
        "SELECT id FROM credentials WHERE account_id = ? AND revoked_at IS NULL", (account_id,)
    )
    return [row["id"] for row in rows]

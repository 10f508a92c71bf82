"""Versioned schema. Append a new version; never edit one that has shipped.

Statements are written once for every backend: `BLOB` becomes `BYTEA` on PostgreSQL.
"""

from __future__ import annotations

MIGRATIONS: list[tuple[int, list[str]]] = [
    (
        1,
        [
            """CREATE TABLE accounts (
                id TEXT PRIMARY KEY,
                username TEXT NOT NULL UNIQUE,
                created_at BIGINT NOT NULL
            )""",
            """CREATE TABLE credentials (
                id TEXT PRIMARY KEY,
                account_id TEXT NOT NULL REFERENCES accounts(id),
                public_key BLOB NOT NULL,
                sign_count BIGINT NOT NULL,
                transports TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                last_used_at BIGINT,
                revoked_at BIGINT
            )""",
            "CREATE INDEX credentials_account ON credentials(account_id)",
            """CREATE TABLE challenges (
                id TEXT PRIMARY KEY,
                purpose TEXT NOT NULL,
                challenge BLOB NOT NULL,
                account_id TEXT,
                data TEXT NOT NULL,
                expires_at BIGINT NOT NULL,
                used_at BIGINT
            )""",
            """CREATE TABLE sessions (
                token_hash BLOB PRIMARY KEY,
                account_id TEXT NOT NULL REFERENCES accounts(id),
                created_at BIGINT NOT NULL,
                expires_at BIGINT NOT NULL,
                revoked_at BIGINT
            )""",
            "CREATE INDEX sessions_account ON sessions(account_id)",
        ],
    ),
]


def for_dialect(statement: str, dialect: str) -> str:
    """Translate the shared schema SQL into one backend's types."""
    if dialect == "postgresql":
        return statement.replace("BLOB", "BYTEA")
    return statement

"""What the server tests share: the scripted API client (tests/support/api_client.py,
which builds guardians and approvals with the dialog's own code) and database snapshots.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from tests.support.api_client import (
    CHEAP_KDF,
    PROVIDER,
    Api,
    ApiError,
    Guardian,
    Recovery,
    User,
    backup_codes_guardian,
    close_clients,
    confirm_change,
    execute,
    guardian_id,
    passkey_guardian,
    passphrase_guardian,
    recovery_code_guardian,
    register,
    run,
    save_guardians,
    sign_in,
    start_recovery,
    unique_name,
)

__all__ = [
    "ACCOUNT_TABLES",
    "CHEAP_KDF",
    "PROVIDER",
    "Api",
    "ApiError",
    "Guardian",
    "Recovery",
    "User",
    "backup_codes_guardian",
    "close_clients",
    "confirm_change",
    "execute",
    "guardian_id",
    "passkey_guardian",
    "passphrase_guardian",
    "recovery_code_guardian",
    "register",
    "run",
    "save_guardians",
    "sign_in",
    "snapshot",
    "start_recovery",
    "unique_name",
]

ACCOUNT_TABLES = (
    "accounts",
    "credentials",
    "sessions",
    "guardians",
    "backup_codes",
    "recoveries",
)


def snapshot(database: Path | str, tables: tuple[str, ...] = ACCOUNT_TABLES) -> dict[str, Any]:
    """Every row of the account tables (SQLite file or PostgreSQL URL), sorted."""
    if isinstance(database, str) and database.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(database) as connection:
            return {
                table: sorted(
                    (tuple(row) for row in connection.execute(f"SELECT * FROM {table}")),
                    key=repr,
                )
                for table in tables
            }
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        return {
            table: sorted(connection.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
            for table in tables
        }

"""Read the server's real SQLite file from tests, to check what did or did not change."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any


def snapshot(database: Path, *tables: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the named tables, sorted: equal snapshots mean nothing changed."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        return {
            table: sorted(connection.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
            for table in tables
        }


def count(database: Path, sql: str, params: tuple[Any, ...] = ()) -> int:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        value: int = connection.execute(sql, params).fetchone()[0]
        return value

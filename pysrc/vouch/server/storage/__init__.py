"""Storage: a small transaction interface with SQLite (default) behind it."""

from __future__ import annotations

from vouch.server.storage.base import Database, Row, Transaction
from vouch.server.storage.sqlite import SQLiteDatabase


def open_database(target: str) -> Database:
    """Open the database named by a path (SQLite) and bring its schema up to date."""
    database = SQLiteDatabase(target)
    database.migrate()
    return database


__all__ = ["Database", "Row", "SQLiteDatabase", "Transaction", "open_database"]

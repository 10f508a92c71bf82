"""Storage: a small transaction interface with SQLite (default) or PostgreSQL behind it."""

from __future__ import annotations

from vouch.server.storage.base import (
    Database,
    Row,
    StorageBusy,
    StorageConflict,
    Transaction,
)
from vouch.server.storage.sqlite import SQLiteDatabase

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres_url(target: str) -> bool:
    return target.startswith(POSTGRES_SCHEMES)


def open_database(target: str) -> Database:
    """Open a SQLite file path or a postgresql:// URL and bring its schema up to date."""
    database: Database
    if is_postgres_url(target):
        from vouch.server.storage.postgres import PostgresDatabase

        database = PostgresDatabase(target)
    else:
        database = SQLiteDatabase(target)
    database.migrate()
    return database


__all__ = [
    "Database",
    "Row",
    "SQLiteDatabase",
    "StorageBusy",
    "StorageConflict",
    "Transaction",
    "is_postgres_url",
    "open_database",
]

"""SQLite backend: one connection, WAL, foreign keys on, immediate transactions.

Work runs on the event loop thread: SQLite calls here take microseconds, and a single
connection with BEGIN IMMEDIATE serialises writers inside this process while the file lock
(with a busy timeout) serialises them across processes. A thread hop per request would cost
more than the queries.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

from vouch.server.storage.base import Row, StorageBusy, StorageConflict, Transaction
from vouch.server.storage.migrations import apply_migrations

T = TypeVar("T")


class _SQLiteTransaction:
    def __init__(self, connection: sqlite3.Connection):
        self._connection = connection

    def execute(self, sql: str, params: Sequence[object] = ()) -> int:
        return self._connection.execute(sql, tuple(params)).rowcount

    def one(self, sql: str, params: Sequence[object] = ()) -> Row | None:
        row = self._connection.execute(sql, tuple(params)).fetchone()
        return dict(row) if row is not None else None

    def all(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        return [dict(row) for row in self._connection.execute(sql, tuple(params)).fetchall()]


class SQLiteDatabase:
    dialect = "sqlite"

    def __init__(self, path: str):
        self.path = path
        self._connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._connection.row_factory = sqlite3.Row
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute("PRAGMA foreign_keys=ON")
        self._connection.execute("PRAGMA busy_timeout=5000")
        self._connection.execute("PRAGMA synchronous=NORMAL")
        self._lock = threading.Lock()

    def run_sync(self, work: Callable[[Transaction], T]) -> T:
        """Run `work` inside BEGIN IMMEDIATE ... COMMIT, rolling back on any exception.

        The lock (uncontended on the event loop thread) keeps the one connection to one
        transaction at a time should start-up code or a tool call this from other threads.
        """
        with self._lock:
            return self._run(work)

    def _run(self, work: Callable[[Transaction], T]) -> T:
        try:
            self._connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise StorageBusy(str(exc)) from exc
        try:
            result = work(_SQLiteTransaction(self._connection))
            self._connection.execute("COMMIT")
        except BaseException as exc:
            if self._connection.in_transaction:
                self._connection.execute("ROLLBACK")
            if isinstance(exc, sqlite3.IntegrityError):
                raise StorageConflict(str(exc)) from exc
            if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
                raise StorageBusy(str(exc)) from exc
            raise
        return result

    async def run(self, work: Callable[[Transaction], T]) -> T:
        return self.run_sync(work)

    def migrate(self) -> None:
        self.run_sync(lambda tx: apply_migrations(tx, self.dialect))

    def close(self) -> None:
        self._connection.close()

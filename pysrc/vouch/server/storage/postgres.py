"""PostgreSQL backend (psycopg 3): the same schema and SQL as SQLite, selected by a URL.

Work functions are synchronous, so each transaction runs in a worker thread on a pooled
connection; the event loop only awaits the result. Transactions are READ COMMITTED: every
rule that two requests could race on (single-use challenges, backup codes, the guardian
configuration version, revoked passkeys) is enforced by a conditional UPDATE whose row
count is checked, which PostgreSQL re-evaluates after waiting for the other writer's lock.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import psycopg
from psycopg import errors
from psycopg.rows import dict_row

from vouch.server.storage.base import Row, StorageBusy, StorageConflict, Transaction
from vouch.server.storage.migrations import apply_migrations

T = TypeVar("T")
log = logging.getLogger("vouch.server.storage")

# Serialises schema changes between server processes that start together.
MIGRATION_LOCK_KEY = 0x766F756368  # "vouch"


def translate(sql: str) -> str:
    """`?` placeholders (the SQLite spelling every module uses) to psycopg's `%s`."""
    return sql.replace("%", "%%").replace("?", "%s")


class _PostgresTransaction:
    def __init__(self, connection: psycopg.Connection[dict[str, Any]]):
        self._connection = connection
        self._sql: dict[str, str] = {}
        self.committed: list[Callable[[], None]] = []

    def after_commit(self, callback: Callable[[], None]) -> None:
        self.committed.append(callback)

    def _prepare(self, sql: str) -> str:
        translated = self._sql.get(sql)
        if translated is None:
            translated = self._sql[sql] = translate(sql)
        return translated

    def execute(self, sql: str, params: Sequence[object] = ()) -> int:
        return self._connection.execute(self._prepare(sql), tuple(params)).rowcount

    def one(self, sql: str, params: Sequence[object] = ()) -> Row | None:
        return self._connection.execute(self._prepare(sql), tuple(params)).fetchone()

    def all(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        return self._connection.execute(self._prepare(sql), tuple(params)).fetchall()


class PostgresDatabase:
    dialect = "postgresql"

    def __init__(self, url: str, *, pool_size: int = 4, connect_timeout: int = 10):
        self.url = url
        self._connect_timeout = connect_timeout
        self._idle: queue.LifoQueue[psycopg.Connection[dict[str, Any]]] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(pool_size)
        self._closed = False
        self._idle.put(self._connect())  # fail at start-up, not on the first request

    def _connect(self) -> psycopg.Connection[dict[str, Any]]:
        try:
            return psycopg.connect(
                self.url,
                autocommit=True,
                row_factory=dict_row,
                connect_timeout=self._connect_timeout,
            )
        except psycopg.OperationalError as exc:
            raise StorageBusy(f"Cannot connect to PostgreSQL: {exc}") from exc

    def run_sync(self, work: Callable[[Transaction], T]) -> T:
        """Run `work` in one transaction on a pooled connection (blocking)."""
        with self._slots:
            try:
                connection = self._idle.get_nowait()
            except queue.Empty:
                connection = self._connect()
            healthy = True
            tx = _PostgresTransaction(connection)
            try:
                with connection.transaction():
                    result = work(tx)
            except errors.IntegrityError as exc:
                raise StorageConflict(str(exc).strip()) from exc
            except (errors.LockNotAvailable, errors.DeadlockDetected) as exc:
                raise StorageBusy(str(exc).strip()) from exc
            except psycopg.OperationalError as exc:
                healthy = False
                raise StorageBusy(str(exc).strip()) from exc
            finally:
                if healthy and not connection.closed and not self._closed:
                    self._idle.put(connection)
                else:
                    connection.close()
        for callback in tx.committed:  # committed: the transaction block ended without error
            try:
                callback()
            except Exception:
                log.exception("an after-commit callback failed")
        return result

    async def run(self, work: Callable[[Transaction], T]) -> T:
        return await asyncio.to_thread(self.run_sync, work)

    def migrate(self) -> None:
        def lock(tx: Transaction) -> None:
            tx.one("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK_KEY,))

        self.run_sync(lambda tx: apply_migrations(tx, self.dialect, lock=lock))

    def close(self) -> None:
        self._closed = True
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return

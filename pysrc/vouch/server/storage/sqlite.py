"""SQLite backend: one connection, WAL, foreign keys on, immediate transactions.

Work runs on the event loop thread: SQLite calls here take microseconds, and a single
connection with BEGIN IMMEDIATE serialises writers inside this process while the file lock
serialises them across processes (serve.py --workers). A thread hop per request would cost
more than the queries.

Waiting for another process's write lock must not stop the event loop: SQLite's own busy
handler sleeps inside the call (1 ms, then 2, 5, 10 ms...), and every request of the
process would wait with it. So the connection's busy timeout is 0 and `run` retries BEGIN
IMMEDIATE itself, yielding to the event loop between tries, for up to BUSY_TIMEOUT_SECONDS
before giving up with StorageBusy. Once BEGIN IMMEDIATE holds the lock, nothing else in a
WAL transaction waits for another process.

Group commit: a COMMIT (writing every page the transaction changed to the WAL) costs more
than the statements of a request, and requests touch the same pages (rate-limit rows, the
ends of tables and indexes). So `run` does not commit each request's work on its own: it
queues the work, and one event loop callback, scheduled by the first `run` of an
iteration, runs everything queued by then in one transaction (BEGIN IMMEDIATE), each
request's work in a SAVEPOINT of it (released, or rolled back to if the work raises: all of
one request's writes or none of them), and then one COMMIT makes them durable together. No
request learns its outcome before that COMMIT: `run` returns (or raises) only after it, so
nothing is answered on state that could still be lost, a rate-limit count is committed
before the verification it guards, and if the COMMIT fails, every request of the batch
gets StorageBusy (nothing of any was kept). Because the batch runs in one callback, the
write lock is held for its statements and COMMIT only, not while the event loop runs other
requests' signature checks: other processes (serve.py --workers) wait no longer than that.
temp_store=MEMORY keeps the savepoints' undo journal in memory: spilled to a temporary
file, it made the statements of a batch cost nearly twice as much. `run_sync` (start-up
code) commits alone.

Checkpoints (copying the WAL back into the database file, then an fsync) run on a thread of
their own connection, every CHECKPOINT_INTERVAL_SECONDS: in the committing call they took
a sixth of the commit time and stopped the event loop for the fsync. The connection's own
automatic checkpoint stays as a backstop at WAL_BACKSTOP_PAGES (about 40 MB): under
continuous writes a concurrent checkpoint may never catch up with the end of the WAL, and
only a checkpoint that does lets the next writer start the WAL over; when the backstop
fires, the thread has already copied nearly all of it.

Durability: synchronous=NORMAL. In WAL mode that syncs at checkpoints, not at every
commit: a committed transaction survives the process crashing, and is lost only if the
machine loses power (or the OS crashes) before the next checkpoint; the database is never
corrupted. FULL would fsync on every commit, the one write that dominates a request.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from vouch.server.storage.base import Row, StorageBusy, StorageConflict, Transaction
from vouch.server.storage.migrations import apply_migrations

T = TypeVar("T")
log = logging.getLogger("vouch.server.storage")

BUSY_TIMEOUT_SECONDS = 5.0
CHECKPOINT_INTERVAL_SECONDS = 0.2
WAL_BACKSTOP_PAGES = 10_000
CACHE_KIB = 64 * 1024
_FIRST_RETRY_SECONDS = 0.0002
_LONGEST_RETRY_SECONDS = 0.001


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    return "locked" in str(exc) or "busy" in str(exc)


class _SQLiteTransaction:
    def __init__(self, connection: sqlite3.Connection):
        self._connection = connection
        self.committed: list[Callable[[], None]] = []

    def after_commit(self, callback: Callable[[], None]) -> None:
        self.committed.append(callback)

    def execute(self, sql: str, params: Sequence[object] = ()) -> int:
        return self._connection.execute(sql, tuple(params)).rowcount

    def one(self, sql: str, params: Sequence[object] = ()) -> Row | None:
        cursor = self._connection.execute(sql, tuple(params))
        row = cursor.fetchone()
        return None if row is None else dict(zip(_names(cursor), row, strict=True))

    def all(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        cursor = self._connection.execute(sql, tuple(params))
        names = _names(cursor)
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _names(cursor: sqlite3.Cursor) -> list[str]:
    """The columns' names, to zip with plain tuples: dict(sqlite3.Row) looks each one up by
    name, and cost a third of reading a recovery's guardians (12 of 24 us for three rows),
    a cost only a real account paid (tests/server/test_decoys.py times start)."""
    return [column[0] for column in cursor.description]


class SQLiteDatabase:
    dialect = "sqlite"

    def __init__(self, path: str):
        self.path = path
        self._connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute("PRAGMA foreign_keys=ON")
        self._connection.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_SECONDS * 1000)}")
        self._connection.execute("PRAGMA synchronous=NORMAL")
        self._connection.execute("PRAGMA busy_timeout=0")  # run() waits, see above
        self._connection.execute(f"PRAGMA wal_autocheckpoint={WAL_BACKSTOP_PAGES}")
        self._connection.execute("PRAGMA temp_store=MEMORY")  # savepoint journals
        # Pages kept between transactions (SQLite's default is 2 MiB): a page read again
        # costs a read from the WAL or the file, and a request reads a dozen b-trees.
        self._connection.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        # Held from BEGIN to COMMIT: by run_sync, or by the event loop thread for a batch.
        self._lock = threading.Lock()
        # The next batch: each request's work and the future its `run` awaits, and the loop
        # whose callback will run them.
        self._queue: list[tuple[Callable[[Transaction], Any], asyncio.Future[Any]]] | None = None
        self._queue_loop: asyncio.AbstractEventLoop | None = None
        self._checkpointer = _Checkpointer(path)

    def run_sync(self, work: Callable[[Transaction], T]) -> T:
        """Run `work` inside BEGIN IMMEDIATE ... COMMIT, rolling back on any exception;
        blocks while another process holds the write lock (start-up code and tools).

        The lock (uncontended on the event loop thread) keeps the one connection to one
        transaction at a time should start-up code or a tool call this from other threads.
        """
        deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
        pause = _FIRST_RETRY_SECONDS
        while True:
            with self._lock:
                if self._begin(deadline):
                    return self._run(work)
            time.sleep(pause)
            pause = min(2 * pause, _LONGEST_RETRY_SECONDS)

    async def run(self, work: Callable[[Transaction], T]) -> T:
        """Queue `work` for the next batch; return (or raise) once that batch is committed."""
        loop = asyncio.get_running_loop()
        if self._queue is None or self._queue_loop is not loop:
            # (A queue of another loop is one that stopped before running it: dropped.)
            self._queue, self._queue_loop = [], loop
            deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
            loop.call_soon(self._run_batch, deadline, _FIRST_RETRY_SECONDS)
        future: asyncio.Future[T] = loop.create_future()
        self._queue.append((work, future))
        return await future

    def _run_batch(self, deadline: float, pause: float) -> None:
        """The queued work, each in a savepoint of one transaction, then one COMMIT.

        Runs as one event loop callback, so the write lock is held for the statements and
        the COMMIT only, not while other requests verify signatures in between: another
        process (serve.py --workers) waits for no more than that.
        """
        queue, loop = self._queue, self._queue_loop
        if not queue or loop is None:
            self._queue = self._queue_loop = None
            return
        try:
            began = self._lock.acquire(blocking=False) and self._begin_or_release(deadline)
        except BaseException as exc:  # still busy at the deadline, or the file is unusable
            self._queue = self._queue_loop = None
            _fail(queue, exc)
            return
        if not began:  # work queued meanwhile joins this batch
            loop.call_later(
                pause, self._run_batch, deadline, min(2 * pause, _LONGEST_RETRY_SECONDS)
            )
            return
        self._queue = self._queue_loop = None
        outcomes: list[tuple[asyncio.Future[Any], tuple[bool, Any]]] = []
        committed: list[Callable[[], None]] = []
        try:
            for work, future in queue:
                if future.cancelled():  # its request is gone: nothing of it happens
                    continue
                outcomes.append((future, self._run_saved(work, committed)))
            self._connection.execute("COMMIT")
        except Exception as exc:
            failure = self._roll_back(exc)
            if failure is exc:
                failure = StorageBusy(f"The transaction failed, nothing was changed: {exc}")
                failure.__cause__ = exc
            _fail(queue, failure)
            return
        finally:
            self._lock.release()
        _call_all(committed)
        for future, (ok, value) in outcomes:
            if future.done():
                continue
            if ok:
                future.set_result(value)
            else:
                future.set_exception(_storage_error(value))

    def _run_saved(
        self, work: Callable[[Transaction], Any], committed: list[Callable[[], None]]
    ) -> tuple[bool, Any]:
        """One request's work in a savepoint: (True, result), or (False, error) with all of
        its writes undone. Raises if SQLite rolled back the whole transaction (an I/O error,
        a full disk): the batch's earlier work went with it. The after-commit callbacks of
        work that kept its writes are added to `committed`."""
        self._connection.execute("SAVEPOINT work")
        tx = _SQLiteTransaction(self._connection)
        try:
            result = work(tx)
        except Exception as exc:
            if not self._connection.in_transaction:
                raise
            self._connection.execute("ROLLBACK TO work")
            self._connection.execute("RELEASE work")
            return False, exc
        self._connection.execute("RELEASE work")
        committed.extend(tx.committed)
        return True, result

    def _begin_or_release(self, deadline: float) -> bool:
        """_begin, with the lock released unless it began."""
        try:
            began = self._begin(deadline)
        except BaseException:
            self._lock.release()
            raise
        if not began:
            self._lock.release()
        return began

    def _begin(self, deadline: float) -> bool:
        """BEGIN IMMEDIATE: True once it holds the write lock, False to try again later."""
        try:
            self._connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if _is_busy(exc) and time.monotonic() < deadline:
                return False
            raise StorageBusy(str(exc)) from exc
        return True

    def _run(self, work: Callable[[Transaction], T]) -> T:
        """`work` in the transaction _begin opened, then COMMIT (or ROLLBACK)."""
        tx = _SQLiteTransaction(self._connection)
        try:
            result = work(tx)
            self._connection.execute("COMMIT")
        except BaseException as exc:
            error = self._roll_back(exc)
            if error is exc:
                raise
            raise error from exc
        _call_all(tx.committed)
        return result

    def _roll_back(self, exc: BaseException) -> BaseException:
        """ROLLBACK, unless SQLite already did; `exc` as the storage contract's error."""
        if self._connection.in_transaction:
            self._connection.execute("ROLLBACK")
        return _storage_error(exc)

    def migrate(self) -> None:
        self.run_sync(lambda tx: apply_migrations(tx, self.dialect))

    def close(self) -> None:
        if self._queue:
            _fail(self._queue, StorageBusy("The database was closed before this work ran"))
        self._queue = self._queue_loop = None
        self._checkpointer.stop()
        self._connection.close()


def _fail(
    queue: list[tuple[Callable[[Transaction], Any], asyncio.Future[Any]]], error: BaseException
) -> None:
    for _, future in queue:
        if not future.done():
            future.set_exception(error)


def _call_all(callbacks: list[Callable[[], None]]) -> None:
    """After-commit callbacks: one that fails is logged, and the others still run."""
    for callback in callbacks:
        try:
            callback()
        except Exception:
            log.exception("an after-commit callback failed")


def _storage_error(exc: BaseException) -> BaseException:
    """SQLite's exceptions as the storage contract's: a refused write is a conflict, a lock
    not obtained is busy; anything else (the handlers' own errors) as it was."""
    if isinstance(exc, sqlite3.IntegrityError):
        error: BaseException = StorageConflict(str(exc))
    elif isinstance(exc, sqlite3.OperationalError) and _is_busy(exc):
        error = StorageBusy(str(exc))
    else:
        return exc
    error.__cause__ = exc
    return error


class _Checkpointer:
    """A thread that checkpoints the WAL (PASSIVE: never waits for, nor blocks, a writer)."""

    def __init__(self, path: str):
        self._connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stopping.wait(CHECKPOINT_INTERVAL_SECONDS):
            try:
                self._connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            except sqlite3.Error as exc:  # e.g. another process is checkpointing
                log.debug("checkpoint skipped: %s", exc)
        self._connection.close()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)

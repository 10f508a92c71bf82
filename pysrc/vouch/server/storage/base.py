"""The storage contract every backend meets: run a function inside one transaction.

Work functions are synchronous and take a `Transaction`: they cannot await, so nothing else
runs in the middle of one on SQLite (where it runs on the event loop thread), and on
PostgreSQL each runs on one pooled connection in a worker thread.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

T = TypeVar("T")
Row = dict[str, Any]


class StorageConflict(Exception):
    """A uniqueness or foreign-key rule refused a write: another request changed the same rows.

    The callers check what they can first and raise a specific error; this is what is left
    when two requests race past those checks.
    """


class StorageBusy(Exception):
    """The database could not take the transaction in time (locked or unreachable)."""


class Transaction(Protocol):
    """SQL with `?` placeholders, run inside one open transaction."""

    def execute(self, sql: str, params: Sequence[object] = ()) -> int:
        """Run a statement; return the number of rows it changed."""
        ...

    def one(self, sql: str, params: Sequence[object] = ()) -> Row | None:
        """Run a query; return its first row, if any."""
        ...

    def all(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        """Run a query; return every row."""
        ...

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call `callback` once this transaction has committed (never if it rolls back).

        For what must not happen before the data is visible to others, such as waking the
        outbox worker of this process: woken earlier, it could look before the commit and
        find nothing. It may run on another thread than the work (PostgreSQL's).
        """
        ...


class Database(Protocol):
    """A database that runs work atomically: all of `work` commits, or none of it."""

    dialect: str

    async def run(self, work: Callable[[Transaction], T]) -> T:
        """Run `work` in one transaction, committed if it returns and rolled back if it raises."""
        ...

    def run_sync(self, work: Callable[[Transaction], T]) -> T:
        """`run` for start-up code that has no event loop yet."""
        ...

    def migrate(self) -> None:
        """Bring the schema to the newest version."""
        ...

    def close(self) -> None: ...

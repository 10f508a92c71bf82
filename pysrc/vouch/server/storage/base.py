"""The storage contract every backend meets: run a function inside one transaction."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

T = TypeVar("T")
Row = dict[str, Any]


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


class Database(Protocol):
    """A database that runs work atomically: all of `work` commits, or none of it."""

    dialect: str

    async def run(self, work: Callable[[Transaction], T]) -> T:
        """Run `work` in one transaction, committed if it returns and rolled back if it raises."""
        ...

    def migrate(self) -> None:
        """Bring the schema to the newest version."""
        ...

    def close(self) -> None: ...

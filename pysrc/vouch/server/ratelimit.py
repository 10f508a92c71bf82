"""Rate limits kept in the database, so every server process counts the same attempts.

A window opens at a key's first attempt and lasts the limit's length; one upsert counts a
request's attempt against all its keys (its address; the account and address) and reads the
counts back.
A refused attempt is not counted (its transaction rolls back), so a client that waits out
`Retry-After` gets a full window again.
"""

from __future__ import annotations

from collections.abc import Sequence

from vouch.server.config import RateLimit
from vouch.server.context import Context
from vouch.server.errors import RateLimited
from vouch.server.storage import Row, Transaction

_ROW = "(?, ?, ?, 1)"
_UPSERT = (
    " ON CONFLICT (key) DO UPDATE SET"
    " hits = CASE WHEN rate_limits.window_end > ? THEN rate_limits.hits + 1 ELSE 1 END,"
    " window_start = CASE WHEN rate_limits.window_end > ?"
    " THEN rate_limits.window_start ELSE excluded.window_start END,"
    " window_end = CASE WHEN rate_limits.window_end > ?"
    " THEN rate_limits.window_end ELSE excluded.window_end END"
    " RETURNING key, hits, window_end"
)
_HITS: dict[int, str] = {}

Hit = tuple[str, str]  # (limit name, subject: an address or an account)


def hit(tx: Transaction, context: Context, hits: Sequence[Hit]) -> None:
    """Count one attempt against each (limit, subject); RateLimited if any is over."""
    now = context.now()
    for limit, row in _count(tx, context, hits, now):
        if row["hits"] > limit.count:
            retry_after = max(1, int(row["window_end"]) - now)
            raise RateLimited(
                f"Too many attempts: try again in {_duration(retry_after)}.",
                retry_after=retry_after,
            )


def count(tx: Transaction, context: Context, hits: Sequence[Hit]) -> None:
    """Count one attempt against each (limit, subject), refusing nothing (a budget)."""
    _count(tx, context, hits, context.now())


def excess(tx: Transaction, context: Context, name: str, subject: str) -> int:
    """How many attempts the window now open for (limit, subject) has had past its count."""
    row = tx.one("SELECT hits, window_end FROM rate_limits WHERE key = ?", (f"{name}:{subject}",))
    if row is None or int(row["window_end"]) <= context.now():
        return 0
    return max(0, int(row["hits"]) - context.config.rate_limit(name).count)


def account_address(account: str, address: str) -> str:
    """The subject of a per-account-and-address limit (an address never contains "/")."""
    return f"{address}/{account}"


def _count(
    tx: Transaction, context: Context, hits: Sequence[Hit], now: int
) -> list[tuple[RateLimit, Row]]:
    limits = [(f"{name}:{subject}", context.config.rate_limit(name)) for name, subject in hits]
    if not limits:
        return []
    if len({key for key, _ in limits}) != len(limits):  # one statement may not update a row twice
        return [counted for limit in limits for counted in _upsert(tx, [limit], now)]
    return _upsert(tx, limits, now)


def _upsert(
    tx: Transaction, limits: list[tuple[str, RateLimit]], now: int
) -> list[tuple[RateLimit, Row]]:
    sql = _HITS.get(len(limits))
    if sql is None:
        rows = ", ".join([_ROW] * len(limits))  # placeholders only
        sql = _HITS[len(limits)] = (
            f"INSERT INTO rate_limits (key, window_start, window_end, hits) VALUES {rows}{_UPSERT}"  # noqa: S608
        )
    params: list[object] = []
    for key, limit in limits:
        params += (key, now, now + limit.seconds)
    counted = {row["key"]: row for row in tx.all(sql, (*params, now, now, now))}
    return [(limit, counted[key]) for key, limit in limits]


async def enforce(context: Context, hits: Sequence[Hit]) -> None:
    """`hit` in a transaction of its own, committed before the attempt it counts is made."""
    await context.database.run(lambda tx: hit(tx, context, hits))


def _duration(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = (seconds + 59) // 60
    return f"{minutes} minutes"

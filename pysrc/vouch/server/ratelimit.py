"""Rate limits kept in the database, so every server process counts the same attempts.

A window opens at a key's first attempt and lasts the limit's length; one upsert counts the
attempt and reads the count back. A refused attempt is not counted (its transaction rolls
back), so a client that waits out `Retry-After` gets a full window again.
"""

from __future__ import annotations

from collections.abc import Sequence

from vouch.server.context import Context
from vouch.server.errors import RateLimited
from vouch.server.storage import Transaction

_HIT = (
    "INSERT INTO rate_limits (key, window_start, window_end, hits) VALUES (?, ?, ?, 1)"
    " ON CONFLICT (key) DO UPDATE SET"
    " hits = CASE WHEN rate_limits.window_end > ? THEN rate_limits.hits + 1 ELSE 1 END,"
    " window_start = CASE WHEN rate_limits.window_end > ?"
    " THEN rate_limits.window_start ELSE excluded.window_start END,"
    " window_end = CASE WHEN rate_limits.window_end > ?"
    " THEN rate_limits.window_end ELSE excluded.window_end END"
    " RETURNING hits, window_end"
)

Hit = tuple[str, str]  # (limit name, subject: an address or an account)


def hit(tx: Transaction, context: Context, hits: Sequence[Hit]) -> None:
    """Count one attempt against each (limit, subject); RateLimited if any is over."""
    now = context.now()
    for name, subject in hits:
        limit = context.config.rate_limit(name)
        row = tx.one(_HIT, (f"{name}:{subject}", now, now + limit.seconds, now, now, now))
        assert row is not None
        if row["hits"] > limit.count:
            retry_after = max(1, int(row["window_end"]) - now)
            raise RateLimited(
                f"Too many attempts: try again in {_duration(retry_after)}.",
                retry_after=retry_after,
            )


async def enforce(context: Context, hits: Sequence[Hit]) -> None:
    """`hit` in a transaction of its own, committed before the attempt it counts is made."""
    await context.database.run(lambda tx: hit(tx, context, hits))


def _duration(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = (seconds + 59) // 60
    return f"{minutes} minutes"

"""The account's audit log: sign-ins, guardian changes, recovery attempts, cancellations.

Events are written in the transaction of what they record, so a change and its event commit
together. A refused recovery rolls its transaction back, so its event is written afterwards
in a transaction of its own (`record_failure`). A refused recovery check or execute writes
it after the refusal has been sent (`record_soon`): an unknown name (a decoy) has no
account to write it to, and the write must not make a real account's refusal measurably
slower than a decoy's.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Coroutine
from typing import Any

from vouch.server.context import Context
from vouch.server.storage import StorageBusy, Transaction

log = logging.getLogger("vouch.server.audit")
_compact = json.JSONEncoder(separators=(",", ":")).encode  # json.dumps(..., separators=...)

MAX_EVENTS = 200
# The failures being written after their refusal was sent: held so they are not collected.
_writing: set[asyncio.Task[None]] = set()


def record(
    tx: Transaction, context: Context, account_id: str, kind: str, detail: dict[str, Any]
) -> None:
    tx.execute(
        "INSERT INTO audit_events (account_id, at, kind, detail) VALUES (?, ?, ?, ?)",
        (account_id, context.now(), kind, _compact(detail)),
    )


async def record_failure(
    context: Context, account_id: str | None, kind: str, detail: dict[str, Any]
) -> None:
    """Record a refused attempt after its own transaction rolled back.

    Best effort: a busy database must not turn the refusal the client is owed into a 503.
    """
    if account_id is None:
        return
    try:
        await context.database.run(lambda tx: record(tx, context, account_id, kind, detail))
    except StorageBusy:
        log.warning("could not record %s for %s: database busy", kind, account_id)


def record_soon(
    context: Context, account_id: str | None, kind: str, detail: dict[str, Any]
) -> None:
    """`record_failure` (best effort, in a transaction of its own), once the answer has gone
    out: the same answer takes the same time whether or not the name is an account's."""
    if account_id is None:
        return
    soon(record_failure(context, account_id, kind, detail))


def soon(work: Coroutine[Any, Any, None]) -> None:
    """Run `work` after the handler has answered, holding it until it is done."""
    task = asyncio.ensure_future(work)
    _writing.add(task)
    task.add_done_callback(_writing.discard)


def events(tx: Transaction, account_id: str, *, limit: int = MAX_EVENTS) -> list[dict[str, Any]]:
    """Newest first."""
    rows = tx.all(
        "SELECT at, kind, detail FROM audit_events WHERE account_id = ? ORDER BY id DESC LIMIT ?",
        (account_id, limit),
    )
    return [
        {"at": row["at"], "kind": row["kind"], "detail": json.loads(row["detail"])} for row in rows
    ]

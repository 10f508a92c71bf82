"""The outbox table: deliveries queued in the transaction of their event, leased by a
worker, then marked sent or retried, and a log of every attempt.

Leasing is what lets several server processes share one outbox: a claim is one UPDATE
that sets `lease_until` on due rows whose lease is free or ran out, returning them. On
SQLite, BEGIN IMMEDIATE serialises every writer across processes, so two claims never
overlap. On PostgreSQL (READ COMMITTED) two claims could pick the same rows, so the rows
are picked `FOR UPDATE SKIP LOCKED`: each claim takes rows no other open claim holds, and
the lease conditions are checked again on the locked row.

Delivery is at least once, with one id per event: a worker killed after a send but before
its row is marked sends it again once its lease runs out, under the same `event_id`, which
receivers deduplicate by (webhook-id, Message-ID).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

from vouch.server.storage import Row, Transaction

PENDING = "pending"
SENT = "sent"
FAILED = "failed"
MAIL = "mail"
WEBHOOK = "webhook"
MAX_ERROR_CHARS = 500


@dataclass(frozen=True)
class Delivery:
    """One leased row: what to send, where, and how many tries it has had before this one."""

    id: str
    event_id: str
    event: str
    account_id: str | None
    channel: str
    destination: str
    payload: dict[str, Any]
    created_at: int
    attempts: int

    @classmethod
    def from_row(cls, row: Row) -> Delivery:
        return cls(
            id=row["id"],
            event_id=row["event_id"],
            event=row["event"],
            account_id=row["account_id"],
            channel=row["channel"],
            destination=row["destination"],
            payload=json.loads(row["payload"]),
            created_at=row["created_at"],
            attempts=row["attempts"],
        )


def new_event_id() -> str:
    """`evt_` and 128 random bits: the id receivers deduplicate by."""
    return "evt_" + secrets.token_urlsafe(16)


def enqueue(
    tx: Transaction,
    *,
    event_id: str,
    event: str,
    account_id: str | None,
    channel: str,
    destination: str,
    payload: dict[str, Any],
    now: int,
) -> None:
    tx.execute(
        "INSERT INTO outbox (id, event_id, event, account_id, channel, destination, payload,"
        " created_at, status, attempts, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)",
        (
            "dlv_" + secrets.token_urlsafe(12),
            event_id,
            event,
            account_id,
            channel,
            destination,
            json.dumps(payload, separators=(",", ":"), sort_keys=True),
            now,
            PENDING,
            now,
        ),
    )


_DUE = (
    "SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= ?"
    " AND (lease_until IS NULL OR lease_until <= ?) ORDER BY next_attempt_at, created_at LIMIT ?"
)
_CLAIM = (
    "UPDATE outbox SET lease_owner = ?, lease_until = ? WHERE id IN ({due})"
    " AND status = 'pending' AND (lease_until IS NULL OR lease_until <= ?) RETURNING *"
)
CLAIM_SQL = {
    "sqlite": _CLAIM.format(due=_DUE),
    "postgresql": _CLAIM.format(due=_DUE + " FOR UPDATE SKIP LOCKED"),
}


def claim(
    tx: Transaction, dialect: str, *, owner: str, now: int, lease_seconds: int, limit: int
) -> list[Delivery]:
    """Lease up to `limit` due deliveries to `owner` until now + lease_seconds."""
    rows = tx.all(CLAIM_SQL[dialect], (owner, now + lease_seconds, now, now, limit, now))
    return sorted((Delivery.from_row(row) for row in rows), key=lambda d: d.created_at)


def _log(tx: Transaction, delivery: Delivery, *, now: int, ok: bool, detail: str) -> None:
    tx.execute(
        "INSERT INTO outbox_attempts (outbox_id, attempt, at, ok, detail) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (outbox_id, attempt) DO NOTHING",
        (delivery.id, delivery.attempts + 1, now, int(ok), detail[:MAX_ERROR_CHARS]),
    )


def mark_sent(tx: Transaction, delivery: Delivery, *, now: int, detail: str) -> None:
    """Sent: whoever holds the lease now, this row need not be sent again."""
    changed = tx.execute(
        "UPDATE outbox SET status = ?, attempts = attempts + 1, finished_at = ?,"
        " lease_owner = NULL, lease_until = NULL, last_error = NULL"
        " WHERE id = ? AND status = ?",
        (SENT, now, delivery.id, PENDING),
    )
    if changed:
        _log(tx, delivery, now=now, ok=True, detail=detail)


def mark_failed(
    tx: Transaction, delivery: Delivery, *, owner: str, now: int, error: str, retry_at: int | None
) -> None:
    """A failed try: due again at `retry_at`, or given up (None). Only while `owner` still
    holds the lease: a worker whose lease ran out must not undo a newer worker's outcome."""
    changed = tx.execute(
        "UPDATE outbox SET status = ?, attempts = attempts + 1, next_attempt_at = ?,"
        " last_error = ?, finished_at = ?, lease_owner = NULL, lease_until = NULL"
        " WHERE id = ? AND status = ? AND lease_owner = ?",
        (
            PENDING if retry_at is not None else FAILED,
            retry_at if retry_at is not None else now,
            error[:MAX_ERROR_CHARS],
            None if retry_at is not None else now,
            delivery.id,
            PENDING,
            owner,
        ),
    )
    if changed:
        _log(tx, delivery, now=now, ok=False, detail=error)


def prune(tx: Transaction, *, now: int, keep_sent: int, keep_failed: int) -> int:
    """Forget sent deliveries after `keep_sent` seconds and given-up ones after
    `keep_failed` (their attempts go with them)."""
    old = tx.all(
        "SELECT id FROM outbox WHERE (status = ? AND finished_at < ?)"
        " OR (status = ? AND finished_at < ?)",
        (SENT, now - keep_sent, FAILED, now - keep_failed),
    )
    for row in old:
        tx.execute("DELETE FROM outbox_attempts WHERE outbox_id = ?", (row["id"],))
        tx.execute("DELETE FROM outbox WHERE id = ?", (row["id"],))
    return len(old)


def log_of(tx: Transaction, *, limit: int = 100) -> list[Row]:
    """The newest deliveries with their status, tries and last error (the delivery log)."""
    return tx.all(
        "SELECT event_id, event, channel, destination, status, attempts, last_error,"
        " created_at, finished_at FROM outbox ORDER BY created_at DESC LIMIT ?",
        (limit,),
    )

"""Single-use, expiring server challenges, kept in the database so any process can check them."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

from vouch.server.context import Context
from vouch.server.errors import ChallengeError
from vouch.server.storage import Row, Transaction


@dataclass(frozen=True)
class Challenge:
    id: str
    challenge: bytes
    account_id: str | None
    data: dict[str, Any]
    expires_at: int


def issue(
    tx: Transaction,
    context: Context,
    purpose: str,
    *,
    account_id: str | None = None,
    data: dict[str, Any] | None = None,
) -> Challenge:
    challenge = Challenge(
        id=secrets.token_urlsafe(18),
        challenge=secrets.token_bytes(32),
        account_id=account_id,
        data=data or {},
        expires_at=context.now() + context.config.challenge_ttl_seconds,
    )
    tx.execute(
        "INSERT INTO challenges (id, purpose, challenge, account_id, data, expires_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (
            challenge.id,
            purpose,
            challenge.challenge,
            account_id,
            json.dumps(challenge.data),
            challenge.expires_at,
        ),
    )
    return challenge


def peek(tx: Transaction, context: Context, challenge_id: str, purpose: str) -> Challenge:
    """The challenge, if it could be consumed now, without consuming it (for a proof that is
    checked before the transaction that consumes it)."""
    return _usable(
        tx.one("SELECT * FROM challenges WHERE id = ?", (challenge_id,)), purpose, context.now()
    )


def _usable(row: Row | None, purpose: str, now: int) -> Challenge:
    if row is None:
        raise ChallengeError("Unknown challenge: start again.")
    if row["purpose"] != purpose:
        raise ChallengeError(f'This challenge is for "{row["purpose"]}", not "{purpose}".')
    if row["used_at"] is not None:
        raise ChallengeError("This challenge was already used: start again.", code="challenge_used")
    if row["expires_at"] <= now:
        raise ChallengeError("This challenge has expired: start again.", code="challenge_expired")
    return Challenge(
        id=row["id"],
        challenge=bytes(row["challenge"]),
        account_id=row["account_id"],
        data=json.loads(row["data"]),
        expires_at=row["expires_at"],
    )


def consume(tx: Transaction, context: Context, challenge_id: str, purpose: str) -> Challenge:
    """Mark the challenge used, or say exactly why it cannot be.

    The conditional UPDATE is what makes it single use: of two racing requests, only one
    changes the row; the other sees rowcount 0 and is refused.
    """
    now = context.now()
    challenge = _usable(
        tx.one("SELECT * FROM challenges WHERE id = ?", (challenge_id,)), purpose, now
    )
    changed = tx.execute(
        "UPDATE challenges SET used_at = ? WHERE id = ? AND used_at IS NULL", (now, challenge_id)
    )
    if changed != 1:
        raise ChallengeError("This challenge was already used: start again.", code="challenge_used")
    return challenge

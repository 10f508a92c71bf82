"""Dialog sessions: opaque bearer tokens, stored only as their SHA-256, revocable in bulk."""

from __future__ import annotations

import hashlib
import secrets

from starlette.requests import Request

from vouch.server.context import Context
from vouch.server.errors import Unauthorized
from vouch.server.storage import Row, Transaction


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("ascii", "replace")).digest()


def create_session(tx: Transaction, context: Context, account_id: str) -> str:
    token = secrets.token_urlsafe(32)
    now = context.now()
    tx.execute(
        "INSERT INTO sessions (token_hash, account_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
        (_digest(token), account_id, now, now + context.config.session_ttl_seconds),
    )
    return token


def bearer_token(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("Sign in first: this request needs a session.")
    return token.strip()


def session_account(tx: Transaction, context: Context, token: str) -> Row:
    """The signed-in account for a session token, or Unauthorized saying why not."""
    row = tx.one(
        "SELECT s.expires_at, s.revoked_at, a.* FROM sessions s"
        " JOIN accounts a ON a.id = s.account_id WHERE s.token_hash = ?",
        (_digest(token),),
    )
    if row is None or row["revoked_at"] is not None:
        raise Unauthorized("This session is not valid any more: sign in again.")
    if row["expires_at"] <= context.now():
        raise Unauthorized("This session has expired: sign in again.")
    return row


def revoke_sessions(tx: Transaction, account_id: str, now: int) -> None:
    tx.execute(
        "UPDATE sessions SET revoked_at = ? WHERE account_id = ? AND revoked_at IS NULL",
        (now, account_id),
    )

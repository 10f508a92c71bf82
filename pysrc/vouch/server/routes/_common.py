"""What sign-in, sign-up and recovery answer alike: a dialog session and a host-app token."""

from __future__ import annotations

from typing import Any

from vouch.server import sessions
from vouch.server.context import Context
from vouch.server.errors import BadRequest
from vouch.server.storage import Transaction


def audience_of(context: Context, body: dict[str, Any]) -> str:
    """The origin the host-app token is for; checked before anything is consumed."""
    audience = body.get("audience")
    if audience is None:
        return context.config.origin
    if not context.config.audience_allowed(audience):
        raise BadRequest(
            f'"{audience}" may not receive tokens from this dialog: it is neither the'
            " dialog's own origin nor one of its allowed origins (--allow-origin).",
            code="audience_not_allowed",
        )
    return str(audience)


def signed_in(
    tx: Transaction,
    context: Context,
    *,
    account_id: str,
    username: str,
    audience: str,
    session: str | None = None,
) -> dict[str, Any]:
    """The body every successful sign-in returns; creates the session unless given one."""
    if session is None:
        session = sessions.create_session(tx, context, account_id)
    token = context.tokens.issue(
        account_id=account_id, username=username, audience=audience, now=context.now()
    )
    return {"account": account_id, "username": username, "session": session, "token": token}

"""Emitting an event: the mail to the owner and a delivery per webhook, queued in the
caller's transaction, next to the audit row of what happened, so they commit together or
not at all. The worker sends them after the commit (vouch.server.outbox.worker).

Mail goes only to a verified address (vouch.server.email_addresses), and only for the
events with a template; webhooks get their own list of events (webhooks.EVENTS).
"""

from __future__ import annotations

from typing import Any

from vouch.server import email_addresses
from vouch.server.context import Context
from vouch.server.outbox import store, webhooks
from vouch.server.outbox.messages import TEMPLATES
from vouch.server.outbox.user_agent import describe
from vouch.server.storage import Transaction


def emit(
    tx: Transaction,
    context: Context,
    *,
    account_id: str,
    username: str,
    event: str,
    data: dict[str, Any],
    user_agent: str | None,
    mail_to: str | None = None,
) -> str | None:
    """Queue `event`'s mail and webhooks; return its id (None: nothing to send it to).

    The mail goes to the account's verified address, or to `mail_to` (an address that was
    the account's: told it was replaced).

    Nothing is computed before it is known to be sent: a recovery start of a real account
    emits `recovery.started`, and on a server without webhooks that must cost what a
    decoy's start costs, which emits nothing (tests/server/test_decoys.py).
    """
    outbox = context.outbox
    mails = event in TEMPLATES and outbox.sends_mail
    hooks = outbox.settings.webhooks if event in webhooks.EVENTS else ()
    if not mails:
        address = None
    elif mail_to is not None:
        address = mail_to
    else:
        address = email_addresses.verified_address(tx, account_id)
    if address is None and not hooks:
        return None
    now = context.now()
    event_id = store.new_event_id()
    common = {"account": account_id, "username": username, "device": describe(user_agent)}
    if address is not None:
        store.enqueue(
            tx,
            event_id=event_id,
            event=event,
            account_id=account_id,
            channel=store.MAIL,
            destination=address,
            payload={**common, **data, "at": now},
            now=now,
        )
    if hooks:
        text = webhooks.body(event, {**common, **data}, at=now)
        for url in hooks:
            store.enqueue(
                tx,
                event_id=event_id,
                event=event,
                account_id=account_id,
                channel=store.WEBHOOK,
                destination=url,
                payload={"body": text},
                now=now,
            )
    tx.after_commit(outbox.wake)
    return event_id

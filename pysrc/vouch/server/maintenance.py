"""Housekeeping: forget what can no longer be used, so tables stay the size of live state.

Expired challenges, unexecuted recoveries (decoys included), the out-of-band approvals,
mailed codes and contacts' help requests of expired recoveries, rate-limit windows that
have closed, the hashes of used ID tokens that have expired, email verification codes past
their expiry, and outbox deliveries sent (or given up) long enough ago. Run every few
minutes by the app's lifespan; harmless to run from several processes at once.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable

from vouch.server.outbox import store as outbox_store
from vouch.server.outbox.settings import OutboxSettings
from vouch.server.storage import Database, StorageBusy, Transaction

log = logging.getLogger("vouch.server.maintenance")

INTERVAL_SECONDS = 300
GRACE_SECONDS = 3600  # keep expired rows a while, so late requests get "expired", not "unknown"


def prune(tx: Transaction, now: int, outbox: OutboxSettings | None = None) -> int:
    cutoff = now - GRACE_SECONDS
    removed = tx.execute("DELETE FROM challenges WHERE expires_at < ?", (cutoff,))
    # Before the recoveries they reference; they expire with them (used ones included).
    removed += tx.execute("DELETE FROM recovery_approvals WHERE expires_at < ?", (cutoff,))
    removed += tx.execute(
        "DELETE FROM recovery_email_codes WHERE recovery_expires_at < ?", (cutoff,)
    )
    removed += tx.execute("DELETE FROM contact_requests WHERE expires_at < ?", (cutoff,))
    removed += tx.execute(
        "DELETE FROM recoveries WHERE status = 'started' AND expires_at < ?", (cutoff,)
    )
    removed += tx.execute("DELETE FROM rate_limits WHERE window_end < ?", (now,))
    # An expired ID token is refused before its hash is looked up.
    removed += tx.execute("DELETE FROM used_id_tokens WHERE expires_at < ?", (cutoff,))
    removed += tx.execute("DELETE FROM email_verifications WHERE expires_at < ?", (cutoff,))
    settings = outbox or OutboxSettings()
    removed += outbox_store.prune(
        tx, now=now, keep_sent=settings.keep_sent_seconds, keep_failed=settings.keep_failed_seconds
    )
    return removed


def _prune_now(
    tx: Transaction, *, clock: Callable[[], float], outbox: OutboxSettings | None
) -> int:
    return prune(tx, int(clock()), outbox)


async def run_forever(
    database: Database, clock: Callable[[], float], outbox: OutboxSettings | None = None
) -> None:
    """Prune every INTERVAL_SECONDS until cancelled."""
    while True:
        await asyncio.sleep(INTERVAL_SECONDS)
        removed = 0
        try:
            removed = await database.run(functools.partial(_prune_now, clock=clock, outbox=outbox))
        except StorageBusy as exc:
            log.warning("pruning skipped: %s", exc)
            continue
        if removed:
            log.info("pruned %d expired rows", removed)

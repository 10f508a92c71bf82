"""The outbox worker: a task in every server process that leases due deliveries, sends
them, and records each outcome, retrying with exponential backoff up to a cap.

Woken by this process's commits (Transaction.after_commit) and otherwise polling, so rows
queued by another process, or due for a retry, are found too. A busy database or a failed
send never stops it; a row whose outcome could not be recorded is sent again once its lease
runs out (at least once, deduplicated by event id).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable

from vouch.server.outbox import store
from vouch.server.outbox.mail import SendError
from vouch.server.outbox.service import Outbox
from vouch.server.outbox.store import Delivery
from vouch.server.storage import Database, StorageBusy, Transaction

log = logging.getLogger("vouch.server.outbox")


def backoff(
    attempts: int, *, base: int, cap: int, jitter: Callable[[int], int] = secrets.randbelow
) -> int:
    """Seconds before the next try after `attempts` failed ones: base, 2 base, 4 base... cap,
    less up to half of it at random (`jitter(n)` is in [0, n)): deliveries that failed
    together, in a receiver's outage, do not all come back to it in the same second."""
    delay = int(min(cap, base * 2 ** min(attempts - 1, 32)))
    return delay - jitter(delay // 2 + 1) if delay > 1 else delay


class Worker:
    def __init__(self, outbox: Outbox, database: Database, clock: Callable[[], float]):
        self.outbox = outbox
        self.database = database
        self.clock = clock
        self.owner = "wkr_" + secrets.token_urlsafe(9)

    async def run_forever(self) -> None:
        self.outbox.attach(asyncio.get_running_loop())
        settings = self.outbox.settings
        while True:
            try:
                claimed = await self.run_once()
            except StorageBusy as exc:
                log.warning("outbox: database busy, trying again: %s", exc)
                claimed = 0
            if claimed < settings.batch:  # a full batch: there may be more due at once
                await self.outbox.sleep(settings.poll_seconds)

    async def run_once(self) -> int:
        """Lease what is due, send it all, record the outcomes; how many were leased."""
        settings = self.outbox.settings
        now = int(self.clock())

        def claim(tx: Transaction) -> list[Delivery]:
            return store.claim(
                tx,
                self.database.dialect,
                owner=self.owner,
                now=now,
                lease_seconds=settings.lease_seconds,
                limit=settings.batch,
            )

        deliveries = await self.database.run(claim)
        if deliveries:
            await asyncio.gather(*(self._deliver(delivery) for delivery in deliveries))
        return len(deliveries)

    async def _deliver(self, delivery: Delivery) -> None:
        settings = self.outbox.settings
        what = f"{delivery.channel} {delivery.event} {delivery.event_id}"
        error: str | None = None
        try:
            detail = await self.outbox.send(delivery, now=self.clock())
        except SendError as exc:
            error = str(exc)
        except Exception as exc:  # a bug, not the receiver's fault: logged, retried
            log.exception("outbox: %s failed", what)
            error = f"internal error: {type(exc).__name__}"
        now = int(self.clock())
        tries = delivery.attempts + 1
        if error is None:
            log.info("outbox: %s sent (try %d): %s", what, tries, detail)
            await self._record(lambda tx: store.mark_sent(tx, delivery, now=now, detail=detail))
            return
        if tries >= settings.max_attempts:
            log.error("outbox: %s failed %d times, giving up: %s", what, tries, error)
            retry_at = None
        else:
            wait = backoff(tries, base=settings.retry_base_seconds, cap=settings.retry_cap_seconds)
            log.warning(
                "outbox: %s failed (try %d of %d), next in %d s: %s",
                what,
                tries,
                settings.max_attempts,
                wait,
                error,
            )
            retry_at = now + wait
        await self._record(
            lambda tx: store.mark_failed(
                tx, delivery, owner=self.owner, now=now, error=error, retry_at=retry_at
            )
        )

    async def _record(self, work: Callable[[Transaction], None]) -> None:
        try:
            await self.database.run(work)
        except StorageBusy as exc:
            log.warning("outbox: outcome not recorded (sent again after the lease): %s", exc)

"""The outbox as the app holds it: its settings, what sends mail and webhooks, and the
wake-up call a committed event makes to this process's worker."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from email.message import EmailMessage

from vouch.server.outbox import messages
from vouch.server.outbox.mail import DirectoryMailer, Mailer, SendError, SmtpMailer
from vouch.server.outbox.settings import OutboxSettings
from vouch.server.outbox.store import MAIL, WEBHOOK, Delivery
from vouch.server.outbox.webhooks import WebhookSender

log = logging.getLogger("vouch.server.outbox")


class Outbox:
    """Sends what the worker leased, by channel; `wake` may be called from any thread."""

    def __init__(
        self,
        settings: OutboxSettings,
        *,
        site: messages.Site,
        cancel_url: Callable[[str], str],
        mailer: Mailer | None = None,
    ):
        self.settings = settings
        self.site = site
        self.cancel_url = cancel_url
        if mailer is None and settings.smtp is not None:
            mailer = SmtpMailer(settings.smtp, timeout_seconds=settings.send_timeout_seconds)
        elif mailer is None and settings.mail_dir is not None:
            mailer = DirectoryMailer(settings.mail_dir)
        self.mailer = mailer
        self.webhooks = (
            WebhookSender(settings.webhook_secret, timeout_seconds=settings.send_timeout_seconds)
            if settings.webhooks and settings.webhook_secret
            else None
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._woken = asyncio.Event()
        self._direct: set[asyncio.Task[None]] = set()

    @property
    def sends_mail(self) -> bool:
        return self.mailer is not None

    # Waking the worker ---------------------------------------------------------------------

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def wake(self) -> None:
        """Something was queued and committed: look now rather than at the next poll."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._woken.set()
        else:
            loop.call_soon_threadsafe(self._woken.set)

    async def sleep(self, seconds: float) -> None:
        """Until woken, or `seconds` pass."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._woken.wait(), seconds)
        self._woken.clear()

    # Sending -------------------------------------------------------------------------------

    async def send(self, delivery: Delivery, *, now: float) -> str:
        """Send one leased delivery; SendError says why it was not taken."""
        if delivery.channel == MAIL:
            if self.mailer is None:
                raise SendError("no mail is configured (--smtp or --mail-dir)")
            message = messages.event_mail(
                site=self.site,
                sender=self.settings.mail_from,
                to=delivery.destination,
                event=delivery.event,
                event_id=delivery.event_id,
                data=delivery.payload,
                cancel_url=self.cancel_url,
            )
            return await self.mailer.send(message)
        if delivery.channel == WEBHOOK:
            if self.webhooks is None or delivery.destination not in self.settings.webhooks:
                raise SendError(f"webhook {delivery.destination} is no longer configured")
            return await self.webhooks.send(
                delivery.destination, delivery.event_id, delivery.payload["body"], now=now
            )
        raise SendError(f"unknown channel {delivery.channel!r}")

    def send_soon(self, message: EmailMessage, *, what: str, until: float) -> None:
        """Send a mail that must not wait in the database, a one-time code, from this
        process: retried with the outbox's backoff until `until` (when the code expires);
        lost if the process dies, when the person asks for a new code."""
        if self.mailer is None:
            log.warning("%s not sent: no mail is configured", what)
            return
        task = asyncio.get_running_loop().create_task(self._send_direct(message, what, until))
        self._direct.add(task)
        task.add_done_callback(self._direct.discard)

    async def _send_direct(self, message: EmailMessage, what: str, until: float) -> None:
        assert self.mailer is not None
        wait = float(self.settings.retry_base_seconds)
        while True:
            try:
                detail = await self.mailer.send(message)
            except SendError as exc:
                if time.time() + wait >= until:
                    log.error("%s not sent, giving up (it expires): %s", what, exc)
                    return
                log.warning("%s not sent, trying again in %g s: %s", what, wait, exc)
                await asyncio.sleep(wait)
                wait = min(2 * wait, self.settings.retry_cap_seconds)
                continue
            log.info("%s sent: %s", what, detail)
            return

    async def close(self) -> None:
        for task in list(self._direct):
            task.cancel()
        for task in list(self._direct):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.webhooks is not None:
            await self.webhooks.close()

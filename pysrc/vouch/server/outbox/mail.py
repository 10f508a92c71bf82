"""Where mail goes: an SMTP relay (aiosmtplib, STARTTLS whenever the server offers it) or,
with none configured, a directory of .eml files a person can open and read.

Both are idempotent per Message-ID where they can be: a file is named after it, so a mail
sent again after a crash replaces its own copy; SMTP relays cannot deduplicate, so a mail
re-sent after a crash between the relay's 250 and the outbox's commit arrives twice with
the same Message-ID (which mail clients show as one).
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path
from typing import Protocol

import aiosmtplib

from vouch.server.outbox.settings import SmtpSettings


class SendError(Exception):
    """A message could not be handed over; the text says why, and holds no secret."""


class Mailer(Protocol):
    description: str

    async def send(self, message: EmailMessage) -> str:
        """Hand `message` over; return what the other side said (for the delivery log)."""
        ...


class SmtpMailer:
    def __init__(self, settings: SmtpSettings, *, timeout_seconds: float):
        self.settings = settings
        self.timeout_seconds = timeout_seconds
        self.description = f"SMTP {settings.url}"

    async def send(self, message: EmailMessage) -> str:
        settings = self.settings
        try:
            responses, status = await aiosmtplib.send(
                message,
                hostname=settings.host,
                port=settings.port,
                username=settings.username,
                password=settings.password,
                use_tls=settings.implicit_tls,
                start_tls=False if settings.implicit_tls else None,  # None: if offered
                timeout=self.timeout_seconds,
            )
        except (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPConnectTimeoutError) as exc:
            raise SendError(f"{self.description} unreachable: {_one_line(str(exc))}") from exc
        except aiosmtplib.SMTPException as exc:
            raise SendError(f"{self.description}: {_one_line(str(exc))}") from exc
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise SendError(f"{self.description} unreachable: {reason}") from exc
        if responses:  # the recipients the relay refused (the others took the mail)
            first = next(iter(responses.values()))
            raise SendError(f"{self.description} refused a recipient: {first.code}")
        return _one_line(status)


class DirectoryMailer:
    """Each message as `<its Date>-<its Message-ID>.eml` in `directory`, written whole and
    then renamed into place, so a reader never sees half a mail; the same message sent again
    replaces its own file."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.description = f"the directory {directory}"

    async def send(self, message: EmailMessage) -> str:
        return await asyncio.to_thread(self._write, message)

    def _write(self, message: EmailMessage) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        message_id = str(message["Message-ID"]).strip("<>").partition("@")[0]
        sent = parsedate_to_datetime(str(message["Date"])).strftime("%Y%m%d-%H%M%S")
        name = f"{sent}-{_safe(message_id)}.eml"
        descriptor, temporary = tempfile.mkstemp(dir=self.directory, suffix=".part")
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(message.as_bytes())
            os.replace(temporary, self.directory / name)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return f"written to {self.directory / name}"


def recipients(message: EmailMessage) -> list[str]:
    return [address for _, address in getaddresses(message.get_all("To", []))]


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)[:120]


def _one_line(text: str) -> str:
    return " ".join(text.split())[:300]

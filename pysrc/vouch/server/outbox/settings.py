"""How the outbox sends: SMTP or a directory of .eml files, webhook URLs and their secret,
and the worker's timing. Parsed once at start, so a malformed option stops serve.py with a
message instead of failing at the first event."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import unquote, urlsplit

SMTP_PASSWORD_VARIABLE = "VOUCH_SMTP_PASSWORD"  # noqa: S105 (a name, not a password)
WEBHOOK_SECRET_VARIABLE = "VOUCH_WEBHOOK_SECRET"  # noqa: S105
SECRET_PREFIX = "whsec_"  # noqa: S105
# Standard Webhooks: secrets of 24 to 64 random bytes.
MIN_SECRET_BYTES = 24
MAX_SECRET_BYTES = 64


class SettingError(ValueError):
    """An outbox option is malformed; the message says which and how (never the secret)."""


@dataclass(frozen=True)
class SmtpSettings:
    """`smtp://user@host:port` (STARTTLS when the server offers it) or `smtps://` (TLS from
    the first byte, port 465 by default)."""

    host: str
    port: int
    implicit_tls: bool
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """The URL as given, without any password: for the start-up line and the logs."""
        scheme = "smtps" if self.implicit_tls else "smtp"
        user = f"{self.username}@" if self.username else ""
        return f"{scheme}://{user}{self.host}:{self.port}"


def parse_smtp_url(text: str, password: str | None) -> SmtpSettings:
    parts = urlsplit(text)
    if parts.scheme not in ("smtp", "smtps"):
        raise SettingError(
            f'--smtp "{text}" is not smtp://[user@]host[:port] or smtps://[user@]host[:port]'
        )
    if parts.password is not None:
        raise SettingError(
            "--smtp carries a password: give it with --smtp-password-file or"
            f" ${SMTP_PASSWORD_VARIABLE} instead, so it stays out of the process list"
        )
    if not parts.hostname or parts.path not in ("", "/") or parts.query or parts.fragment:
        raise SettingError(f'--smtp "{text}" needs a host and nothing after it but a port')
    try:
        port = parts.port
    except ValueError:
        raise SettingError(f'--smtp "{text}" has a port that is not a number') from None
    implicit = parts.scheme == "smtps"
    return SmtpSettings(
        host=parts.hostname,
        port=port or (465 if implicit else 587),
        implicit_tls=implicit,
        username=unquote(parts.username) if parts.username else None,
        password=password,
    )


def parse_address(text: str, *, what: str) -> str:
    """One mailbox (`vouch@example.com` or `vouch <vouch@example.com>`), as a header value."""
    name, addr_spec = parseaddr(text)
    local, at, domain = addr_spec.rpartition("@")
    if not at or not local or not domain or any(c.isspace() for c in addr_spec):
        raise SettingError(f'{what} "{text}" is not a mail address (user@domain)')
    try:
        return str(Address(display_name=name, addr_spec=addr_spec))
    except (HeaderParseError, ValueError, IndexError) as exc:
        raise SettingError(f'{what} "{text}" is not a mail address: {exc}') from None


def parse_webhook_url(text: str) -> str:
    """An http(s) URL with a host and no credentials or fragment, or a SettingError."""
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingError(
            f'--webhook "{text}" is not an http:// or https:// URL with a host,'
            " e.g. https://app.example.com/hooks/vouch"
        )
    if parts.username is not None or parts.password is not None:
        raise SettingError(
            f'--webhook "{parts.hostname}..." carries credentials: the signature'
            " (--webhook-secret-file) is how the receiver knows the sender"
        )
    if parts.fragment:
        raise SettingError(f'--webhook "{text}" has a #fragment, which is never sent')
    try:
        parts.port  # noqa: B018 (urlsplit checks the port only when it is read)
    except ValueError:
        raise SettingError(f'--webhook "{text}" has a port that is not a number') from None
    return text


def parse_webhook_secret(text: str, *, source: str) -> str:
    """A Standard Webhooks secret: `whsec_` and base64 of 24 to 64 random bytes."""
    value = text.strip()
    if not value.startswith(SECRET_PREFIX):
        raise SettingError(
            f"the webhook secret in {source} does not start with {SECRET_PREFIX}"
            " (make one: python -c \"import base64, secrets; print('whsec_' +"
            ' base64.b64encode(secrets.token_bytes(32)).decode())")'
        )
    try:
        key = base64.b64decode(value[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise SettingError(
            f"the webhook secret in {source} is not base64 after {SECRET_PREFIX}"
        ) from None
    if not MIN_SECRET_BYTES <= len(key) <= MAX_SECRET_BYTES:
        raise SettingError(
            f"the webhook secret in {source} is {len(key)} bytes, expected"
            f" {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES}"
        )
    return value


@dataclass(frozen=True)
class OutboxSettings:
    """Where messages go and how the worker retries.

    No `smtp`: mail is written as .eml files into `mail_dir` (None: no mail at all, for an
    app built without a directory). Retries wait `retry_base_seconds`, doubling up to
    `retry_cap_seconds`, for `max_attempts` tries; then the delivery is `failed`. A lease
    (`lease_seconds`) outlives the longest send, so only a dead worker's lease runs out.
    """

    smtp: SmtpSettings | None = None
    mail_dir: Path | None = None
    mail_from: str = "vouch <vouch@localhost>"
    webhooks: tuple[str, ...] = ()
    webhook_secret: str | None = field(default=None, repr=False)
    worker: bool = True
    poll_seconds: float = 2.0
    lease_seconds: int = 120
    retry_base_seconds: int = 10
    retry_cap_seconds: int = 3600
    max_attempts: int = 20
    batch: int = 20
    keep_sent_seconds: int = 7 * 24 * 3600
    keep_failed_seconds: int = 30 * 24 * 3600

    def __post_init__(self) -> None:
        if self.webhooks and self.webhook_secret is None:
            raise SettingError(
                "--webhook needs a secret: --webhook-secret-file PATH or"
                f" ${WEBHOOK_SECRET_VARIABLE} (whsec_...)"
            )
        if self.lease_seconds < 4:
            raise SettingError(f"the outbox lease is {self.lease_seconds} s, at least 4")

    @property
    def send_timeout_seconds(self) -> float:
        """How long one send may take: well inside the lease, so a live worker's lease never
        runs out mid-send (and another worker never sends the same row meanwhile)."""
        return min(30.0, self.lease_seconds / 4)

    @property
    def sends_mail(self) -> bool:
        return self.smtp is not None or self.mail_dir is not None

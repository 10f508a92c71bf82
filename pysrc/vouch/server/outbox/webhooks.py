"""Webhooks to the host app, signed per Standard Webhooks with its own library.

The body is built once, when the event is queued, and kept in the outbox row, so every try
sends the same bytes under the same `webhook-id` (the event id: what receivers deduplicate
by). `webhook-timestamp` is the time of the try and is signed with it, as the specification
has it: a receiver refuses timestamps more than a few minutes off, and a retry hours later
must still verify. Redirects are not followed: a receiver that moved is told by a failure
that names the new place, not silently sent elsewhere.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
from standardwebhooks.webhooks import Webhook

from vouch import __version__
from vouch.server.outbox.mail import SendError

EVENTS = (
    "account.created",
    "recovery.started",
    "recovery.pending",
    "recovery.completed",
    "recovery.cancelled",
    "guardians.changed",
)
MAX_REPLY_CHARS = 200


def body(event: str, data: dict[str, Any], *, at: int) -> str:
    """The JSON body: `type`, `timestamp` (of the event, RFC 3339) and `data`."""
    timestamp = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return json.dumps({"type": event, "timestamp": timestamp, "data": data}, separators=(",", ":"))


class WebhookSender:
    def __init__(self, secret: str, *, timeout_seconds: float):
        self._signer = Webhook(secret)
        self._client = httpx.AsyncClient(
            timeout=timeout_seconds,
            follow_redirects=False,
            headers={"User-Agent": f"vouch/{__version__}"},
        )

    def headers(self, event_id: str, text: str, *, now: float) -> dict[str, str]:
        signed_at = datetime.fromtimestamp(int(now), UTC)
        return {
            "content-type": "application/json",
            "webhook-id": event_id,
            "webhook-timestamp": str(int(now)),
            "webhook-signature": self._signer.sign(event_id, signed_at, text),
        }

    async def send(self, url: str, event_id: str, text: str, *, now: float) -> str:
        """POST the body; a 2xx is delivered, anything else raises SendError saying why."""
        try:
            response = await self._client.post(
                url, content=text.encode(), headers=self.headers(event_id, text, now=now)
            )
        except httpx.TimeoutException as exc:
            raise SendError(f"webhook {url} did not answer in time ({type(exc).__name__})") from exc
        except httpx.HTTPError as exc:
            raise SendError(f"webhook {url} unreachable: {_reason(exc)}") from exc
        if 200 <= response.status_code < 300:
            return f"HTTP {response.status_code}"
        if response.is_redirect:
            where = response.headers.get("location", "?")
            raise SendError(
                f"webhook {url} answered HTTP {response.status_code}, a redirect to {where}:"
                " redirects are not followed, give --webhook the final URL"
            )
        reply = " ".join(response.text.split())[:MAX_REPLY_CHARS]
        raise SendError(f"webhook {url} refused it: HTTP {response.status_code} {reply}".strip())

    async def close(self) -> None:
        await self._client.aclose()


def _reason(exc: httpx.HTTPError) -> str:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror.lower()
        cause = cause.__cause__ or cause.__context__
    return str(exc) or type(exc).__name__

"""uvicorn's httptools protocol, with a response's head and body sent in one write.

uvicorn writes the status line and headers when the app sends `http.response.start`, and
the body when it sends `http.response.body`: two sends per response, and on loopback each
send costs about as much as verifying a signature (a fifth of the server's time under
load). Here the connection's transport is wrapped so that what is written during one step
of the event loop goes out as one send at the end of that step: a JSON answer (head and
body sent by Starlette without awaiting anything in between) is one send, and a streamed
file still goes out chunk by chunk, each as soon as it is read.

It also bounds what a slow or oversized client costs (`ClientLimits`): uvicorn alone keeps a
connection open for as long as its client sends nothing, or stalls mid-body, and buffers a
request head of any size (httptools joins a long header by repeated concatenation: a 64 MB
one held the event loop for 19 s).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

log = logging.getLogger("vouch.server.protocol")

# After a refusal sent while the client is still sending (a head over the limit), how long
# the rest is read and dropped before the connection closes. Closing with unread data makes
# the kernel answer with a reset, which can destroy the refusal before the client reads it
# (nginx's lingering close; its lingering_timeout is 5 s too).
LINGER_SECONDS = 5.0


class CoalescingTransport:
    """A transport whose writes are joined until the event loop's next iteration."""

    __slots__ = ("_loop", "_pending", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop):
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(bytes(data))

    def writelines(self, lines: list[bytes]) -> None:
        for data in lines:
            self.write(data)

    def flush(self) -> None:
        if not self._pending:
            return
        data = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
        self._pending.clear()
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def abort(self) -> None:
        self._pending.clear()
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


@dataclass(frozen=True)
class ClientLimits:
    """How long a client may take to send a request, and how large its head may be.

    The timeouts are a third of nginx's 60 s (Apache's mod_reqtimeout uses 20 s for both):
    a vouch request's head is a kilobyte or two that a browser sends at once, and its body
    (at most 64 KiB) follows it, so 20 s of silence means a stalled or hostile client, and
    a shorter wait frees its connection sooner. The header timeout runs from the
    connection's start (or the first byte of a keep-alive connection's next request) until
    the head is complete, so it also closes "connected, sent nothing"; it is a total, so a
    head sent a byte at a time cannot outlast it. The body timeout is the longest silence
    between two reads of a body, as nginx's client_body_timeout: a long body over a slow
    link is not cut off while it keeps arriving. The head limit counts the request line and
    the headers together, 16 KiB as Node's default: more than any browser sends, with room
    for the cookies other apps leave on localhost (they are shared by every port).
    """

    header_timeout: float = 20.0
    body_timeout: float = 20.0
    max_header_bytes: int = 16 * 1024


def http_protocol(limits: ClientLimits) -> Callable[..., CoalescingHttpToolsProtocol]:
    """The `http=` value for uvicorn.Config: the protocol class bound to `limits`.

    A partial of the module's class, so a Config that holds it is pickled into each
    --workers process by reference, limits included.
    """
    return functools.partial(CoalescingHttpToolsProtocol, limits=limits)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """serve.py's `http=` protocol for uvicorn, with the `ClientLimits` enforced.

    One timer per connection serves both timeouts: a request moves `_deadline` (a float,
    0.0 for none), and the timer, when it fires, closes the connection if the deadline has
    passed or sleeps until it otherwise. A keep-alive connection so schedules at most one
    timer per timeout period, not one per request. The head is measured as its bytes
    arrive, before httptools buffers them: from the read in which it starts, so a
    pipelined head that starts inside an earlier read may pass the limit by that read's
    remainder, never by more.
    """

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        limits: ClientLimits = ClientLimits(),
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._header_timeout = limits.header_timeout
        self._body_timeout = limits.body_timeout
        self._max_header_bytes = limits.max_header_bytes
        self._in_head = True  # the bytes arriving belong to a request's head
        self._head_bytes = 0
        self._deadline = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._lingering = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        wrapped: Any = CoalescingTransport(transport, self.loop)
        super().connection_made(wrapped)
        self._arm(self._header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._deadline = 0.0
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._lingering:
            return
        if self._in_head:
            self._head_bytes += len(data)
            if self._head_bytes > self._max_header_bytes:
                self._head_over_limit(data)
                return
        super().data_received(data)

    def on_message_begin(self) -> None:
        if not self._deadline:  # a keep-alive connection's next request
            self._arm(self._header_timeout)
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._arm(self._body_timeout)
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        self._deadline = self.loop.time() + self._body_timeout
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._deadline = 0.0
        self._in_head = True
        self._head_bytes = 0
        super().on_message_complete()

    def handle_websocket_upgrade(self) -> None:
        self._deadline = 0.0  # the connection is the WebSocket protocol's from here on
        super().handle_websocket_upgrade()

    def _head_over_limit(self, data: bytes) -> None:
        """Parse what fits in the limit (this read may hold a small head and its body); if
        no head was completed within it, refuse with 431 before buffering any more."""
        fits = len(data) - (self._head_bytes - self._max_header_bytes)
        cycle = self.cycle
        super().data_received(data[:fits])
        if self.transport.is_closing():
            return
        if self.cycle is cycle:
            log.info("%s -> 431, request head over %d bytes", self._peer(), self._max_header_bytes)
            self._refuse(
                431,
                f"The request line and headers are over {self._max_header_bytes} bytes",
                linger=True,
            )
            return
        super().data_received(data[fits:])

    def _arm(self, seconds: float) -> None:
        deadline = self.loop.time() + seconds
        self._deadline = deadline
        timer = self._timer
        if timer is not None and timer.when() <= deadline:
            return  # it fires first, and sleeps on until this deadline
        if timer is not None:
            timer.cancel()
        self._timer = self.loop.call_at(deadline, self._on_deadline)

    def _on_deadline(self) -> None:
        self._timer = None
        if not self._deadline or self.transport.is_closing():
            return
        now = self.loop.time()
        if now < self._deadline:
            self._timer = self.loop.call_at(self._deadline, self._on_deadline)
            return
        if self._lingering:
            self.transport.close()
        elif self._in_head:
            if not self._head_bytes:
                log.info("%s -> closed, nothing sent in %g s", self._peer(), self._header_timeout)
                self.transport.close()
                return
            log.info("%s -> 408, no request head in %g s", self._peer(), self._header_timeout)
            self._refuse(408, "The request head did not arrive in time", linger=False)
        elif self.flow.read_paused or self.cycle.waiting_for_100_continue:
            # The server is not reading (the app has not taken the body so far, or not yet
            # asked for it): that silence is not the client's.
            self._arm(self._body_timeout)
        else:
            log.info("%s -> 408, request body stalled %g s", self._peer(), self._body_timeout)
            self._refuse(408, "The request body stopped arriving", linger=False)

    def _refuse(self, status: int, message: str, *, linger: bool) -> None:
        """Answer `status` (unless a response is under way: a pipelined request's, or this
        one's, begun before its body was read) and close; with `linger`, read and drop what
        the client still sends for LINGER_SECONDS first."""
        cycle = self.cycle
        if self._in_head:
            answer = cycle is None or cycle.response_complete
        else:
            answer = not cycle.response_started
        if answer:
            body = message.encode()
            head = [STATUS_LINE[status]]
            for name, value in self.server_state.default_headers:
                head.extend([name, b": ", value, b"\r\n"])
            head.append(
                b"content-type: text/plain; charset=utf-8\r\ncontent-length: %d\r\n"
                b"connection: close\r\n\r\n" % len(body)
            )
            self.transport.write(b"".join(head) + body)
        if not linger or not self.transport.can_write_eof():
            self.transport.close()
            return
        self._lingering = True
        self.flow.resume_reading()
        self.transport.write_eof()
        self._arm(LINGER_SECONDS)

    def _peer(self) -> str:
        return f"{self.client[0]}:{self.client[1]}" if self.client else "unknown peer"

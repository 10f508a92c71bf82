"""Slow and oversized clients against a real serve.py: a request head over the limit is a
431 refused as it arrives, a connection that sends nothing or stalls in its head or body is
closed after its timeout, and a client that leaves mid-body is one log line.

The timeouts are set short on the command line so the tests take seconds; they assert what
the server answered and that it closed, with upper bounds far above the timeouts.
"""

from __future__ import annotations

import contextlib
import re
import select
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.server.conftest import start
from tests.support.live_server import LiveServer

TIMEOUT = 2  # --header-timeout and --body-timeout, in seconds
PATIENCE = 15.0  # how long a test waits for an answer or a close: far above TIMEOUT
SIGNIN = (
    b"POST /api/signin/options HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
    b"Content-Length: 2\r\n\r\n{}"
)


def stalled_body(path: str) -> bytes:
    """A request head that announces 100 bytes of body, and the first 5 of them."""
    return (
        f"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        "Content-Length: 100\r\n\r\n"
        '{"us'
    ).encode()


@pytest.fixture(scope="module")
def slow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start(
        tmp_path_factory.mktemp("slow"),
        *("--header-timeout", str(TIMEOUT), "--body-timeout", str(TIMEOUT)),
    )
    yield server
    server.stop()
    assert "Traceback" not in server.log()


@contextlib.contextmanager
def connection(server: LiveServer) -> Iterator[socket.socket]:
    with socket.create_connection(("127.0.0.1", server.port), timeout=PATIENCE) as sock:
        yield sock


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (a test failure if it
    keeps it open for PATIENCE seconds)."""
    chunks: list[bytes] = []
    deadline = time.monotonic() + PATIENCE
    while True:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            pytest.fail(f"the server kept the connection open; it sent {b''.join(chunks)!r}")
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def read_response(sock: socket.socket) -> bytes:
    """One response with a Content-Length, the connection left open."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"the server closed the connection after {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    match = re.search(rb"content-length: (\d+)", head, re.IGNORECASE)
    assert match, head
    length = int(match.group(1))
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, f"the server closed the connection after {data!r}"
        body += chunk
    return head + b"\r\n\r\n" + body


def wait_for_log(server: LiveServer, since: int, pattern: str) -> str:
    """The server's log after offset `since`, once `pattern` (a regex) is in it."""
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        new = server.log()[since:]
        if re.search(pattern, new):
            return new
        time.sleep(0.05)
    pytest.fail(f"no {pattern!r} in the server's log; it has:\n{server.log()[since:]}")


def test_a_huge_request_head_is_refused_with_431_as_it_arrives(slow: LiveServer) -> None:
    head = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: " + b"a" * (64 << 20) + b"\r\n\r\n"
    with connection(slow) as sock:

        def send() -> None:
            with contextlib.suppress(OSError):  # the server may stop reading before the end
                sock.sendall(head)

        sender = threading.Thread(target=send)
        started = time.monotonic()
        sender.start()
        try:
            # Another client is answered meanwhile (the event loop is not stuck buffering).
            assert httpx.get(f"{slow.url}/healthz", timeout=5).status_code == 200
            answer = read_until_closed(sock)
        finally:
            sender.join(timeout=PATIENCE)
    assert answer.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n"), answer[:200]
    assert b"connection: close\r\n" in answer
    assert answer.endswith(b"The request line and headers are over 16384 bytes")
    assert time.monotonic() - started < PATIENCE
    assert not sender.is_alive()


def test_a_head_within_the_limit_is_served_even_with_a_large_body_in_the_same_read(
    slow: LiveServer,
) -> None:
    near_limit = (
        b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: " + b"a" * 16_000 + b"\r\n\r\n"
    )
    body = b"{" + b" " * 40_000 + b"}"
    head = (
        b"POST /api/signin/options HTTP/1.1\r\nHost: localhost\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
    )
    with connection(slow) as sock:
        sock.sendall(near_limit)
        assert read_response(sock).startswith(b"HTTP/1.1 200 ")
        sock.sendall(head + body)  # one send: the head and its body arrive together
        answer = read_response(sock)
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]
    assert b'"challenge"' in answer


def test_a_connection_that_sends_nothing_is_closed_after_the_header_timeout(
    slow: LiveServer,
) -> None:
    since = len(slow.log())
    with connection(slow) as sock:
        assert read_until_closed(sock) == b""
    wait_for_log(slow, since, rf"-> closed, nothing sent in {TIMEOUT} s")


def test_a_head_that_stops_arriving_gets_408_and_is_closed(slow: LiveServer) -> None:
    with connection(slow) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
        answer = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), answer
    assert answer.endswith(b"The request head did not arrive in time")


def test_a_head_sent_a_byte_at_a_time_cannot_outlast_the_header_timeout(
    slow: LiveServer,
) -> None:
    """The header timeout is a total, not a silence between reads."""
    trickle = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + b"a" * 1000
    with connection(slow) as sock:
        for byte in trickle:
            sock.sendall(bytes([byte]))
            answered, _, _ = select.select([sock], [], [], 0.05)
            if answered:
                break
        else:
            pytest.fail("the server kept reading a head sent a byte at a time")
        answer = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), answer


def test_a_stalled_body_gets_408_and_is_closed(slow: LiveServer) -> None:
    with connection(slow) as sock:
        sock.sendall(stalled_body("/api/recovery/start"))
        answer = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), answer
    assert b"connection: close\r\n" in answer
    assert answer.endswith(b"The request body stopped arriving")


def test_two_hundred_stalled_bodies_are_all_closed(slow: LiveServer) -> None:
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(connection(slow)) for _ in range(200)]
        for sock in sockets:
            sock.sendall(stalled_body("/api/recovery/start"))
        answers = [read_until_closed(sock) for sock in sockets]
    assert [answer[:29] for answer in answers] == [b"HTTP/1.1 408 Request Timeout\r"] * 200
    assert httpx.get(f"{slow.url}/healthz", timeout=5).status_code == 200


def test_a_client_that_leaves_mid_body_is_one_log_line(slow: LiveServer) -> None:
    since = len(slow.log())
    with connection(slow) as sock:
        sock.sendall(stalled_body("/api/signin/options"))
    wait_for_log(slow, since, r"/api/signin/options|Traceback")
    time.sleep(0.5)  # a traceback would follow its first line at once
    new = slow.log()[since:]
    assert "Traceback" not in new
    assert "Exception in ASGI application" not in new
    lines = [line for line in new.splitlines() if "/api/signin/options" in line]
    assert lines == ["INFO vouch.server POST /api/signin/options -> 499 client_closed_request"]


def test_keep_alive_requests_may_be_further_apart_than_the_header_timeout(
    slow: LiveServer,
) -> None:
    """The header timeout starts at a request's first byte; between requests, the idle
    connection is uvicorn's keep-alive timeout's (5 s)."""
    with connection(slow) as sock:
        sock.sendall(SIGNIN)
        assert read_response(sock).startswith(b"HTTP/1.1 200 ")
        time.sleep(TIMEOUT + 1)
        sock.sendall(SIGNIN)
        assert read_response(sock).startswith(b"HTTP/1.1 200 ")
    with httpx.Client(base_url=slow.url) as client:
        statuses = [client.post("/api/signin/options", json={}).status_code for _ in range(5)]
    assert statuses == [200] * 5


def test_every_worker_takes_the_limits_from_the_command_line(tmp_path: Path) -> None:
    server = start(
        tmp_path, *("--workers", "2", "--header-timeout", "1", "--max-header-bytes", "4096")
    )
    try:
        head = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: " + b"a" * 5000 + b"\r\n\r\n"
        # Sixteen connections of each: the kernel spreads them over both workers.
        with contextlib.ExitStack() as stack:
            idle = [stack.enter_context(connection(server)) for _ in range(16)]
            big = [stack.enter_context(connection(server)) for _ in range(16)]
            for sock in big:
                sock.sendall(head)
            refused = [read_until_closed(sock)[:13] for sock in big]
            closed = [read_until_closed(sock) for sock in idle]
        assert refused == [b"HTTP/1.1 431 "] * 16
        assert closed == [b""] * 16
        assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200
    finally:
        server.stop()
    assert "Traceback" not in server.log()

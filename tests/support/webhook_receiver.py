"""A real HTTP receiver for webhooks on loopback (stdlib http.server on a thread): keeps the
headers and the exact body bytes of each request, and answers with `status` (or holds the
request open while `hold` is set, to be killed mid-send)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.support.ports import free_port


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    path: str


class WebhookReceiver:
    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[Received] = []
        self.status = 200
        self.hold = threading.Event()  # while set, requests wait (up to 60 s) unanswered
        self.held = threading.Event()  # set once a request is being held
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                with receiver.lock:
                    receiver.received.append(
                        Received({k.lower(): v for k, v in self.headers.items()}, body, self.path)
                    )
                deadline = time.monotonic() + 60
                while receiver.hold.is_set() and time.monotonic() < deadline:
                    receiver.held.set()
                    time.sleep(0.05)
                self.send_response(receiver.status)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"no" if receiver.status >= 300 else b"ok")

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/vouch"

    def start(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.hold.clear()
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, predicate: object, *, timeout: float = 30) -> list[Received]:
        """Everything received, once `predicate(received)` holds (a deadline only against
        hanging)."""
        assert callable(predicate)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                received = list(self.received)
            if predicate(received):
                return received
            time.sleep(0.05)
        raise AssertionError(
            f"not received in time; got {[r.headers.get('webhook-id') for r in received]}"
        )

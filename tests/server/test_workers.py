"""serve.py --workers: processes of their own sharing the port (a listening socket each) and
the database; the supervisor stops them all when told to, or when one of them dies."""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.server.conftest import start
from tests.server.helpers import Api, register, sign_in
from tests.support.live_server import LiveServer

CONNECTIONS = 64
REQUEST = (
    b"POST /api/signin/options HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
    b"Content-Length: 2\r\n\r\n{}"
)


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[LiveServer]:
    server = start(tmp_path, "--workers", "2")
    yield server
    server.stop()


def worker_pids(server: LiveServer) -> list[int]:
    """The supervisor's worker processes (not multiprocessing's resource tracker)."""
    pid = server.process.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return sorted(
        int(child)
        for child in children
        if b"resource_tracker" not in Path(f"/proc/{child}/cmdline").read_bytes()
    )


def established_connections(pid: int, port: int) -> int:
    """How many of the TCP connections to `port` process `pid` holds (from /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except FileNotFoundError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == "01" and fields[9] in inodes:
                count += 1
    return count


def test_connections_arriving_at_once_are_spread_over_the_workers(workers: LiveServer) -> None:
    """Each worker accepts on a socket of its own and the kernel hashes each connection to
    one: either worker holding fewer than a quarter of 64 has odds of 1 in 40,000. (Under
    the benchmark's load, uvicorn's one shared socket left 29 of 32 connections with one
    worker; this burst does not reproduce that, so this checks the spread, not the cause.)"""
    pids = worker_pids(workers)
    assert len(pids) == 2
    clients = [socket.socket() for _ in range(CONNECTIONS)]
    try:
        for client in clients:
            client.connect(("127.0.0.1", workers.port))
            client.sendall(REQUEST)
        for client in clients:
            assert client.recv(65536).startswith(b"HTTP/1.1 200 ")
        held = [established_connections(pid, workers.port) for pid in pids]
    finally:
        for client in clients:
            client.close()
    assert sum(held) == CONNECTIONS
    assert min(held) >= CONNECTIONS // 4, held


def test_the_workers_share_one_database(workers: LiveServer) -> None:
    """An account registered over one connection signs in over fresh ones, whichever
    worker each lands on; the challenge made by one worker is consumed by the other."""
    user = register(Api(workers.url))
    for _ in range(6):
        api = Api(workers.url)  # a new connection each time
        assert sign_in(api, user.device).status_code == 200
        api.http.close()


def test_stopping_the_server_stops_every_worker(workers: LiveServer) -> None:
    pids = worker_pids(workers)
    workers.stop()
    assert workers.process.returncode == 0
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or _is_zombie(pid)


def test_a_worker_that_dies_stops_the_server(workers: LiveServer) -> None:
    """Not a server quietly running on half its workers: the supervisor exits with an
    error (for the service manager to restart) and takes the other worker with it."""
    first, second = worker_pids(workers)
    os.kill(first, signal.SIGKILL)
    workers.process.wait(timeout=15)
    assert workers.process.returncode != 0
    deadline = time.monotonic() + 5
    while Path(f"/proc/{second}").exists() and not _is_zombie(second):
        assert time.monotonic() < deadline, "the other worker is still running"
        time.sleep(0.05)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{workers.url}/healthz", timeout=2)
    assert "a worker exited" in workers.log()


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True

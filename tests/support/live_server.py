"""Run the real serve.py on a free port with its own SQLite file, for tests and benchmarks."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class LiveServer:
    url: str
    port: int
    database: Path
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        stop_process(self.process)


def stop_process(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


def launch(
    tree: Path, port: int, args: Sequence[str], log_path: Path
) -> tuple[subprocess.Popen[bytes], str]:
    """Start `tree`'s serve.py on `port` and wait until /healthz answers; return it and its URL."""
    with log_path.open("wb") as log:  # the child writes to its own copy of the descriptor
        process = subprocess.Popen(
            [sys.executable, str(tree / "serve.py"), "--port", str(port), *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=tree,
        )
    url = f"http://localhost:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"serve.py exited early:\n{log_path.read_text()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"serve.py did not become healthy:\n{log_path.read_text()}")


def start_server(directory: Path, *extra_args: str, port: int | None = None) -> LiveServer:
    """Start serve.py and wait until /healthz answers; the URL uses `localhost`.

    WebAuthn needs a domain (an IP address is not a valid RP ID), and localhost counts as a
    secure context over plain HTTP.
    """
    port = port or free_port()
    database = directory / "vouch.db"
    log_path = directory / f"server-{port}.log"
    process, url = launch(ROOT, port, ["--db", str(database), *extra_args], log_path)
    return LiveServer(url, port, database, process, log_path)

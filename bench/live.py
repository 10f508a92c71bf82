"""Start the server the benchmarks measure: serve.py of a checkout, on a private web root.

``tests.support.live_server`` always runs this checkout's serve.py; the benchmarks can
also measure another checkout (``--tree``, for before/after figures), so they start it
here the same way: a free port, a temporary SQLite file, wait for /healthz.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
from tests.support.live_server import free_port

from bench.webroot import ROOT, make_web_root


@dataclass
class BenchServer:
    url: str
    tree: Path
    web_root: Path
    process: subprocess.Popen[bytes]
    log_path: Path

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start(directory: Path, tree: Path = ROOT, extra_args: Sequence[str] = ()) -> BenchServer:
    """serve.py of ``tree`` on a copy of its web/ (plus the floor page) in ``directory``,
    with ``extra_args`` for serve.py (e.g. relaxed rate limits for the load test)."""
    web_root = make_web_root(directory, tree / "web")
    port = free_port()
    log_path = directory / "server.log"
    process = subprocess.Popen(
        [sys.executable, str(tree / "serve.py"), "--port", str(port),
         "--db", str(directory / "bench.db"), "--web-root", str(web_root),
         "--log-level", "warning", *extra_args],
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
        cwd=tree,
    )  # fmt: skip
    url = f"http://localhost:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"serve.py exited early:\n{log_path.read_text()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return BenchServer(url, tree, web_root, process, log_path)
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"serve.py did not become healthy:\n{log_path.read_text()}")

"""Start the server the benchmarks measure: serve.py of a checkout, on a private web root.

``tests.support.live_server`` always runs this checkout's serve.py; the benchmarks can
also measure another checkout (``--tree``, for before/after figures), so they start it
here the same way: a free port, a temporary SQLite file, wait for /healthz.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.support.live_server import launch, stop_process
from tests.support.ports import free_port

from bench.webroot import ROOT, make_web_root


@dataclass
class BenchServer:
    url: str
    tree: Path
    web_root: Path
    process: subprocess.Popen[bytes]
    log_path: Path

    def stop(self) -> None:
        stop_process(self.process)


def relaxed_limits(tree: Path, count: int = 10_000_000) -> list[str]:
    """--rate-limit arguments lifting every limit `tree`'s serve.py knows (a baseline
    checkout may name its limits differently from this one)."""
    names = subprocess.run(
        [sys.executable, "-c", "from vouch.server.config import DEFAULT_RATE_LIMITS as L;"
         " print(' '.join(L))"],
        env={**os.environ, "PYTHONPATH": str(tree / "pysrc")},
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    return [arg for name in names for arg in ("--rate-limit", f"{name}={count}/60")]


def start(directory: Path, tree: Path = ROOT, extra_args: Sequence[str] = ()) -> BenchServer:
    """serve.py of ``tree`` on a copy of its web/ (plus the floor page) in ``directory``,
    with ``extra_args`` for serve.py (e.g. relaxed rate limits for the load test)."""
    web_root = make_web_root(directory, tree / "web")
    log_path = directory / "server.log"
    args = ["--db", str(directory / "bench.db"), "--web-root", str(web_root),
            "--log-level", "warning", *extra_args]  # fmt: skip
    process, url = launch(tree, free_port(), args, log_path)
    return BenchServer(url, tree, web_root, process, log_path)

"""Start the server the benchmarks measure: serve.py of a checkout, on a private web root.

``tests.support.live_server`` always runs this checkout's serve.py; the benchmarks can
also measure another checkout (``--tree``, for before/after figures), so they start it
here the same way: a free port, a temporary SQLite file, wait for /healthz.
"""

from __future__ import annotations

import subprocess
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


def start(directory: Path, tree: Path = ROOT, extra_args: Sequence[str] = ()) -> BenchServer:
    """serve.py of ``tree`` on a copy of its web/ (plus the floor page) in ``directory``,
    with ``extra_args`` for serve.py (e.g. relaxed rate limits for the load test)."""
    web_root = make_web_root(directory, tree / "web")
    log_path = directory / "server.log"
    args = ["--db", str(directory / "bench.db"), "--web-root", str(web_root),
            "--log-level", "warning", *extra_args]  # fmt: skip
    process, url = launch(tree, free_port(), args, log_path)
    return BenchServer(url, tree, web_root, process, log_path)

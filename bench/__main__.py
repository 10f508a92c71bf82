"""Every benchmark of issue 6 in one run, each against a baseline measured in that run.

    .venv/bin/python -m bench [--runs 5] [--warmup 1] [--derivation-runs 5]
                              [--tree PATH] [--output bench/results.json]

1. cold open of /dialog.html vs the floor (a page that only runs loadPyodide() from the
   same files), with first paint of the shell;
2. warm open (second navigation in the same browser context);
3. bytes sent for a cold open vs the floor (before the dialog is ready, and until the
   network is idle), and the ten largest assets;
4. default passphrase derivation in the page vs natively (bench/derivation.py);
5. server recoveries and sign-ins per second on loopback vs the signature-verification
   floor (bench/server_load.py, on a serve.py of its own with relaxed rate limits).

One server (serve.py on a temporary copy of web/ that also holds the floor page) and
one headless Chromium serve all parts. Prints a table and writes bench/results.json.
These are measurements, not tests: nothing fails because a machine is slow. A busy
machine does skew them, so the load average is recorded next to the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import derivation, live, pageload, server_load
from bench.webroot import ROOT

RESULTS = ROOT / "bench" / "results.json"

TARGETS: dict[str, Callable[[dict[str, Any]], bool]] = {
    "cold open <= 0.5x the floor's cold open": lambda r: r["pageload"]["cold_ratio"] <= 0.5,
    "warm open <= 400 ms": lambda r: r["pageload"]["pages"]["dialog"]["warm_ms"] <= 400,
    "shell painted <= 150 ms": lambda r: (
        (r["pageload"]["pages"]["dialog"]["first_contentful_paint_ms"] or 1e9) <= 150
    ),
    "cold bytes (before ready) <= 1.15x the floor's": lambda r: (
        r["pageload"]["bytes_ratio"] <= 1.15
    ),
    "derivation <= 1.5x native": lambda r: (
        "derivation" in r and r["derivation"]["ratio_median"] <= 1.5
    ),
    ">= 1000 recoveries/s with p99 (whole recovery) < 50 ms": lambda r: any(
        row["per_second"] >= 1000 and row["whole_p99_ms"] < 50
        for row in r["server"].get("recoveries", [])
    ),
}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {
        "command": "python -m bench " + " ".join(sys.argv[1:]),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "tree": str(args.tree),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, "
        f"{platform.system()} {platform.release()}",
        "load_average_before": os.getloadavg(),
    }
    with tempfile.TemporaryDirectory(prefix="vouch-bench-") as directory:
        server = live.start(Path(directory), args.tree)
        try:
            results["pageload"] = await pageload.measure(
                args.runs, warmup=args.warmup, server_url=server.url
            )
            print(pageload.format_table(results["pageload"]), end="\n\n", flush=True)
            if args.derivation_runs:
                results["derivation"] = await derivation.measure(
                    args.derivation_runs, warmup=1, server_url=server.url
                )
                print(derivation.format_table(results["derivation"]), end="\n\n", flush=True)
            load_directory = Path(directory) / "server-load"
            results["server"] = await server_load.measure(load_directory, args.tree)
            print(server_load.format_table(results["server"]), end="\n\n", flush=True)
        finally:
            server.stop()
    results["load_average_after"] = os.getloadavg()
    results["targets"] = {name: check(results) for name, check in TARGETS.items()}
    return results


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5, help="page opens per page (5)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed opens first (1)")
    parser.add_argument(
        "--derivation-runs", type=int, default=5, help="timed derivations per runtime (5; 0 skips)"
    )
    parser.add_argument(
        "--tree", type=Path, default=ROOT, help="measure another checkout's serve.py and web/"
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to write the JSON")
    args = parser.parse_args(argv)
    args.tree = args.tree.resolve()
    results = asyncio.run(run(args))
    for name, met in results["targets"].items():
        print(f"{'met    ' if met else 'not met'}  {name}")
    load = results["load_average_before"][0], results["load_average_after"][0]  # 1 minute
    print(f"load average before/after: {load[0]:.2f} / {load[1]:.2f}, {os.cpu_count()} cores")
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.output}")
    return results


if __name__ == "__main__":
    main(sys.argv[1:])

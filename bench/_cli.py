"""The command line shared by the single-part benchmarks (derivation, page load)."""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Callable, Coroutine
from typing import Any

Figures = dict[str, Any]


def run_part(
    argv: list[str] | None,
    *,
    description: str | None,
    what: str,
    measure: Callable[..., Coroutine[Any, Any, Figures]],
    format_table: Callable[[Figures], str],
) -> Figures:
    """`--runs`, `--warmup`, `--json`; measure, print the table, return the figures."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--runs", type=int, default=5, help=f"timed runs per {what} (5)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs first (1)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args(argv)
    figures = asyncio.run(measure(args.runs, warmup=args.warmup))
    print(format_table(figures))
    if args.json:
        print(json.dumps(figures, indent=2))
    return figures

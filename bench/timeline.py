"""Where a cold open of the dialog spends its time: one open, as a timeline.

    .venv/bin/python -m bench.timeline [--page dialog|floor] [--warm] [--trace FILE]

Prints, in milliseconds since the navigation started, every resource fetch (start and
end, bytes as sent), PyScript's progress events (``py:progress``: "Loading Pyodide",
"Loaded interpreter", ...), the paint entries and the moment ``data-ready`` turned
"true". With ``--trace`` it also records a Chrome trace of the open (DevTools'
Performance panel opens it) for the main-thread view: script evaluation, wasm
compilation, garbage collection.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import async_playwright

from bench import live
from bench.pageload import PAGES, READY_PROBE, SETTLE_S, TIMEOUT_MS, launch
from bench.webroot import ROOT

EVENTS_PROBE = """(() => {
  window.__benchEvents = [];
  const note = (name) => (event) => window.__benchEvents.push(
    { at: performance.now(), what: `${name} ${event.detail ?? ""}`.trim() }
  );
  for (const name of ["py:progress", "py:ready", "py:done", "py:all-done", "mpy:progress"]) {
    addEventListener(name, note(name));
  }
  addEventListener("DOMContentLoaded", note("DOMContentLoaded"));
  addEventListener("load", note("load"));
})();"""

COLLECT_JS = """() => ({
  events: window.__benchEvents,
  ready: window.__benchReady,
  paint: [...performance.getEntriesByType("paint"), ...performance.getEntriesByType("mark")]
    .map((e) => ({ at: e.startTime, what: e.name })),
  resources: performance.getEntriesByType("resource").map((e) => ({
    start: e.startTime, end: e.responseEnd, bytes: e.transferSize, url: e.name,
  })),
})"""


async def timeline(
    page_name: str, *, warm: bool, trace: Path | None, tree: Path = ROOT
) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="vouch-bench-") as directory:
        server = live.start(Path(directory), tree)
        try:
            async with async_playwright() as playwright:
                browser = await launch(playwright)
                context = await browser.new_context()
                await context.add_init_script(READY_PROBE)
                await context.add_init_script(EVENTS_PROBE)
                page = await context.new_page()
                url = server.url + PAGES[page_name]
                if warm:
                    await page.goto(url, wait_until="commit")
                    await page.wait_for_function("() => window.__benchReady", timeout=TIMEOUT_MS)
                    await asyncio.sleep(SETTLE_S)
                if trace:
                    await browser.start_tracing(page=page, path=str(trace), screenshots=False)
                await page.goto(url, wait_until="commit")
                await page.wait_for_function("() => window.__benchReady", timeout=TIMEOUT_MS)
                if trace:
                    await browser.stop_tracing()
                data: dict[str, Any] = await page.evaluate(COLLECT_JS)
                await browser.close()
        finally:
            server.stop()
    rows: list[tuple[float, str]] = []
    for resource in data["resources"]:
        path = urlsplit(resource["url"]).path
        rows.append(
            (
                resource["start"],
                f"fetch {path} -> {resource['end']:.0f} ms, {resource['bytes']:,} B",
            )
        )
    rows += [(event["at"], event["what"]) for event in data["events"] + data["paint"]]
    rows.append((data["ready"]["at"], f"data-ready={data['ready']['state']}"))
    return [f"{at:8.0f}  {what}" for at, what in sorted(rows)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--page", choices=sorted(PAGES), default="dialog")
    parser.add_argument("--warm", action="store_true", help="the second open in a context")
    parser.add_argument("--trace", type=Path, help="also write a Chrome trace here")
    parser.add_argument("--tree", type=Path, default=ROOT, help="measure another checkout")
    args = parser.parse_args(argv)
    opened = timeline(args.page, warm=args.warm, trace=args.trace, tree=args.tree.resolve())
    for line in asyncio.run(opened):
        print(line)


if __name__ == "__main__":
    main(sys.argv[1:])

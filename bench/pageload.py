"""How fast the dialog opens, cold and warm, and how many bytes it costs, against the floor.

    .venv/bin/python -m bench.pageload [--runs 5] [--warmup 1] [--json]

Each run opens a fresh browser context (empty HTTP cache), navigates to the page and
waits for ``data-ready="true"`` on <html> (the cold open), waits for the page to settle
(the HTTP cache and the compiled-code caches are written behind the page's back), then
navigates to it again in the same context (the warm open). Times are taken in the page:
an init script records ``performance.now()`` (milliseconds since the navigation started)
when ``data-ready`` turns "true", so Playwright's round trips are not counted. First paint
and first contentful paint come from the Paint Timing API. Bytes are what went over the
wire, compressed and with headers: CDP ``Network.loadingFinished``'s encodedDataLength.
Two tallies: what was requested before ``data-ready`` (the bytes a cold open costs before
the user can act) and everything until the network goes idle (including what the dialog
fetches once it is up: the rest of the standard library, zxcvbn, segno).

The two pages, alternating within each run so drift hits both alike:

* ``dialog``: /dialog.html as shipped;
* ``floor``: a page that only runs ``loadPyodide()`` from the same files (bench/webroot.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import Browser, BrowserContext, CDPSession, Page, async_playwright
from playwright.async_api import TimeoutError as PlaywrightTimeoutError
from tests.support.browser import CHROMIUM_ARGS, chromium_executable

from bench import live
from bench._cli import run_part
from bench.webroot import FLOOR_PATH

PAGES = {"dialog": "/dialog.html", "floor": FLOOR_PATH}
TIMEOUT_MS = 120_000
# After a cold open, before the warm one: lets Chromium finish writing the HTTP cache and
# the V8 / wasm code caches, as it would between a user's two visits.
SETTLE_S = 1.5

# Runs before any script of the page: note when <html data-ready> turns "true" or "error".
READY_PROBE = """(() => {
  const note = () => {
    const root = document.documentElement;
    const state = root && root.dataset.ready;
    if ((state === "true" || state === "error") && window.__benchReady === undefined) {
      window.__benchReady = { state, at: performance.now() };
    }
    return window.__benchReady !== undefined;
  };
  const observer = new MutationObserver(() => { if (note()) observer.disconnect(); });
  observer.observe(document, { attributes: true, attributeFilter: ["data-ready"], subtree: true });
})();"""

TIMINGS_JS = """() => {
  const paint = Object.fromEntries(
    performance.getEntriesByType("paint").map((entry) => [entry.name, entry.startTime])
  );
  const [navigation] = performance.getEntriesByType("navigation");
  const resources = performance.getEntriesByType("resource").map((entry) => ({
    url: entry.name, start: entry.startTime, end: entry.responseEnd,
    transfer: entry.transferSize, initiator: entry.initiatorType,
  }));
  return {
    time_origin: performance.timeOrigin,
    ready: window.__benchReady,
    paint,
    response_end: navigation ? navigation.responseEnd : null,
    dom_content_loaded: navigation ? navigation.domContentLoadedEventEnd : null,
    resources,
  };
}"""


@dataclass
class Transfer:
    """What one navigation fetched, as CDP saw it."""

    bytes_by_url: dict[str, int] = field(default_factory=dict)
    from_cache: set[str] = field(default_factory=set)
    status_by_url: dict[str, int] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)
    sent_wall_ms: dict[str, float] = field(default_factory=dict)
    _urls: dict[str, str] = field(default_factory=dict)

    def attach(self, cdp: CDPSession) -> None:
        cdp.on("Network.requestWillBeSent", self._sent)
        cdp.on("Network.requestServedFromCache", self._cached)
        cdp.on("Network.responseReceived", self._response)
        cdp.on("Network.loadingFinished", self._finished)
        cdp.on("Network.loadingFailed", self._failed)

    def reset(self) -> None:
        self.bytes_by_url.clear()
        self.from_cache.clear()
        self.status_by_url.clear()
        self.failed.clear()
        self.sent_wall_ms.clear()
        self._urls.clear()

    def _sent(self, event: dict[str, Any]) -> None:
        url = event["request"]["url"]
        self._urls[event["requestId"]] = url
        self.sent_wall_ms.setdefault(url, float(event["wallTime"]) * 1000)

    def _cached(self, event: dict[str, Any]) -> None:
        url = self._urls.get(event["requestId"])
        if url:
            self.from_cache.add(url)

    def _response(self, event: dict[str, Any]) -> None:
        response = event["response"]
        self.status_by_url[response["url"]] = response["status"]
        if response.get("fromDiskCache") or response.get("fromPrefetchCache"):
            self.from_cache.add(response["url"])

    def _finished(self, event: dict[str, Any]) -> None:
        url = self._urls.get(event["requestId"])
        if url is None or url.startswith(("data:", "blob:")):
            return
        self.bytes_by_url[url] = self.bytes_by_url.get(url, 0) + int(event["encodedDataLength"])

    def _failed(self, event: dict[str, Any]) -> None:
        url = self._urls.get(event["requestId"], event["requestId"])
        if not event.get("canceled"):
            self.failed.append(f"{url}: {event.get('errorText')}")

    def summary(self, origin: str, ready_wall_ms: float) -> dict[str, Any]:
        def path(url: str) -> str:
            parts = urlsplit(url)
            return parts.path if url.startswith(origin) else url

        network = {url: size for url, size in self.bytes_by_url.items() if size > 0}
        before_ready = {
            url: size
            for url, size in network.items()
            if self.sent_wall_ms.get(url, 0.0) < ready_wall_ms
        }
        return {
            "bytes": sum(network.values()),
            "bytes_to_ready": sum(before_ready.values()),
            "after_ready_paths": sorted(path(url) for url in network if url not in before_ready),
            "requests": len(self.bytes_by_url),
            "over_network": len(network),
            # A warm open's requests that reached the server (revalidations, API calls).
            "over_network_paths": sorted(path(url) for url in network),
            "from_cache": len(self.from_cache),
            "failed": list(self.failed),
            "assets": sorted(
                ({"path": path(url), "bytes": size} for url, size in network.items()),
                key=lambda asset: -asset["bytes"],
            ),
        }


@dataclass
class Open:
    """One navigation: when the page was ready and painted, and what it transferred."""

    ready_ms: float
    first_paint_ms: float | None
    first_contentful_paint_ms: float | None
    response_end_ms: float | None
    transfer: dict[str, Any]
    resources: list[dict[str, Any]]
    console_errors: list[str]


async def _open(page: Page, url: str, transfer: Transfer, origin: str) -> Open:
    transfer.reset()
    errors: list[str] = []

    def on_console(message: Any) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    await page.goto(url, wait_until="commit", timeout=TIMEOUT_MS)
    await page.wait_for_function(
        "() => window.__benchReady !== undefined", timeout=TIMEOUT_MS, polling=20
    )
    timings = await page.evaluate(TIMINGS_JS)
    page.remove_listener("console", on_console)
    if timings["ready"]["state"] != "true":
        raise RuntimeError(f"{url} set data-ready={timings['ready']['state']!r}: {errors}")
    # Let late responses finish so their sizes are counted, then read the tally.
    with contextlib.suppress(PlaywrightTimeoutError):  # a page that keeps polling still counts
        await page.wait_for_load_state("networkidle", timeout=10_000)
    return Open(
        ready_ms=timings["ready"]["at"],
        first_paint_ms=timings["paint"].get("first-paint"),
        first_contentful_paint_ms=timings["paint"].get("first-contentful-paint"),
        response_end_ms=timings["response_end"],
        transfer=transfer.summary(origin, timings["time_origin"] + timings["ready"]["at"]),
        resources=timings["resources"],
        console_errors=errors,
    )


async def _run_once(browser: Browser, base_url: str, path: str) -> tuple[Open, Open]:
    context: BrowserContext = await browser.new_context()
    try:
        await context.add_init_script(READY_PROBE)
        page = await context.new_page()
        cdp = await context.new_cdp_session(page)
        transfer = Transfer()
        transfer.attach(cdp)
        await cdp.send("Network.enable")
        url = base_url + path
        cold = await _open(page, url, transfer, base_url)
        await asyncio.sleep(SETTLE_S)
        warm = await _open(page, url, transfer, base_url)
        return cold, warm
    finally:
        await context.close()


def _median(values: list[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return statistics.median(present) if present else None


def _page_summary(opens: list[tuple[Open, Open]]) -> dict[str, Any]:
    cold = [pair[0] for pair in opens]
    warm = [pair[1] for pair in opens]
    first = cold[0].transfer
    return {
        "cold_ms": _median([o.ready_ms for o in cold]),
        "warm_ms": _median([o.ready_ms for o in warm]),
        "cold_runs_ms": [o.ready_ms for o in cold],
        "warm_runs_ms": [o.ready_ms for o in warm],
        "first_paint_ms": _median([o.first_paint_ms for o in cold]),
        "first_contentful_paint_ms": _median([o.first_contentful_paint_ms for o in cold]),
        "warm_first_contentful_paint_ms": _median([o.first_contentful_paint_ms for o in warm]),
        "html_response_end_ms": _median([o.response_end_ms for o in cold]),
        "cold_bytes": int(statistics.median(o.transfer["bytes_to_ready"] for o in cold)),
        "cold_bytes_total": int(statistics.median(o.transfer["bytes"] for o in cold)),
        "fetched_after_ready": first["after_ready_paths"],
        "cold_requests": first["requests"],
        "warm_bytes": int(statistics.median(o.transfer["bytes"] for o in warm)),
        "warm_requests_over_network": warm[0].transfer["over_network"],
        "warm_over_network": warm[0].transfer["over_network_paths"],
        "largest_assets": first["assets"][:10],
        "failed_requests": sorted({f for o in cold + warm for f in o.transfer["failed"]}),
        "console_errors": sorted({e for o in cold + warm for e in o.console_errors}),
        "cold_waterfall": sorted(
            (
                {"path": urlsplit(r["url"]).path, "start_ms": r["start"], "end_ms": r["end"]}
                for r in cold[len(cold) // 2].resources
            ),
            key=lambda r: r["start_ms"],
        ),
    }


async def measure_with_browser(
    browser: Browser, base_url: str, *, runs: int, warmup: int
) -> dict[str, Any]:
    base_url = base_url.rstrip("/")
    collected: dict[str, list[tuple[Open, Open]]] = {name: [] for name in PAGES}
    for index in range(warmup + runs):
        for name, path in PAGES.items():
            pair = await _run_once(browser, base_url, path)
            if index >= warmup:
                collected[name].append(pair)
    pages = {name: _page_summary(pairs) for name, pairs in collected.items()}
    dialog, floor = pages["dialog"], pages["floor"]
    return {
        "runs": runs,
        "warmup": warmup,
        "settle_s": SETTLE_S,
        "browser": f"Chromium {browser.version}",
        "pages": pages,
        "cold_ratio": dialog["cold_ms"] / floor["cold_ms"],
        "warm_ratio": dialog["warm_ms"] / floor["warm_ms"],
        "bytes_ratio": dialog["cold_bytes"] / floor["cold_bytes"],
        "bytes_total_ratio": dialog["cold_bytes_total"] / floor["cold_bytes_total"],
    }


async def launch(playwright: Any) -> Browser:
    browser: Browser = await playwright.chromium.launch(
        executable_path=chromium_executable(), args=CHROMIUM_ARGS, headless=True
    )
    return browser


async def measure(
    runs: int = 5, *, warmup: int = 1, server_url: str | None = None
) -> dict[str, Any]:
    """Cold and warm opens of the dialog and the floor, ``runs`` each after ``warmup``.

    ``server_url`` must serve a web root made by ``bench.webroot.make_web_root`` (it has the
    floor page); without it a server is started on a temporary copy of web/.
    """
    async with async_playwright() as playwright:
        browser = await launch(playwright)
        try:
            if server_url is not None:
                return await measure_with_browser(browser, server_url, runs=runs, warmup=warmup)
            with tempfile.TemporaryDirectory(prefix="vouch-bench-") as directory:
                server = live.start(Path(directory))
                try:
                    return await measure_with_browser(browser, server.url, runs=runs, warmup=warmup)
                finally:
                    server.stop()
        finally:
            await browser.close()


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def format_table(figures: dict[str, Any]) -> str:
    pages = figures["pages"]
    dialog, floor = pages["dialog"], pages["floor"]
    rows: list[tuple[str, str, Callable[[Any], str]]] = [
        ("cold open, navigation -> ready (ms)", "cold_ms", _ms),
        ("warm open, same context (ms)", "warm_ms", _ms),
        ("first paint (ms)", "first_paint_ms", _ms),
        ("first contentful paint (ms)", "first_contentful_paint_ms", _ms),
        ("cold bytes before ready (compressed)", "cold_bytes", lambda v: f"{v:,}"),
        ("cold bytes until idle", "cold_bytes_total", lambda v: f"{v:,}"),
        ("cold requests", "cold_requests", str),
        ("warm bytes", "warm_bytes", lambda v: f"{v:,}"),
        ("warm requests over the network", "warm_requests_over_network", str),
    ]
    lines = [
        f"page load: median of {figures['runs']} runs after {figures['warmup']} warm-up, "
        f"{figures['browser']}",
        "",
        f"{'':<40} {'dialog':>12} {'floor':>12} {'ratio':>7}",
    ]
    for label, key, fmt in rows:
        a, b = dialog[key], floor[key]
        ratio = f"{a / b:.2f}x" if isinstance(a, int | float) and b else ""
        lines.append(f"{label:<40} {fmt(a):>12} {fmt(b):>12} {ratio:>7}")
    lines += ["", "ten largest assets of a cold dialog open (bytes as sent):"]
    lines += [f"  {a['bytes']:>10,}  {a['path']}" for a in dialog["largest_assets"]]
    lines.append(f"fetched after the dialog was ready: {', '.join(dialog['fetched_after_ready'])}")
    asked = ", ".join(dialog["warm_over_network"])
    lines.append(f"the dialog's warm open asked the server for: {asked}")
    for name in ("dialog", "floor"):
        for problem in pages[name]["failed_requests"] + pages[name]["console_errors"]:
            lines.append(f"WARNING {name}: {problem}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    description = __doc__.split("\n\n")[0] if __doc__ else None
    return run_part(
        argv, description=description, what="page", measure=measure, format_table=format_table
    )


if __name__ == "__main__":
    main(sys.argv[1:])

"""A bare Pyodide page on the live server's origin, for running vouch's Python in Chromium.

The page itself is not served by vouch: Playwright fulfils ``/__pyodide_test__.html``
on the server's origin with a tiny HTML (and no CSP, so its inline module may run).
Everything it loads is real and same-origin: ``/pyodide/pyodide.mjs``, the runtime,
our pruned ``pyodide-lock.json``, the vouch wheel and its dependencies (installed
with ``loadPackage``, integrity checked), and hash-wasm when BrowserProvider wants it.
So a test on this page still fails on any request to another origin.

Sync (tests) and async (benchmarks) Playwright pages are both supported::

    open_pyodide_page(page, live_server.url)
    value = run_python(page, "import json\\njson.dumps(1 + 1)", some_input="text")
"""

from __future__ import annotations

import json
from typing import Any

from playwright.async_api import Page as AsyncPage
from playwright.sync_api import Page

PAGE_PATH = "/__pyodide_test__.html"

# The inline module resolves a promise, never rejects it: a load failure comes back
# as {"error": ...} to open_pyodide_page instead of as an uncaught rejection.
PAGE_HTML = """<!doctype html>
<html lang="en" data-ready="false">
<head>
  <meta charset="utf-8">
  <title>vouch: Pyodide test page</title>
  <link rel="icon" href="data:,">
  <script type="module">
    import { loadPyodide } from "/pyodide/pyodide.mjs";
    window.__pyodideReady = (async () => {
      try {
        const started = performance.now();
        const pyodide = await loadPyodide({ indexURL: "/pyodide/" });
        await pyodide.loadPackage(["vouch"], { checkIntegrity: true });
        window.__pyodide = pyodide;
        document.documentElement.dataset.ready = "true";
        return { ms: performance.now() - started, version: pyodide.version };
      } catch (error) {
        document.documentElement.dataset.ready = "error";
        return { error: String(error && error.stack || error) };
      }
    })();
  </script>
</head>
<body><p>Pyodide test page</p></body>
</html>
"""

# Runs one chunk of async Python in a fresh globals dict holding the given inputs;
# the chunk's last expression must be a str (json.dumps of the result).
RUN_JS = """async ([code, inputs]) => {
  const pyodide = window.__pyodide;
  const namespace = pyodide.globals.get("dict")();
  try {
    for (const [name, value] of Object.entries(inputs)) {
      namespace.set(name, pyodide.toPy(value));
    }
    const result = await pyodide.runPythonAsync(code, {
      globals: namespace, filename: "<run_python>"
    });
    if (typeof result !== "string") {
      if (result && result.destroy) result.destroy();
      return { error: "the code's last expression must be json.dumps(...), got " + typeof result };
    }
    return { json: result };
  } catch (error) {
    return { error: String(error && error.message || error) };  // a Python traceback
  } finally {
    namespace.destroy();
  }
}"""

WAIT_JS = "() => window.__pyodideReady"


class PyodideLoadError(RuntimeError):
    """The test page could not load Pyodide or install vouch from the lock file."""


class PythonInPageError(RuntimeError):
    """The Python run in the page raised; the message is its traceback."""


def _decoded(outcome: dict[str, str]) -> Any:
    if "error" in outcome:
        raise PythonInPageError(outcome["error"])
    return json.loads(outcome["json"])


def page_url(base_url: str) -> str:
    return base_url.rstrip("/") + PAGE_PATH


def _fulfil(route: Any) -> Any:
    return route.fulfill(
        status=200,
        content_type="text/html; charset=utf-8",
        headers={"Cache-Control": "no-store"},
        body=PAGE_HTML,
    )


def _loaded(state: Any) -> dict[str, Any]:
    if not isinstance(state, dict) or "error" in state:
        detail = state.get("error") if isinstance(state, dict) else state
        raise PyodideLoadError(f"Pyodide did not load on the test page: {detail}")
    return state


def open_pyodide_page(page: Page, base_url: str, *, timeout_ms: float = 120_000) -> dict[str, Any]:
    """Load the bare Pyodide page on ``base_url``'s origin; returns {"ms", "version"}."""
    url = page_url(base_url)
    page.route(url, _fulfil)
    page.goto(url, wait_until="load", timeout=timeout_ms)
    page.wait_for_function("() => window.__pyodideReady !== undefined", timeout=timeout_ms)
    return _loaded(page.evaluate(WAIT_JS))


def run_python(page: Page, code: str, **inputs: Any) -> Any:
    """Run async Python (top-level await allowed) in the page; JSON-decode what it returns.

    ``inputs`` (JSON-like values) are the only globals of the chunk besides builtins;
    the chunk's last expression must be ``json.dumps(...)``. A Python exception comes
    back as ``PythonInPageError`` carrying its traceback.
    """
    return _decoded(page.evaluate(RUN_JS, [code, inputs]))


async def async_open_pyodide_page(
    page: AsyncPage, base_url: str, *, timeout_ms: float = 120_000
) -> dict[str, Any]:
    """``open_pyodide_page`` for Playwright's async API."""
    url = page_url(base_url)
    await page.route(url, _fulfil)
    await page.goto(url, wait_until="load", timeout=timeout_ms)
    await page.wait_for_function("() => window.__pyodideReady !== undefined", timeout=timeout_ms)
    return _loaded(await page.evaluate(WAIT_JS))


async def async_run_python(page: AsyncPage, code: str, **inputs: Any) -> Any:
    """``run_python`` for Playwright's async API."""
    return _decoded(await page.evaluate(RUN_JS, [code, inputs]))

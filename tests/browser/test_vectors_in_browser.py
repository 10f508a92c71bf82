"""Every vector in tests/vectors runs inside headless Chromium, under Pyodide, with
BrowserProvider, and gives byte for byte what NativeProvider gives on CPython: once with
Argon2id in its worker (the WebAssembly SIMD build) and once on hash-wasm, its fallback.

The page is the bare Pyodide page of tests/support/pyodide_page.py on the live
server's origin: vouch is installed from our own lock file and wheel, and
tests/vectors/runner.py's source is executed there unchanged. Pyodide loads once for
the module's light tests; a vector file with large Argon2id parameters gets a page of its
own (SHARED_PAGE_ARGON2_KIB), and the shared page is closed while it runs. Each vector
file is one test per Argon2id backend.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from tests.support.browser import PageWatch
from tests.support.live_server import LiveServer
from tests.support.pyodide_page import open_pyodide_page, run_python
from tests.vectors.runner import run_vectors, summarize
from vouch.crypto.native import NativeProvider

VECTOR_DIR = Path(__file__).resolve().parents[1] / "vectors"
VECTOR_FILES = sorted(VECTOR_DIR.glob("*.json"))
RUNNER = VECTOR_DIR / "runner.py"

# The runner, as a fresh module in the page, against BrowserProvider.
RUN_IN_PAGE = """
import json
import time
import types

from vouch.crypto.browser import BrowserProvider

runner = types.ModuleType("vouch_vectors_runner")
runner.__file__ = "tests/vectors/runner.py"
exec(compile(runner_source, runner.__file__, "exec"), runner.__dict__)
provider = BrowserProvider() if backend == "wasm-simd-worker" else BrowserProvider(
    argon2_worker_url=None
)
started = time.perf_counter()
results = await runner.run_vectors(provider, json.loads(vectors_json))
json.dumps({"results": results, "seconds": time.perf_counter() - started,
            "summary": runner.summarize(results), "backend": provider.argon2_backend})
"""

# A browser without WebAssembly SIMD, which Chromium cannot be made into: a worker that
# answers as the real one does when the SIMD build fails to compile.
WITHOUT_SIMD = """
import json
import js
from vouch.crypto.browser import BrowserProvider

answer = (
    "self.onmessage = ({data}) => "
    "self.postMessage({id: data.id, error: 'invalid SIMD', name: 'CompileError'});"
)
url = js.URL.createObjectURL(js.Blob.new(js.Array.of(answer), type="text/javascript"))
provider = BrowserProvider(argon2_worker_url=url)
before = provider.argon2_backend
key = await provider.argon2id(b"passphrase", bytes(16), memory_kib=19 * 1024, iterations=2,
                              lanes=1)
json.dumps({"before": before, "after": provider.argon2_backend, "key": key.hex()})
"""


class PyodidePages:
    """The module's shared Pyodide page, opened when a light test needs it and closed (its
    context with it) before a heavy test opens a page of its own: one Pyodide page at a time.
    """

    def __init__(self, browser: Browser, origin: str) -> None:
        self.browser = browser
        self.origin = origin
        self.shared: tuple[BrowserContext, Page, PageWatch] | None = None

    def shared_page(self) -> tuple[Page, PageWatch]:
        if self.shared is None:
            context = self.browser.new_context()
            page = context.new_page()
            watch = PageWatch(origin=self.origin)
            watch.attach(page)
            self.shared = context, page, watch
            open_pyodide_page(page, self.origin)
        _, page, watch = self.shared
        return page, watch

    def close_shared(self) -> None:
        """Its checks ran after each test that used it (pyodide_page)."""
        if self.shared is not None:
            context, _, _ = self.shared
            self.shared = None
            context.close()


@pytest.fixture(scope="module")
def pyodide_pages(browser: Browser, live_server: LiveServer) -> Iterator[PyodidePages]:
    pages = PyodidePages(browser, live_server.url)
    try:
        yield pages
    finally:
        pages.close_shared()


@pytest.fixture
def pyodide_page(pyodide_pages: PyodidePages) -> Iterator[Page]:
    """The shared page, with Pyodide and vouch loaded, for a test that needs little memory."""
    page, watch = pyodide_pages.shared_page()
    yield page
    watch.assert_clean()  # no other origin, no console error, no uncaught error, no crash


@pytest.fixture
def own_pyodide_page(pyodide_pages: PyodidePages, page: Page, live_server: LiveServer) -> Page:
    """A page of this test's own (the conftest's fresh context, closed when the test ends)."""
    pyodide_pages.close_shared()
    open_pyodide_page(page, live_server.url)
    return page


# hash-wasm's heap grows to the largest Argon2id a page asked of it and never shrinks, and
# the worker's spent instances are garbage only until a collection: a vector file that asks
# for more than this runs in a page of its own, so its memory is gone when its test ends
# instead of staying in the shared page (which a kernel short of memory then killed: all
# the module's later tests failed with "Target crashed").
SHARED_PAGE_ARGON2_KIB = 4 * 1024


def largest_argon2_memory_kib(value: Any) -> int:
    """The largest ``memory_kib`` anywhere in a vector file's JSON."""
    if isinstance(value, dict):
        own = value.get("memory_kib")
        inner = [largest_argon2_memory_kib(item) for item in value.values()]
        return max([own if isinstance(own, int) else 0, *inner])
    if isinstance(value, list):
        return max([0, *(largest_argon2_memory_kib(item) for item in value)])
    return 0


@pytest.fixture
def vector_page(request: pytest.FixtureRequest, path: Path) -> Page:
    vectors = json.loads(path.read_text(encoding="utf-8"))
    heavy = largest_argon2_memory_kib(vectors) > SHARED_PAGE_ARGON2_KIB
    page: Page = request.getfixturevalue("own_pyodide_page" if heavy else "pyodide_page")
    return page


def test_the_page_is_pyodide_with_vouch_from_our_lock(pyodide_page: Page) -> None:
    found = run_python(
        pyodide_page,
        """
import importlib.util, json, sys
import vouch, vouch.crypto
import pyodide_js
await pyodide_js.loadPackage("micropip", checkIntegrity=True)
import micropip
json.dumps({
    "micropip": micropip.__file__,
    "platform": sys.platform,
    "vouch": vouch.__file__,
    "cryptography": importlib.util.find_spec("cryptography") is not None,
    "default": type(vouch.crypto.default_provider()).__name__,
})
""",
    )
    assert found["platform"] == "emscripten"
    # micropip comes from our lock and our origin too (the PageWatch fails on any other).
    assert "site-packages/micropip/" in found["micropip"]
    assert "site-packages/vouch/" in found["vouch"]
    # The lock ships no cryptography wheel, so the page must use WebCrypto + hash-wasm.
    assert not found["cryptography"]
    assert found["default"] == "BrowserProvider"


PREPARED = """
import asyncio
import json
from vouch.crypto.browser import BrowserProvider

provider = BrowserProvider()
provider.prepare(19 * 1024)  # the worker readies an instance with its memory grown
await asyncio.sleep(0.2)
keys = [
    (await provider.argon2id(b"passphrase", bytes(16), memory_kib=19 * 1024, iterations=2,
                             lanes=1)).hex()
    for _ in range(2)  # the second one runs on a fresh instance: prepared ones serve once
]
json.dumps({"keys": keys, "backend": provider.argon2_backend})
"""


def native_argon2id_small() -> bytes:
    native = NativeProvider().argon2id(
        b"passphrase", bytes(16), memory_kib=19 * 1024, iterations=2, lanes=1
    )
    with ThreadPoolExecutor(max_workers=1) as pool:  # sync Playwright owns this thread's loop
        return pool.submit(asyncio.run, native).result()


def test_a_prepared_worker_derives_the_same_key(pyodide_page: Page) -> None:
    found = run_python(pyodide_page, PREPARED)
    assert found["backend"] == "wasm-simd-worker"
    assert found["keys"] == [native_argon2id_small().hex()] * 2


WORKER_FAILS = """
import json
import js
from vouch.crypto.browser import BrowserCryptoError, BrowserProvider

answer = (
    "self.onmessage = ({data}) => self.postMessage("
    "{id: data.id, error: 'argon2id: Memory allocation error', name: 'RangeError'});"
)
url = js.URL.createObjectURL(js.Blob.new(js.Array.of(answer), type="text/javascript"))
provider = BrowserProvider(argon2_worker_url=url)
try:
    await provider.argon2id(b"passphrase", bytes(16), memory_kib=19 * 1024, iterations=2,
                            lanes=1)
    raised = None
except BrowserCryptoError as exc:
    raised = str(exc)
json.dumps({"raised": raised, "after": provider.argon2_backend})
"""


def test_a_failed_derivation_in_the_worker_is_reported_not_retried(pyodide_page: Page) -> None:
    found = run_python(pyodide_page, WORKER_FAILS)
    assert found["raised"] == (
        "argon2id failed in the browser: RangeError: argon2id: Memory allocation error"
    )
    assert found["after"] == "wasm-simd-worker"  # a real failure is no reason to fall back


def test_argon2id_falls_back_to_hash_wasm_without_wasm_simd(pyodide_page: Page) -> None:
    found = run_python(pyodide_page, WITHOUT_SIMD)
    assert found["before"] == "wasm-simd-worker"
    assert found["after"] == "hash-wasm"
    assert found["key"] == native_argon2id_small().hex()


@pytest.mark.parametrize("backend", ["wasm-simd-worker", "hash-wasm"])
@pytest.mark.parametrize("path", VECTOR_FILES, ids=lambda path: path.stem)
def test_vectors_match_native_byte_for_byte(vector_page: Page, path: Path, backend: str) -> None:
    text = path.read_text(encoding="utf-8")
    vectors: dict[str, Any] = json.loads(text)

    # Sync Playwright owns this thread's event loop: the native run gets its own thread
    # (and overlaps the page's run).
    with ThreadPoolExecutor(max_workers=1) as pool:
        native_future = pool.submit(asyncio.run, run_vectors(NativeProvider(), vectors))
        started = time.perf_counter()
        page_run = run_python(
            vector_page, RUN_IN_PAGE, runner_source=RUNNER.read_text(encoding="utf-8"),
            vectors_json=text, backend=backend,
        )  # fmt: skip
        browser_seconds = time.perf_counter() - started
        native_results = native_future.result()
    browser_results: list[dict[str, Any]] = page_run["results"]
    assert page_run["backend"] == backend  # the worker did not fall back behind our back

    names = [vector["name"] for vector in vectors["vectors"]]
    assert [result["name"] for result in browser_results] == names
    assert {result["provider"] for result in browser_results} == {"browser"}

    # Every vector passes in the page, or is a gap the vector file declares for the browser.
    failed = [r for r in browser_results if not r["ok"] and not r.get("unsupported")]
    assert not failed, page_run["summary"]
    declared = {v["name"] for v in vectors["vectors"] if "browser" in v.get("unsupported_by", {})}
    unsupported = {result["name"] for result in browser_results if result.get("unsupported")}
    assert unsupported <= declared, f"unsupported but not declared: {unsupported - declared}"

    # The same runner natively passes everything, and both runtimes computed the same bytes.
    assert all(result["ok"] for result in native_results), summarize(native_results)
    for browser_result, native_result in zip(browser_results, native_results, strict=True):
        if browser_result.get("unsupported"):
            assert browser_result["actual"] is None
            continue
        assert browser_result["actual"] == native_result["actual"], browser_result["name"]
    print(
        f"{path.name}: {len(names)} vectors in the page in {browser_seconds:.2f}s "
        f"(runner {page_run['seconds']:.2f}s), {len(unsupported)} declared unsupported"
    )

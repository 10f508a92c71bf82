"""How long the default passphrase derivation takes in the browser and natively.

    .venv/bin/python -m bench.derivation [--runs 5] [--warmup 1] [--json]

Starts the real server (serve.py, temporary directory), opens headless Chromium the
way the browser tests do, loads Pyodide and vouch from the server's own lock file on a
bare page of its origin, and times ``vouch.core.keys.derive_passphrase_key`` with the
default ``Argon2Params`` (Argon2id, 64 MiB, t = 3, p = 4, then HKDF and the Ed25519
public key): from Python in the page with ``BrowserProvider`` (Argon2id in a worker on the
WebAssembly SIMD build, what the dialog uses; and on hash-wasm, its fallback and what
the dialog used before), and on CPython with ``NativeProvider`` (cryptography / OpenSSL),
same inputs. All must derive the same public key. Each run is timed where it runs (in the
page with ``time.perf_counter``, so no Playwright round trip is counted; the worker's
start and its wasm compile are inside every run, as the dialog pays them every time);
warm-up runs (first loads, first allocation) are reported apart. The dialog calls
``provider.prepare()`` when a passphrase field appears, which readies the worker's next
instance while the user types; the ``browser`` row does the same and waits half a second
(less than typing any passphrase takes) before each timed run, ``browser_unprepared``
does not.

``measure()`` is the importable entry point: it returns the figures as a dict.
"""

from __future__ import annotations

import asyncio
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from playwright.async_api import async_playwright
from tests.support.browser import CHROMIUM_ARGS, chromium_executable
from tests.support.live_server import start_server
from tests.support.pyodide_page import async_open_pyodide_page, async_run_python

from bench._cli import run_part
from vouch.core import kdf, keys
from vouch.crypto.native import NativeProvider

# Fixed inputs: the point is the cost, and that both runtimes agree on the key.
PASSPHRASE = "correct horse battery staple, but longer and less famous"
SALT = bytes(range(16))
ACCOUNT_ID = "bench-account"

IN_PAGE = """
import asyncio
import json
import time

from vouch.core import kdf, keys
from vouch.crypto.browser import BrowserProvider

params = kdf.Argon2Params()
found = {}
for backend, provider, typing in (
    ("browser", BrowserProvider(), True),
    ("browser_unprepared", BrowserProvider(), False),
    ("browser_hash_wasm", BrowserProvider(argon2_worker_url=None), True),
):
    seconds = []
    for _ in range(total):
        if typing:  # as the dialog does when the passphrase field shows, then the user types
            provider.prepare(params.memory_kib)
            await asyncio.sleep(0.5)
        started = time.perf_counter()
        key = await keys.derive_passphrase_key(
            provider, passphrase, salt=bytes.fromhex(salt), account_id=account_id, params=params
        )
        seconds.append(time.perf_counter() - started)
    found[backend] = {
        "seconds": seconds, "public_key": key.public_key.hex(), "used": provider.argon2_backend
    }
json.dumps(found)
"""
BROWSER_ROWS = {
    "browser": "wasm SIMD worker",
    "browser_unprepared": "wasm SIMD worker, no prepare()",
    "browser_hash_wasm": "hash-wasm",
}


def _summary(seconds: list[float], warmup: int) -> dict[str, Any]:
    timed = seconds[warmup:]
    return {
        "median_s": statistics.median(timed),
        "min_s": min(timed),
        "max_s": max(timed),
        "runs_s": timed,
        "warmup_s": seconds[:warmup],
    }


async def _native(total: int) -> tuple[list[float], list[float], str]:
    provider = NativeProvider()
    params = kdf.Argon2Params()
    wall, cpu = [], []
    public_key = b""
    for _ in range(total):
        started, started_cpu = time.perf_counter(), time.process_time()
        key = await keys.derive_passphrase_key(
            provider, PASSPHRASE, salt=SALT, account_id=ACCOUNT_ID, params=params
        )
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
        public_key = key.public_key
    return wall, cpu, public_key.hex()


def _native_runtime() -> str:
    import cryptography
    from cryptography.hazmat.backends.openssl import backend

    return (
        f"CPython {platform.python_version()}, cryptography {cryptography.__version__} "
        f"({backend.openssl_version_text()})"
    )


async def _browser(server_url: str, total: int) -> tuple[dict[str, Any], str]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium_executable(), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = await (await browser.new_context()).new_page()
            loaded = await async_open_pyodide_page(page, server_url)
            found = await async_run_python(
                page, IN_PAGE, total=total, passphrase=PASSPHRASE, salt=SALT.hex(),
                account_id=ACCOUNT_ID,
            )  # fmt: skip
            runtime = f"Chromium {browser.version}, Pyodide {loaded['version']}"
        finally:
            await browser.close()
    return found, runtime


async def measure(
    runs: int = 5, *, warmup: int = 1, server_url: str | None = None
) -> dict[str, Any]:
    """Time the default passphrase derivation ``runs`` times in each runtime.

    Starts serve.py in a temporary directory unless ``server_url`` points at a running one.
    Raises RuntimeError if the two runtimes derive different public keys.
    """
    if runs < 1 or warmup < 0:
        raise ValueError(f"runs is {runs} and warmup {warmup}, expected runs >= 1, warmup >= 0")
    total = warmup + runs
    params = kdf.Argon2Params()

    if server_url is None:
        with tempfile.TemporaryDirectory(prefix="vouch-bench-") as directory:
            server = start_server(Path(directory))
            try:
                in_page, browser_runtime = await _browser(server.url, total)
            finally:
                server.stop()
    else:
        in_page, browser_runtime = await _browser(server_url, total)
    # After the browser has exited, so the two do not compete for the CPU; in a thread,
    # so the event loop stays free for whoever awaits us.
    native_s, native_cpu, native_key = await asyncio.to_thread(asyncio.run, _native(total))

    rows: dict[str, Any] = {}
    for name, label in BROWSER_ROWS.items():
        if in_page[name]["public_key"] != native_key:
            raise RuntimeError(
                f"the page ({label}) derived public key {in_page[name]['public_key']}, "
                f"CPython {native_key}: runtimes disagree"
            )
        rows[name] = {
            **_summary(in_page[name]["seconds"], warmup),
            "runtime": f"{browser_runtime}, {label}",
            "argon2_backend": in_page[name]["used"],
        }
    browser = rows["browser"]
    native = {
        **_summary(native_s, warmup),
        "cpu_median_s": statistics.median(native_cpu[warmup:]),
        "runtime": _native_runtime(),
    }
    return {
        "what": "vouch.core.keys.derive_passphrase_key, default Argon2Params",
        "params": params.to_dict(),
        "runs": runs,
        "warmup": warmup,
        "public_key": native_key,
        **rows,
        "native": native,
        "ratio_median": browser["median_s"] / native["median_s"],
        "ratio_min": browser["min_s"] / native["min_s"],
        "hash_wasm_ratio_median": rows["browser_hash_wasm"]["median_s"] / native["median_s"],
        "machine": f"{platform.machine()}, {platform.system()} {platform.release()}",
    }


def format_table(figures: dict[str, Any]) -> str:
    params = figures["params"]
    native = figures["native"]
    ms = 1000.0
    threads = (
        "OpenSSL computed lanes on several threads"
        if native["cpu_median_s"] > 1.2 * native["median_s"]
        else "OpenSSL used one thread"
    )
    lines = [
        f"default passphrase derivation: Argon2id m={params['memory_kib']} KiB "
        f"t={params['iterations']} p={params['lanes']} + HKDF + Ed25519, "
        f"{figures['runs']} runs after {figures['warmup']} warm-up",
        "",
        f"{'runtime':<18} {'median ms':>10} {'min ms':>10} {'warm-up ms':>11}  details",
    ]
    for name in ("browser", "browser_unprepared", "browser_hash_wasm", "native"):
        row = figures[name]
        warm = ", ".join(f"{value * ms:.0f}" for value in row["warmup_s"]) or "-"
        lines.append(
            f"{name:<18} {row['median_s'] * ms:>10.0f} {row['min_s'] * ms:>10.0f} {warm:>11}  "
            f"{row['runtime']}"
        )
    lines += [
        "",
        f"browser/native: {figures['ratio_median']:.2f}x (median), "
        f"{figures['ratio_min']:.2f}x (min); hash-wasm/native: "
        f"{figures['hash_wasm_ratio_median']:.2f}x (median)",
        f"native CPU time (median): {native['cpu_median_s'] * ms:.0f} ms for "
        f"{native['median_s'] * ms:.0f} ms wall ({threads}; the page runs on one)",
        f"machine: {figures['machine']}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    description = __doc__.split("\n\n")[0] if __doc__ else None
    return run_part(
        argv, description=description, what="runtime", measure=measure, format_table=format_table
    )


if __name__ == "__main__":
    main(sys.argv[1:])

"""Build the dialog's self-hosted assets into web/ (git-ignored output).

    python scripts/build_web.py [--fast]

(--fast skips brotli, whose best level takes a minute on the snapshot: for iterating.)

Copies the pinned npm packages (Pyodide, PyScript, @phi-ag/argon2, hash-wasm, axe-core)
out of node_modules, builds the page's vouch wheel (everything but vouch.server), fetches
the pure-Python wheels the page installs, and writes two things from them:

* web/pyodide/: the runtime, the wheels and a pruned pyodide-lock.json whose sha256
  entries match the files we serve (so Pyodide keeps its integrity checks on). A bare
  Pyodide page can ``loadPackage("vouch")`` from it (tests/support/pyodide_page.py does).
  These URLs never change, so they are served for revalidation (no-cache).

* web/v/: what the dialog loads, at URLs that never change meaning, so browsers keep
  them without asking again (the server marks them immutable). The runtime sits in a
  directory named after its version (``/v/314.0.7/pyodide/``, ``/v/0.7.31/pyscript/``);
  what we derive from our own code carries a content hash in its name:

  - ``vouch-files.<hash>.bin``: files the page writes into Pyodide's file system before
    Python resumes: PyScript's Python package compiled to unchecked hash-based pycs (so
    the page does not compile it on every open);
  - ``vouch.<hash>.snapshot``: a Pyodide memory snapshot taken (in Node, with
    node_modules/pyodide) after Python has started and imported the dialog, so the page
    restores an interpreter instead of booting one; it is stored XOR the memory image
    Pyodide's wasm starts from, which the page has anyway, so what travels is only what
    Python changed;
  - ``python_stdlib.<hash>.zip``: the standard library without the modules the snapshot
    already holds (those are never read again), stored uncompressed so the HTTP
    compression sees the whole text;
  - ``vouch-site.<hash>.zip``: our packages and their dependencies as one zip on sys.path
    (zipimport reads it in place: nothing to unpack); what the snapshot holds is left out
    but vouch's own sources, for tracebacks.

  The last two are not needed to show the dialog: the page fetches them once it is
  interactive (pysrc/vouch/dialog/deferred.py says how code waits for them).

  ``web/v/vouch-boot.mjs`` ties them together: PyScript imports it as its interpreter
  (it wraps ``loadPyodide``), so its name is stable and it is revalidated.

Every compressible file gets gzip and brotli siblings (``name.gz``, ``name.br``) that the
server sends as they are. Run this again after changing anything under pysrc/.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pyodide_lock import PyodideLockSpec
from pyodide_lock.utils import add_wheels_to_spec

try:
    import brotli
except ImportError:  # optional: without it only gzip siblings are written
    brotli = None

ROOT = Path(__file__).resolve().parents[1]
NODE_MODULES = ROOT / "node_modules"
WEB = ROOT / "web"
BUILD = ROOT / "build"
PYODIDE_OUT = WEB / "pyodide"
VERSIONED_OUT = WEB / "v"
VENDOR_OUT = WEB / "vendor"
OLD_PYSCRIPT_OUT = WEB / "pyscript"  # earlier builds served PyScript here
PYODIDE_FILES = ["pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip"]
COMPRESSIBLE = {
    ".wasm", ".mjs", ".js", ".json", ".zip", ".css", ".html", ".txt", ".svg", ".snapshot",
    ".bin",
}  # fmt: skip
SITE_ZIP_PATH = "/lib/vouch-site.zip"  # where the page's packages sit in Pyodide's FS
# Standard library files the page's zip leaves out although nothing imported them yet:
# debuggers, test runners, REPLs and terminals, and clients and servers for processes
# and sockets, none of which can run in a browser page (a path regex, zip-relative).
STDLIB_NEVER_IN_PAGE = (
    r"^(_pyrepl|bdb|cProfile|curses|doctest|ensurepip|ftplib|http/server|idlelib|imaplib"
    r"|lib2to3|mailbox|multiprocessing|nntplib|pdb|pickletools|poplib|profile|pstats"
    r"|pydoc|pydoc_data|smtplib|tabnanny|telnetlib|timeit|tkinter|trace|turtle"
    r"|turtledemo|unittest|venv|wsgiref|xmlrpc)(/|\.py$)"
)
PYODIDE_HOME = "/home/pyodide"  # Pyodide's working directory, where PyScript writes its package
# What the snapshot imports: the dialog and everything its start-up needs, including the
# standard library modules PyScript's own bootstrap imports (found by diffing sys.modules
# after a real open). zxcvbn is left out on purpose: its frequency lists would add
# megabytes to every open, and the dialog imports it only when a passphrase is checked.
SNAPSHOT_IMPORTS = [
    "vouch.dialog.app",
    "vouch.crypto.browser",
    # PyScript's bootstrap: it writes its package with pathlib, then imports it.
    "pathlib",
    "base64",
    "html",
    "inspect",
]


def run(*command: str, cwd: Path = ROOT) -> None:
    print("+", " ".join(command), flush=True)
    subprocess.run(command, check=True, cwd=cwd)


def fresh_dir(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def short_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def npm_version(package: str) -> str:
    version = json.loads((NODE_MODULES / package / "package.json").read_text())["version"]
    assert isinstance(version, str)
    return version


def page_requirements() -> list[str]:
    """The page installs exactly the runtime dependencies pyproject.toml declares."""
    with (ROOT / "pyproject.toml").open("rb") as file:
        return list(tomllib.load(file)["project"]["dependencies"])


def page_only_wheel(wheel: Path) -> None:
    """Rewrite the vouch wheel without vouch/server: the page never imports it."""
    kept: list[tuple[zipfile.ZipInfo, bytes]] = []
    record_name = ""
    with zipfile.ZipFile(wheel) as source:
        for info in source.infolist():
            if info.filename.startswith("vouch/server/"):
                continue
            if info.filename.endswith(".dist-info/RECORD"):
                record_name = info.filename
                continue
            kept.append((info, source.read(info)))
    record = io.StringIO()
    for info, data in kept:
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.write(f"{info.filename},sha256={digest},{len(data)}\n")
    record.write(f"{record_name},,\n")
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for info, data in kept:
            target.writestr(info, data)
        target.writestr(record_name, record.getvalue())


def collect_wheels(micropip_version: str) -> list[Path]:
    """Our page-only wheel, its dependencies, and micropip (served for pages that want it)."""
    wheels = fresh_dir(BUILD / "wheels")
    run(
        sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
        "--only-binary=:all:", "--implementation", "py", "--python-version", "3.14",
        "--abi", "none", "--platform", "any", "--dest", str(wheels),
        f"micropip=={micropip_version}", *page_requirements(),
    )  # fmt: skip
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(wheels), str(ROOT))
    for wheel in wheels.glob("vouch-*.whl"):
        page_only_wheel(wheel)
    return sorted(wheels.glob("*.whl"))


def build_pyodide(lock_source: dict[str, object], wheels: list[Path]) -> None:
    """web/pyodide/: the runtime, our wheels and a lock that describes only them."""
    fresh_dir(PYODIDE_OUT)
    source = NODE_MODULES / "pyodide"
    for name in PYODIDE_FILES:
        shutil.copy2(source / name, PYODIDE_OUT / name)
    for wheel in wheels:
        shutil.copy2(wheel, PYODIDE_OUT / wheel.name)
    ours = [PYODIDE_OUT / wheel.name for wheel in wheels if not wheel.name.startswith("micropip-")]
    packages = lock_source["packages"]
    assert isinstance(packages, dict)
    # pyodide-lock's model predates the lock's per-package "tool" table; it is empty.
    micropip = {key: value for key, value in packages["micropip"].items() if key != "tool"}
    # pyodide-lock's model lags the lock format (info.version, the "tool" tables), so it only
    # describes our wheels; the lock's own top level is written back unchanged.
    info = lock_source["info"]
    assert isinstance(info, dict)
    pruned = PyodideLockSpec.model_validate(
        {"info": {**info, "version": npm_version("pyodide")}, "packages": {"micropip": micropip}}
    )
    spec = add_wheels_to_spec(pruned, ours, base_path=PYODIDE_OUT)
    described = spec.model_dump()["packages"]
    for package in described.values():
        package["sha256"] = hashlib.sha256(
            (PYODIDE_OUT / package["file_name"]).read_bytes()
        ).hexdigest()
    lock = {**lock_source, "packages": described}
    (PYODIDE_OUT / "pyodide-lock.json").write_text(json.dumps(lock, indent=1, sort_keys=True))


def build_site_zip(wheels: list[Path], destination: Path) -> Path:
    """One stored zip with every package the page imports, for zipimport."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as site:
        for wheel in wheels:
            with zipfile.ZipFile(wheel) as source:
                for info in sorted(source.infolist(), key=lambda item: item.filename):
                    top = info.filename.split("/")[0]
                    if top.endswith((".dist-info", ".data")) or info.is_dir():
                        continue
                    entry = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
                    site.writestr(entry, source.read(info))
    data = buffer.getvalue()
    path = destination / f"vouch-site.{short_hash(data)}.zip"
    path.write_bytes(data)
    return path


def pyscript_python_sources(dist: Path) -> dict[str, str]:
    """PyScript's own Python package, which its JS writes into the page's FS at start-up.

    The sources sit in the core chunk as a JS object literal ({pyscript: {"x.py": "..."}});
    Node evaluates that literal (nothing else). Empty if a PyScript release moved them: the
    page then compiles them itself, as it always did.
    """
    for chunk in sorted(dist.glob("core-*.js")):
        text = chunk.read_text()
        start = text.find('{pyscript:{"__init__.py"')
        if start < 0:
            continue
        depth, quote, index = 0, "", start
        while index < len(text):
            char = text[index]
            if quote:
                if char == "\\":
                    index += 1
                elif char == quote:
                    quote = ""
            elif char in "\"'`":
                quote = char
            elif char == "{":
                depth += 1
            elif char == "}":
                depth -= 1
                if depth == 0:
                    break
            index += 1
        literal = text[start : index + 1]
        flatten = (
            "const tree = eval('(' + require('fs').readFileSync(0, 'utf8') + ')');"
            "const flat = (o, p) => Object.entries(o).flatMap(([k, v]) =>"
            " typeof v === 'string' ? [[p + k, v]] : flat(v, p + k + '/'));"
            "process.stdout.write(JSON.stringify(Object.fromEntries(flat(tree, ''))));"
        )
        found = subprocess.run(
            ["node", "-e", flatten], input=literal, capture_output=True, text=True, check=True
        )
        sources: dict[str, str] = json.loads(found.stdout)
        return sources
    print("warning: PyScript's Python sources not found; the page will compile them")
    return {}


# Runs in Node: boots Pyodide from the versioned directory with the site zip on sys.path,
# imports what the dialog needs, swaps the standard library for one without the modules
# already imported, compiles PyScript's Python package, zeroes the free heap and writes the
# memory snapshot XOR the memory the wasm starts from.
SNAPSHOT_SCRIPT = r"""
import { readFileSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const [indexDir, siteZip, siteZipPath, settingsFile, outDir] = process.argv.slice(2);
const BLOCK = 256;
const settings = JSON.parse(readFileSync(settingsFile, "utf8"));
const indexURL = indexDir.endsWith("/") ? indexDir : indexDir + "/";
const { loadPyodide } = await import(pathToFileURL(indexURL + "pyodide.mjs").href);
const emscriptenJs = await import(pathToFileURL(indexURL + "pyodide.asm.mjs").href);
const createPyodideModule = emscriptenJs.default;
const site = readFileSync(siteZip);

// A first interpreter compiles (so the snapshot's heap holds none of the garbage):
// PyScript's package, and every module of the site zip outside vouch, to unchecked
// hash-based pycs (PEP 552), which Python uses as they are, with no compile in the page.
// What a page's Pyodide calls itself (sys.executable), not this script's path.
const _sysExecutable = "./this.program";
const compiler = await loadPyodide({
  indexURL,
  _sysExecutable,
  fsInit: (FS) => FS.writeFile(siteZipPath, site),
});
compiler.globals.set("settings", compiler.toPy(settings));
compiler.runPython(`
import importlib.util, json, zipfile
from importlib import _bootstrap_external

def unchecked_pyc(source, path):
    code = compile(source, path, "exec", dont_inherit=True)
    source_hash = importlib.util.source_hash(source.encode())
    return _bootstrap_external._code_to_hash_pyc(code, source_hash, checked=False)

pyscript = {}
for relative, source in settings["pyscript_sources"].items():
    path = settings["home"] + "/" + relative
    pyscript[importlib.util.cache_from_source(path)] = unchecked_pyc(source, path).hex()
with open("/tmp/pyscript-pycs.json", "w") as out:
    json.dump(pyscript, out)
site = settings["site_zip_path"]
with zipfile.ZipFile(site) as source, zipfile.ZipFile("/tmp/site-pycs.zip", "w") as out:
    for info in source.infolist():
        if info.filename.endswith(".py") and not info.filename.startswith("vouch/"):
            code = unchecked_pyc(source.read(info).decode(), site + "/" + info.filename)
            out.writestr(info.filename + "c", code)
`);
const pyscriptPycs = compiler.FS.readFile("/tmp/pyscript-pycs.json");
const sitePycs = compiler.FS.readFile("/tmp/site-pycs.zip");

let reference, initialized;
const pyodide = await loadPyodide({
  indexURL,
  _sysExecutable,
  _makeSnapshot: true,
  fsInit: (FS) => {
    FS.writeFile(siteZipPath, site);
    FS.writeFile("/tmp/site-pycs.zip", sitePycs);
  },
  createPyodideModule(moduleSettings) {
    // The memory as the wasm is instantiated (its data segments, then zeros) and as the
    // runtime has initialised it (C constructors ran), which is when the page restores.
    moduleSettings.preRun.unshift((Module) => { reference = Module.HEAPU8.slice(); });
    // (Emscripten's Module is this settings object.)
    moduleSettings.onRuntimeInitialized = () => { initialized = moduleSettings.HEAPU8.slice(); };
    return createPyodideModule(moduleSettings);
  },
});
pyodide.globals.set("settings", pyodide.toPy(settings));
const report = JSON.parse(pyodide.runPython(`
import importlib, json, os, re, sys, zipfile, zipimport

def held_files(archive):
    # Files of archive whose modules the snapshot holds: never read again.
    held = set()
    for module in list(sys.modules.values()):
        origin = getattr(getattr(module, "__spec__", None), "origin", None) or ""
        if origin == "frozen":
            origin = getattr(module, "__file__", None) or ""
        if origin.startswith(archive + "/"):
            held.add(origin[len(archive) + 1:])
    return held

def rewrite(archive, entries):
    # Replace a zip on sys.path and make zipimport read its new directory now.
    with zipfile.ZipFile("/tmp/rewrite.zip", "w") as out:
        for name, data in entries:
            out.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data)
    os.replace("/tmp/rewrite.zip", archive)
    zipimport._zip_directory_cache.pop(archive, None)
    sys.path_importer_cache[archive] = zipimport.zipimporter(archive)

site = settings["site_zip_path"]
sys.path.append(site)
for name in settings["imports"]:
    importlib.import_module(name)

# The standard library without what the snapshot holds (frozen modules' sources too),
# and without what cannot run in a page.
stdlib = next(path for path in sys.path if path.endswith(".zip") and "python3" in path)
held = held_files(stdlib)
never = re.compile(settings["stdlib_never"])
with zipfile.ZipFile(stdlib) as full:
    kept = [
        (info.filename, full.read(info)) for info in full.infolist()
        if info.filename not in held and not never.match(info.filename)
    ]
rewrite(stdlib, kept)

# Our packages: what the snapshot holds goes (vouch keeps its sources, for tracebacks);
# the rest travels compiled, so a lazy import (zxcvbn) costs no compile in the page.
held_site = held_files(site)
entries = []
with zipfile.ZipFile(site) as full, zipfile.ZipFile("/tmp/site-pycs.zip") as pycs:
    compiled = set(pycs.namelist())
    for info in full.infolist():
        name = info.filename
        if name.startswith("vouch/"):
            entries.append((name, full.read(info)))
        elif name in held_site:
            continue
        elif name + "c" in compiled:
            entries.append((name + "c", pycs.read(name + "c")))
        else:
            entries.append((name, full.read(info)))
rewrite(site, entries)
os.remove("/tmp/site-pycs.zip")
importlib.invalidate_caches()
# Pyodide puts "" first on sys.path each time it starts, restored ones included.
while "" in sys.path:
    sys.path.remove("")
json.dumps({
    "modules": len(sys.modules), "stdlib": stdlib, "site": site,
    "held": len(held), "stdlib_files": len(kept), "site_files": len(entries),
})
`));
// Zero the heap's free space (stale bytes of freed objects): drop this script's globals,
// then fill the allocator's free chunks with zeroed 4 KiB buffers until it has to take
// memory from the top, and free them again. The memory must not grow.
pyodide.runPython(`
for _name in [name for name in globals() if not name.startswith("__")]:
    del globals()[_name]
del _name
import gc
gc.collect()
_fill = []
`);
const Module = pyodide._module;
const brk = Module._emscripten_get_sbrk_ptr() >>> 2;
const BATCH = 64 * 4096;
// The fill needs room above the top to notice it has run out of free chunks: grow the
// memory first when the imports left it nearly full (it stays zero, so costs nothing).
if (Module.HEAPU8.length - Module.HEAPU32[brk] < 8 * BATCH) {
  Module._emscripten_resize_heap(Module.HEAPU32[brk] + 8 * BATCH);
}
const size = Module.HEAPU8.length;
const top = Module.HEAPU32[brk];
while (size - Module.HEAPU32[brk] > 2 * BATCH && Module.HEAPU32[brk] < top + 4 * BATCH) {
  pyodide.runPython("_fill.extend(bytearray(4096) for _ in range(64))");
}
pyodide.runPython("del _fill\nimport gc\ngc.collect()");
if (Module.HEAPU8.length !== size) throw new Error("the zero fill grew the memory");

const snapshot = pyodide.makeMemorySnapshot();
const heapStart = new Uint32Array(snapshot.buffer, snapshot.byteOffset, 4)[1];
// The page restores once the runtime is initialised: it puts the data segments back
// below xorEnd and XORs in the runs there (the heap XOR the data segments, mostly zeros),
// and above xorEnd copies the runs: every block the snapshot or the constructors touched.
let xorEnd = reference.length;
while (xorEnd > 0 && reference[xorEnd - 1] === 0) xorEnd--;
xorEnd = Math.ceil(xorEnd / BLOCK) * BLOCK;
const heap = snapshot.subarray(heapStart);
for (let i = 0; i < xorEnd; i++) heap[i] ^= reference[i];
const isZero = (bytes, at) => bytes.subarray(at, at + BLOCK).every((byte) => byte === 0);
const runs = [];
for (let at = 0; at < heap.length; at += BLOCK) {
  if (isZero(heap, at) && (at < xorEnd || isZero(initialized, at))) continue;
  const last = runs[runs.length - 1];
  // Runs never straddle xorEnd: the page XORs the ones below it and copies the rest.
  if (last && last[0] + last[1] === at && at !== xorEnd) last[1] += BLOCK;
  else runs.push([at, Math.min(BLOCK, heap.length - at)]);
}
const head = new Uint32Array(2 + 2 * runs.length);
head[0] = heapStart;
head[1] = runs.length;
runs.forEach(([at, length], i) => { head[2 + 2 * i] = at; head[3 + 2 * i] = length; });
const parts = [new Uint8Array(head.buffer), snapshot.subarray(0, heapStart)];
for (const [at, length] of runs) parts.push(heap.subarray(at, at + length));
writeFileSync(outDir + "/snapshot.bin", Buffer.concat(parts));
writeFileSync(outDir + "/stdlib.zip", pyodide.FS.readFile(report.stdlib));
writeFileSync(outDir + "/site.zip", pyodide.FS.readFile(report.site));
writeFileSync(outDir + "/pycs.json", pyscriptPycs);
writeFileSync(outDir + "/snapshot.json", JSON.stringify({
  ...report, xor_end: xorEnd, memory_size: heap.length, runs: runs.length,
  heap_bytes: runs.reduce((sum, [, length]) => sum + length, 0),
}));
"""


def pack_files(files: dict[str, bytes]) -> bytes:
    """Files for the page to write into Pyodide's FS: a JSON index, then their bytes.

    Layout: uint32 little-endian length of the index, the index ([[path, size], ...] as
    UTF-8 JSON), then every file's bytes in index order.
    """
    index = json.dumps([[path, len(data)] for path, data in files.items()]).encode()
    return len(index).to_bytes(4, "little") + index + b"".join(files.values())


# The interpreter module PyScript imports (config "interpreter"): loadPyodide from the
# snapshot. It starts the downloads the dialog needs to show up, and the wasm compilation,
# when it is evaluated, so they run while PyScript is still starting; the deferred files
# wait until the dialog asks for them.
BOOT_MODULE = """// Generated by scripts/build_web.py: PyScript's interpreter, from a snapshot.
// No static imports: the downloads start the moment this module arrives.
export const version = "{version}";

const get = (url, init) => fetch(url, init).then((response) => {{
  if (!response.ok) throw new Error(`${{url}}: HTTP ${{response.status}}`);
  return response;
}});
const WASM_URL = new URL("{index}pyodide.asm.wasm", location).href;
const STDLIB_URL = new URL("{stdlib}", location).href;
// SHA-256 (base64) of what we restore Python from: the browser checks downloads against
// it (subresource integrity), and we check copies kept in CacheStorage the same way.
const INTEGRITY = {integrity};

// Kept in CacheStorage after a first open: reading them back costs no decompression
// (the HTTP cache keeps them brotli-compressed) and the digest check runs off the main
// thread. Without CacheStorage (or with a stale or altered copy) they are downloaded.
const CACHE_NAME = "vouch-boot";
const cache = (async () => (globalThis.caches ? caches.open(CACHE_NAME) : null))().catch(
  () => null,
);
const toKeep = [];
const base64 = (buffer) => btoa(String.fromCharCode(...new Uint8Array(buffer)));
async function asset(path) {{
  const url = new URL(path, location).href;
  const store = await cache;
  if (store) {{
    try {{
      const kept = await store.match(url);
      if (kept) {{
        const buffer = await kept.arrayBuffer();
        const digest = await crypto.subtle.digest("SHA-256", buffer);
        if (base64(digest) === INTEGRITY[path]) return buffer;
        await store.delete(url);
      }}
    }} catch {{}}  // a broken cache is a cache miss
  }}
  const response = await get(url, {{ integrity: `sha256-${{INTEGRITY[path]}}` }});
  const buffer = await response.arrayBuffer();
  if (store) toKeep.push([url, buffer]);
  return buffer;
}}

// Once the dialog is up and the page idle: keep this build's files, drop older builds'.
async function keepForNextTime() {{
  const store = await cache;
  if (!store) return;
  const current = new Set(Object.keys(INTEGRITY).map((path) => new URL(path, location).href));
  for (const request of await store.keys()) {{
    if (!current.has(request.url)) await store.delete(request);
  }}
  for (const [url, buffer] of toKeep.splice(0)) {{
    await store.put(url, new Response(buffer));
  }}
}}

const snapshot = asset("{snapshot}");
const files = asset("{files}");
const wasm = WebAssembly.compileStreaming(get(WASM_URL));
const pyodideJs = import("{index}pyodide.mjs");
const emscriptenJs = import("{index}pyodide.asm.mjs");
// Ignore failures here: loadPyodide reports them when it awaits these.
for (const promise of [snapshot, files, wasm, pyodideJs, emscriptenJs]) {{
  promise.catch(() => {{}});
}}

const XOR_END = {xor_end};
const MEMORY_SIZE = {memory_size};

// The snapshot file: uint32 header length H, uint32 run count N, N (offset, length) pairs,
// Pyodide's snapshot header (H bytes), then the runs' bytes. Below XOR_END a run holds the
// heap XOR the wasm's data segments; above it, the heap itself. Memory in no run is as
// the initialised runtime has it.
function parseSnapshot(buffer) {{
  const [headerLength, count] = new Uint32Array(buffer, 0, 2);
  const runs = new Uint32Array(buffer, 8, 2 * count);
  const header = new Uint8Array(buffer, 8 + 8 * count, headerLength);
  return {{ buffer, runs, header, data: 8 + 8 * count + headerLength }};
}}

function restoreHeap(Module, dataSegments, {{ buffer, runs, data }}) {{
  if (Module.HEAPU8.length < MEMORY_SIZE) Module._emscripten_resize_heap(MEMORY_SIZE);
  const heap = Module.HEAPU8;
  heap.set(dataSegments);
  let offset = data;
  for (let i = 0; i < runs.length; i += 2) {{
    const at = runs[i], length = runs[i + 1];
    if (at < XOR_END) {{
      const source = new Uint32Array(buffer, offset, length / 4);
      const target = new Uint32Array(heap.buffer, at, length / 4);
      for (let j = 0; j < source.length; j++) target[j] ^= source[j];
    }} else {{
      heap.set(new Uint8Array(buffer, offset, length), at);
    }}
    offset += length;
  }}
}}

// What the first screens do without (the rest of the standard library, zxcvbn, segno):
// URL -> where it goes in the file system. Pyodide writes an empty stdlib zip as it
// starts; the dialog asks for these once it is interactive (vouch/dialog/deferred.py).
const DEFERRED = {deferred};
let deferredLoaded = false;
let deferredLoading = null;
function loadDeferred(FS) {{
  deferredLoading ??= Promise.all(
    Object.entries(DEFERRED).map(async ([url, path]) => [path, await asset(url)]),
  ).then(
    (loaded) => {{
      for (const [path, buffer] of loaded) FS.writeFile(path, new Uint8Array(buffer));
      deferredLoaded = true;
      later(() => keepForNextTime().catch(() => {{}}));
    }},
    (error) => {{
      deferredLoading = null;  // the next call tries again
      throw error;
    }},
  );
  return deferredLoading;
}}
const later = (callback) =>
  (globalThis.requestIdleCallback ?? ((f) => setTimeout(f, 1000)))(callback, {{ timeout: 5000 }});

function writeFiles(FS, packed) {{
  const view = new DataView(packed);
  const length = view.getUint32(0, true);
  const index = JSON.parse(new TextDecoder().decode(new Uint8Array(packed, 4, length)));
  let offset = 4 + length;
  for (const [path, size] of index) {{
    FS.mkdirTree(path.slice(0, path.lastIndexOf("/")));
    FS.writeFile(path, new Uint8Array(packed, offset, size));
    offset += size;
  }}
}}

export async function loadPyodide(options = {{}}) {{
  const {{ loadPyodide: load }} = await pyodideJs;
  const {{ default: createPyodideModule }} = await emscriptenJs;
  let parsed;
  // Pyodide fetches the wasm and the standard library itself as it starts: hand it what
  // is on its way already instead of reading megabytes from the HTTP cache a second time
  // (its wasm response goes unused: instantiateStreaming below takes the compiled module).
  const {{ fetch }} = globalThis;
  const restoreFetch = () => {{ globalThis.fetch = fetch; }};
  globalThis.fetch = (resource, init) => {{
    const url = String(resource instanceof Request ? resource.url : resource);
    if (url === WASM_URL) return Promise.resolve(new Response(null));
    if (url === STDLIB_URL) return Promise.resolve(new Response(new ArrayBuffer(0)));
    return fetch(resource, init);
  }};
  return load({{
    ...options,
    indexURL: "{index}",
    stdLibURL: STDLIB_URL,
    lockFileContents: {lock},
    // Pyodide gets the header alone and copies no heap: restoreHeap has written it.
    _loadSnapshot: snapshot.then((buffer) => (parsed = parseSnapshot(buffer)).header),
    createPyodideModule(settings) {{
      restoreFetch();  // Pyodide has asked for both by now
      // The wasm is compiled already: instantiate that module instead of fetching it again.
      const {{ instantiateStreaming }} = WebAssembly;
      WebAssembly.instantiateStreaming = async (source, imports) => {{
        WebAssembly.instantiateStreaming = instantiateStreaming;
        const module = await wasm;
        return {{ module, instance: await WebAssembly.instantiate(module, imports) }};
      }};
      // Keep the data segments as instantiated; once the runtime is initialised (and
      // before Pyodide resumes Python), put the memory back as the snapshot had it.
      let dataSegments;
      settings.preRun.unshift((Module) => {{
        dataSegments = Module.HEAPU8.slice(0, XOR_END);
      }});
      // (Emscripten's Module is this settings object.)
      settings.onRuntimeInitialized = () => restoreHeap(settings, dataSegments, parsed);
      return createPyodideModule(settings);
    }},
    async fsInit(FS) {{
      writeFiles(FS, await files);
    }},
  }})
    .then((pyodide) => {{
      // Every page restores the same heap: give random its own seed (secrets and
      // os.urandom draw from crypto.getRandomValues and need nothing).
      const scope = pyodide.toPy({{}});
      pyodide.runPython("import sys\\nif 'random' in sys.modules: sys.modules['random'].seed()", {{
        globals: scope,
      }});
      scope.destroy();
      pyodide.registerJsModule("vouch_boot", {{
        deferredPaths: Object.values(DEFERRED),
        loadDeferred: () => loadDeferred(pyodide.FS),
        deferredLoaded: () => deferredLoaded,
      }});
      later(() => keepForNextTime().catch(() => {{}}));
      return pyodide;
    }})
    .finally(restoreFetch);
}}
"""


def build_runtime(lock_source: dict[str, object], wheels: list[Path]) -> dict[str, str]:
    """web/v/<pyodide version>/pyodide/ and the boot module; returns the URLs."""
    version = npm_version("pyodide")
    out = VERSIONED_OUT / version / "pyodide"
    out.mkdir(parents=True)
    for name in PYODIDE_FILES:
        shutil.copy2(NODE_MODULES / "pyodide" / name, out / name)
    info = lock_source["info"]
    assert isinstance(info, dict)
    bare_lock = {"info": {**info, "version": version}, "packages": {}}
    (out / "pyodide-lock.json").write_text(json.dumps(bare_lock, indent=1, sort_keys=True))
    work = fresh_dir(BUILD / "snapshot")
    site = build_site_zip([w for w in wheels if not w.name.startswith("micropip-")], work)

    settings = {
        "imports": SNAPSHOT_IMPORTS,
        "site_zip_path": SITE_ZIP_PATH,
        "home": PYODIDE_HOME,
        "pyscript_sources": pyscript_python_sources(NODE_MODULES / "@pyscript" / "core" / "dist"),
        "stdlib_never": STDLIB_NEVER_IN_PAGE,
    }
    (work / "settings.json").write_text(json.dumps(settings))
    script = work / "make_snapshot.mjs"
    script.write_text(SNAPSHOT_SCRIPT)
    run(
        "node", str(script), str(out), str(site), SITE_ZIP_PATH, str(work / "settings.json"),
        str(work),
    )  # fmt: skip
    made = json.loads((work / "snapshot.json").read_text())
    snapshot_bytes = (work / "snapshot.bin").read_bytes()
    snapshot = out / f"vouch.{short_hash(snapshot_bytes)}.snapshot"
    snapshot.write_bytes(snapshot_bytes)
    stdlib_bytes = (work / "stdlib.zip").read_bytes()
    stdlib = out / f"python_stdlib.{short_hash(stdlib_bytes)}.zip"
    stdlib.write_bytes(stdlib_bytes)
    site_bytes = (work / "site.zip").read_bytes()
    site_zip = out / f"vouch-site.{short_hash(site_bytes)}.zip"
    site_zip.write_bytes(site_bytes)
    pycs = json.loads((work / "pycs.json").read_text())
    files_bytes = pack_files({path: bytes.fromhex(data) for path, data in sorted(pycs.items())})
    packed = out / f"vouch-files.{short_hash(files_bytes)}.bin"
    packed.write_bytes(files_bytes)
    print(
        f"snapshot: {len(snapshot_bytes):,} bytes ({made['runs']} runs of a "
        f"{made['memory_size']:,}-byte heap), {made['modules']} modules imported, "
        f"{made['held']} standard library files left out of {stdlib.name}, "
        f"{len(pycs)} PyScript modules precompiled"
    )

    index = f"/v/{version}/pyodide/"
    urls = {
        "pyodide_index_url": index,
        "snapshot": index + snapshot.name,
        "files": index + packed.name,
        "stdlib": index + stdlib.name,
        "site": index + site_zip.name,
        "boot": "/v/vouch-boot.mjs",
    }
    (VERSIONED_OUT / "vouch-boot.mjs").write_text(
        BOOT_MODULE.format(
            version=version,
            index=index,
            snapshot=urls["snapshot"],
            files=urls["files"],
            stdlib=urls["stdlib"],
            deferred=json.dumps(
                {urls["stdlib"]: made["stdlib"], urls["site"]: made["site"]}, indent=2
            ),
            lock=json.dumps(bare_lock, separators=(",", ":")),
            integrity=json.dumps(
                {
                    urls[key]: base64.b64encode(
                        hashlib.sha256((out / urls[key].rsplit("/", 1)[1]).read_bytes()).digest()
                    ).decode()
                    for key in ("snapshot", "files", "stdlib", "site")
                },
                indent=2,
            ),
            xor_end=made["xor_end"],
            memory_size=made["memory_size"],
        )
    )
    return urls


def build_pyscript() -> str:
    """web/v/<PyScript version>/pyscript/: the whole dist, so no chunk can be missing."""
    out = VERSIONED_OUT / npm_version("@pyscript/core") / "pyscript"
    out.mkdir(parents=True)
    for path in (NODE_MODULES / "@pyscript" / "core" / "dist").iterdir():
        if path.is_file() and not path.name.endswith(".map"):
            shutil.copy2(path, out / path.name)
    return f"/v/{npm_version('@pyscript/core')}/pyscript/"


# Single files served under /vendor/: web/vendor/<directory>/<name> <- node_modules path.
VENDORED = {
    "hash-wasm/argon2.umd.min.js": "hash-wasm/dist/argon2.umd.min.js",
    # Argon2id's WebAssembly SIMD build, for web/argon2id-worker.js (hash-wasm is its
    # fallback where SIMD is missing).
    "phi-ag-argon2/argon2.wasm": "@phi-ag/argon2/dist/argon2.wasm",
    "axe-core/axe.min.js": "axe-core/axe.min.js",
}


def build_vendor() -> None:
    fresh_dir(VENDOR_OUT)
    for target, source in VENDORED.items():
        (VENDOR_OUT / target).parent.mkdir(exist_ok=True)
        shutil.copy2(NODE_MODULES / source, VENDOR_OUT / target)


def _compress(path: Path, *, fast: bool = False) -> None:
    data = path.read_bytes()
    packed = gzip.compress(data, compresslevel=6 if fast else 9, mtime=0)
    if len(packed) < 0.9 * len(data):
        path.with_name(path.name + ".gz").write_bytes(packed)
    if brotli is not None and not fast:
        packed = brotli.compress(data, quality=11, lgwin=24)
        if len(packed) < 0.9 * len(data):
            path.with_name(path.name + ".br").write_bytes(packed)


def precompress(*directories: Path, fast: bool = False) -> None:
    """Write name.gz and name.br beside each asset they shrink by at least a tenth."""
    paths = [
        path
        for directory in directories
        for path in sorted(directory.rglob("*"))
        if path.is_file() and path.suffix in COMPRESSIBLE
    ]
    # Largest first, on every core: brotli's best level takes a while on the snapshot.
    paths.sort(key=lambda path: -path.stat().st_size)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        list(pool.map(lambda path: _compress(path, fast=fast), paths))


def check_dialog_html(urls: dict[str, str]) -> None:
    """dialog.html names the versioned URLs by hand: fail loudly when they went stale."""
    html = (WEB / "dialog.html").read_text()
    wanted = [urls["pyscript"] + "core.js", urls["pyodide_index_url"] + "pyodide.asm.wasm"]
    missing = [url for url in wanted if url not in html]
    stale = {
        url for url in re.findall(r'"(/v/[^"]+)"', html) if not (WEB / url.lstrip("/")).is_file()
    }
    if missing or stale:
        sys.exit(
            "web/dialog.html does not match this build (pinned versions changed?): "
            f"missing {missing}, pointing at files that do not exist {sorted(stale)}"
        )


FINGERPRINT = BUILD / "inputs.sha256"


def inputs_fingerprint() -> str:
    """SHA-256 over everything the output depends on: a match means the build is current."""
    digest = hashlib.sha256(sys.version.encode() + str("--fast" in sys.argv[1:]).encode())
    sources = [
        ROOT / "pyproject.toml",
        ROOT / "package-lock.json",
        Path(__file__).resolve(),
        WEB / "dialog.html",
        *sorted((ROOT / "pysrc").rglob("*.py")),
    ]
    for path in sources:
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def up_to_date(fingerprint: str) -> bool:
    outputs = (VERSIONED_OUT / "build.json", PYODIDE_OUT / "pyodide-lock.json")
    return (
        FINGERPRINT.exists()
        and FINGERPRINT.read_text() == fingerprint
        and all(path.exists() for path in outputs)
    )


def main() -> None:
    fingerprint = inputs_fingerprint()
    if "--force" not in sys.argv[1:] and up_to_date(fingerprint):
        print("web assets are up to date (scripts/build_web.py --force rebuilds them)")
        return
    FINGERPRINT.unlink(missing_ok=True)
    if not (NODE_MODULES / "pyodide").is_dir():
        sys.exit("node_modules is missing: run `npm ci` first (scripts/setup does).")
    if shutil.which("node") is None:
        sys.exit("the build needs Node.js: it takes the Pyodide snapshot with node_modules/pyodide")
    lock_source = json.loads((NODE_MODULES / "pyodide" / "pyodide-lock.json").read_text())
    packages = lock_source["packages"]
    assert isinstance(packages, dict)
    wheels = collect_wheels(packages["micropip"]["version"])
    build_pyodide(lock_source, wheels)
    if OLD_PYSCRIPT_OUT.exists():
        shutil.rmtree(OLD_PYSCRIPT_OUT)
    fresh_dir(VERSIONED_OUT)
    # Git ignores everything the build writes here, this file included.
    (VERSIONED_OUT / ".gitignore").write_text("*\n")
    urls = build_runtime(lock_source, wheels)
    urls["pyscript"] = build_pyscript()
    build_vendor()
    precompress(PYODIDE_OUT, VERSIONED_OUT, VENDOR_OUT, fast="--fast" in sys.argv[1:])
    (VERSIONED_OUT / "build.json").write_text(json.dumps(urls, indent=1, sort_keys=True))
    check_dialog_html(urls)
    FINGERPRINT.write_text(fingerprint)
    print(f"built web assets into {WEB.relative_to(ROOT)}/")


if __name__ == "__main__":
    main()

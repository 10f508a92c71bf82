"""Build the dialog's self-hosted assets into web/ (git-ignored output).

    python scripts/build_web.py

Copies the pinned npm packages (Pyodide, PyScript, hash-wasm, axe-core) out of
node_modules, builds the vouch wheel, fetches the pure-Python wheels the page installs,
writes a pruned pyodide-lock.json whose sha256 entries match the files we serve (so Pyodide
keeps its integrity checks on), and gzips every compressible asset beside itself.
Run it again after changing anything under pysrc/.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from pyodide_lock import PyodideLockSpec
from pyodide_lock.utils import add_wheels_to_spec

ROOT = Path(__file__).resolve().parents[1]
NODE_MODULES = ROOT / "node_modules"
WEB = ROOT / "web"
BUILD = ROOT / "build"
PYODIDE_OUT = WEB / "pyodide"
PYSCRIPT_OUT = WEB / "pyscript"
VENDOR_OUT = WEB / "vendor"
PYODIDE_FILES = ["pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip"]
COMPRESSIBLE = {".wasm", ".mjs", ".js", ".json", ".zip", ".css", ".html", ".txt", ".svg"}


def run(*command: str) -> None:
    print("+", " ".join(command), flush=True)
    subprocess.run(command, check=True, cwd=ROOT)


def fresh_dir(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def page_requirements() -> list[str]:
    """The page installs exactly the runtime dependencies pyproject.toml declares."""
    with (ROOT / "pyproject.toml").open("rb") as file:
        return list(tomllib.load(file)["project"]["dependencies"])


def collect_wheels(micropip_version: str) -> list[Path]:
    wheels = fresh_dir(BUILD / "wheels")
    run(
        sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
        "--only-binary=:all:", "--implementation", "py", "--python-version", "3.14",
        "--abi", "none", "--platform", "any", "--dest", str(wheels),
        f"micropip=={micropip_version}", *page_requirements(),
    )  # fmt: skip
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(wheels), str(ROOT))
    return sorted(wheels.glob("*.whl"))


def build_pyodide(lock_source: dict[str, object]) -> None:
    fresh_dir(PYODIDE_OUT)
    source = NODE_MODULES / "pyodide"
    for name in PYODIDE_FILES:
        shutil.copy2(source / name, PYODIDE_OUT / name)
    packages = lock_source["packages"]
    assert isinstance(packages, dict)
    # pyodide-lock's model predates the lock's per-package "tool" table; it is empty.
    micropip = {key: value for key, value in packages["micropip"].items() if key != "tool"}
    wheels = collect_wheels(micropip["version"])
    for wheel in wheels:
        shutil.copy2(wheel, PYODIDE_OUT / wheel.name)
    ours = [PYODIDE_OUT / wheel.name for wheel in wheels if not wheel.name.startswith("micropip-")]
    # Only what we serve stays in the lock: a smaller file, and no entry can point elsewhere.
    # pyodide-lock's model lags the lock format (info.version, the "tool" tables), so it only
    # describes our wheels; the lock's own top level is written back unchanged.
    info = lock_source["info"]
    assert isinstance(info, dict)
    version = json.loads((NODE_MODULES / "pyodide" / "package.json").read_text())["version"]
    pruned = PyodideLockSpec(info={**info, "version": version}, packages={"micropip": micropip})
    spec = add_wheels_to_spec(pruned, ours, base_path=PYODIDE_OUT)
    described = spec.model_dump()["packages"]
    for package in described.values():
        package["sha256"] = hashlib.sha256(
            (PYODIDE_OUT / package["file_name"]).read_bytes()
        ).hexdigest()
    lock = {**lock_source, "packages": described}
    (PYODIDE_OUT / "pyodide-lock.json").write_text(json.dumps(lock, indent=1, sort_keys=True))


def build_pyscript() -> None:
    fresh_dir(PYSCRIPT_OUT)
    for path in (NODE_MODULES / "@pyscript" / "core" / "dist").iterdir():
        if path.is_file() and not path.name.endswith(".map"):
            shutil.copy2(path, PYSCRIPT_OUT / path.name)


def build_vendor() -> None:
    fresh_dir(VENDOR_OUT)
    (VENDOR_OUT / "hash-wasm").mkdir()
    shutil.copy2(
        NODE_MODULES / "hash-wasm" / "dist" / "argon2.umd.min.js",
        VENDOR_OUT / "hash-wasm" / "argon2.umd.min.js",
    )
    (VENDOR_OUT / "axe-core").mkdir()
    shutil.copy2(NODE_MODULES / "axe-core" / "axe.min.js", VENDOR_OUT / "axe-core" / "axe.min.js")


def precompress(directory: Path) -> None:
    """Write name.gz beside each asset that gzip shrinks by at least a tenth."""
    for path in sorted(directory.rglob("*")):
        if not path.is_file() or path.suffix not in COMPRESSIBLE:
            continue
        data = path.read_bytes()
        packed = gzip.compress(data, compresslevel=9, mtime=0)
        if len(packed) < 0.9 * len(data):
            path.with_name(path.name + ".gz").write_bytes(packed)


def main() -> None:
    if not (NODE_MODULES / "pyodide").is_dir():
        sys.exit("node_modules is missing: run `npm ci` first (scripts/setup does).")
    lock_source = json.loads((NODE_MODULES / "pyodide" / "pyodide-lock.json").read_text())
    build_pyodide(lock_source)
    build_pyscript()
    build_vendor()
    for directory in (PYODIDE_OUT, PYSCRIPT_OUT, VENDOR_OUT):
        precompress(directory)
    print(f"built web assets into {WEB.relative_to(ROOT)}/")


if __name__ == "__main__":
    main()

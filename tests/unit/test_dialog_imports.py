"""Every dialog module imports on CPython, and only one module imports `js`.

The dialog's logic is tested here, outside the browser, which needs every module to import
without Pyodide: `js` and `pyodide.ffi` are imported in `vouch.crypto.ffi` alone, which
stands in for them on CPython with errors that say what is missing.
"""

from __future__ import annotations

import ast
import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from vouch.crypto import ffi
from vouch.crypto.browser import BrowserProvider
from vouch.dialog import jsbridge

PACKAGE = Path(__file__).resolve().parents[2] / "pysrc" / "vouch"

SCRIPT = """
import importlib, json, pkgutil, sys
import vouch.dialog
names = [m.name for m in pkgutil.walk_packages(vouch.dialog.__path__, "vouch.dialog.")]
for name in names:
    importlib.import_module(name)
print(json.dumps({"imported": names, "loaded": sorted(sys.modules)}))
"""


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_every_dialog_module_imports_on_cpython() -> None:
    completed = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True
    )
    result = json.loads(completed.stdout)
    expected = {_module(path) for path in (PACKAGE / "dialog").rglob("*.py")}
    assert expected - {"vouch.dialog"} == set(result["imported"])
    roots = {name.split(".")[0] for name in result["loaded"]}
    assert not roots & {"js", "pyodide", "pyscript"}
    assert not {name for name in result["loaded"] if name.startswith("vouch.server")}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def test_only_the_ffi_module_imports_js_and_only_the_adapters_use_it() -> None:
    importers: dict[str, set[str]] = {"js": set(), "ffi": set()}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        imported = _imports(path)
        if {name.split(".")[0] for name in imported} & {"js", "pyodide"}:
            importers["js"].add(relative)
        if "vouch.crypto.ffi" in imported:
            importers["ffi"].add(relative)
    assert importers["js"] == {"crypto/ffi.py"}
    assert importers["ffi"] == {"crypto/browser.py", "dialog/jsbridge.py"}


def test_outside_pyodide_the_adapters_say_what_is_missing() -> None:
    assert not ffi.AVAILABLE
    with pytest.raises(ffi.NotInPyodide, match=r"^js\.document needs Pyodide"):
        jsbridge.Screen("tpl-start")
    with pytest.raises(ffi.NotInPyodide, match="needs Pyodide"):
        ffi.create_proxy(lambda: None)
    with pytest.raises(RuntimeError, match="BrowserProvider needs Pyodide"):
        asyncio.run(BrowserProvider().random_bytes(4))

"""vouch.core imports nothing from the outside world, so it runs unchanged in the page."""

from __future__ import annotations

import json
import subprocess
import sys

FORBIDDEN = {
    "js",
    "pyodide",
    "pyscript",
    "starlette",
    "sqlite3",
    "_sqlite3",
    "webauthn",
    "cryptography",
}

SCRIPT = """
import asyncio, json, pkgutil, sys, importlib
import vouch.core
for module in pkgutil.iter_modules(vouch.core.__path__, "vouch.core."):
    importlib.import_module(module.name)
from vouch.core import codes, passphrase
codes.parse_recovery_code(codes.new_recovery_code())
passphrase.generate_passphrase(account_name="alice")
print(json.dumps(sorted(sys.modules)))
"""


def test_core_imports_no_runtime_specific_module() -> None:
    completed = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True
    )
    loaded = set(json.loads(completed.stdout))
    roots = {name.split(".")[0] for name in loaded}
    assert not roots & FORBIDDEN, f"vouch.core pulled in {sorted(roots & FORBIDDEN)}"
    assert "vouch.crypto.provider" in loaded
    assert not {"vouch.crypto.native", "vouch.crypto.browser"} & loaded
    assert not {name for name in loaded if name.startswith(("vouch.server", "vouch.dialog"))}

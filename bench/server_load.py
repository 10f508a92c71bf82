"""Part 5 of issue 6: recoveries and sign-ins per second on loopback, against the floor.

Not measured yet: it drives the recovery API (/api/recovery/start, /check, /execute)
with a scripted authenticator (tests/support/soft_authenticator.py), and both are being
finished as this is written. ``measure()`` says so and returns a "skipped" record when
they are not there, so ``python -m bench`` runs everything else meanwhile; the plan for
the real thing is in ``PLAN``.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import httpx

REQUIRED_PATHS = ("/api/recovery/start", "/api/recovery/check", "/api/recovery/execute")

PLAN = (
    "N concurrent clients on loopback, each: create an account with a software passkey, "
    "set 3 guardians (recovery code, backup codes, second passkey) with threshold 2, then "
    "start a recovery, register the new passkey, approve with 2 guardians and execute; "
    "report recoveries/s and p50/p99 latency, and that every recovery was applied exactly "
    "once (one new credential per account, challenges consumed). Same for sign-ins. Floor: "
    "Ed25519 + ES256 (WebAuthn) signature verifications per second in one process."
)


def missing_prerequisites(server_url: str) -> list[str]:
    missing = []
    if importlib.util.find_spec("tests.support.soft_authenticator") is None:
        missing.append("tests/support/soft_authenticator.py")
    try:
        paths = httpx.get(f"{server_url}/openapi.json", timeout=10).json().get("paths", {})
    except (httpx.HTTPError, ValueError):
        paths = {}
    missing += [path for path in REQUIRED_PATHS if path not in paths]
    return missing


async def measure(server_url: str) -> dict[str, Any]:
    missing = missing_prerequisites(server_url)
    reason = (
        f"needs {', '.join(missing)}"
        if missing
        else "the load generator is not written yet (the recovery API was still changing)"
    )
    return {"skipped": reason, "plan": PLAN}


def format_table(figures: dict[str, Any]) -> str:
    return f"server (part 5): skipped: {figures['skipped']}"

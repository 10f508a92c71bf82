"""Every vector in tests/vectors passes on CPython with NativeProvider.

The browser test runs the same runner.py, in the page, with BrowserProvider.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from tests.vectors.runner import OPS, run_vectors, summarize
from vouch.crypto.native import NativeProvider
from vouch.crypto.provider import Provider

VECTOR_DIR = Path(__file__).resolve().parents[1] / "vectors"
VECTOR_FILES = sorted(VECTOR_DIR.glob("*.json"))


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


class HashWasmLikeProvider(NativeProvider):
    """Native primitives, but named and limited like BrowserProvider (no Argon2 AD)."""

    name = "browser"

    async def argon2id(self, password: bytes, salt: bytes, **kwargs: Any) -> bytes:
        if kwargs.get("associated_data"):
            raise ValueError("argon2id associated_data is not supported by hash-wasm")
        return await super().argon2id(password, salt, **kwargs)


def test_vector_files_exist() -> None:
    names = {path.name for path in VECTOR_FILES}
    assert names >= {
        "rfc9106_argon2id.json",
        "argon2id_reference.json",
        "rfc8032_ed25519.json",
        "rfc5869_hkdf_sha256.json",
        "fips180_sha256.json",
        "vouch_golden.json",
    }


@pytest.mark.parametrize("path", VECTOR_FILES, ids=lambda path: path.stem)
def test_vectors_pass_natively(path: Path) -> None:
    vectors = load(path)
    assert vectors["vectors"], f"{path.name} has no vectors"
    assert all(vector["op"] in OPS for vector in vectors["vectors"])
    results = asyncio.run(run_vectors(NativeProvider(), vectors))
    assert all(result["ok"] for result in results), summarize(results)
    assert len({result["name"] for result in results}) == len(results), "duplicate vector names"


def test_unsupported_is_reported_not_skipped() -> None:
    provider: Provider = HashWasmLikeProvider()
    results = asyncio.run(run_vectors(provider, load(VECTOR_DIR / "rfc9106_argon2id.json")))
    assert len(results) == 1
    result = results[0]
    assert result["ok"] is False
    assert result["unsupported"] is True
    assert "hash-wasm" in result["reason"]
    assert "UNSUPPORTED (expected" in summarize(results)


def test_only_marked_vectors_may_be_unsupported() -> None:
    vectors = load(VECTOR_DIR / "rfc9106_argon2id.json")
    del vectors["vectors"][0]["unsupported_by"]
    results = asyncio.run(run_vectors(HashWasmLikeProvider(), vectors))
    assert results[0]["ok"] is False
    assert "unsupported" not in results[0]
    assert results[0]["error"].startswith("ValueError: argon2id associated_data")


def test_wrong_answers_fail() -> None:
    vectors = load(VECTOR_DIR / "fips180_sha256.json")
    vectors["vectors"][0]["expected"]["digest"] = "00" * 32
    results = asyncio.run(run_vectors(NativeProvider(), vectors))
    assert [result["ok"] for result in results] == [False, True, True]
    assert "FAIL" in summarize(results)


def test_golden_vectors_pin_what_they_claim() -> None:
    golden = {
        vector["name"]: vector for vector in load(VECTOR_DIR / "vouch_golden.json")["vectors"]
    }
    default = golden["passphrase-default-params"]["input"]["params"]
    assert (default["memory_kib"], default["iterations"], default["lanes"]) == (65536, 3, 4)
    composed = golden["passphrase-unicode-composed"]["expected"]
    assert composed == golden["passphrase-unicode-decomposed-fullwidth-padded"]["expected"]
    shown = golden["recovery-code-as-shown"]["expected"]
    assert shown == golden["recovery-code-typed-loosely"]["expected"]

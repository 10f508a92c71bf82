"""Provider parameter checks: the same ValueError, naming the parameter, on every provider.

BrowserProvider checks its arguments before touching ``js``, so its checks
run here on CPython too; what needs a browser is tested by the vector run
in the page.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from vouch.crypto import default_provider
from vouch.crypto.browser import BrowserProvider
from vouch.crypto.native import NativeProvider
from vouch.crypto.provider import Provider

PROVIDERS = [
    pytest.param(NativeProvider(), id="native"),
    pytest.param(BrowserProvider(), id="browser"),
]

SALT = b"somesalt"
SEED = bytes(32)
Call = Callable[[Provider], Coroutine[Any, Any, Any]]


def argon2(**overrides: Any) -> Call:
    arguments: dict[str, Any] = {
        "password": b"password",
        "salt": SALT,
        "memory_kib": 64,
        "iterations": 1,
        "lanes": 1,
        "length": 32,
    }
    arguments.update(overrides)
    return lambda provider: provider.argon2id(**arguments)


BAD_CALLS: list[tuple[str, Call, type[Exception], str]] = [
    ("salt", argon2(salt=b"1234567"), ValueError, "argon2id salt has 7 bytes, expected at least 8"),
    ("lanes", argon2(lanes=0), ValueError, "argon2id lanes is 0, expected at least 1"),
    (
        "iterations",
        argon2(iterations=0),
        ValueError,
        "argon2id iterations is 0, expected at least 1",
    ),
    ("length", argon2(length=3), ValueError, "argon2id length is 3, expected at least 4"),
    (
        "memory",
        argon2(memory_kib=15, lanes=2),
        ValueError,
        "argon2id memory_kib is 15, expected at least 8 * lanes = 16",
    ),
    (
        "memory-max",
        argon2(memory_kib=2**32),
        ValueError,
        "argon2id memory_kib is 4294967296, expected at most 4294967295",
    ),
    ("lanes-type", argon2(lanes=True), TypeError, "argon2id lanes must be an int, got bool"),
    ("password-type", argon2(password="pw"), TypeError, "argon2id password must be bytes, got str"),
    (
        "hkdf-length",
        lambda p: p.hkdf_sha256(b"ikm", salt=b"", info=b"", length=8161),
        ValueError,
        "hkdf length is 8161, expected at most 8160",
    ),
    (
        "hkdf-zero",
        lambda p: p.hkdf_sha256(b"ikm", salt=b"", info=b"", length=0),
        ValueError,
        "hkdf length is 0, expected at least 1",
    ),
    (
        "seed-short",
        lambda p: p.ed25519_public_key(bytes(31)),
        ValueError,
        "ed25519 seed has 31 bytes, expected 32",
    ),
    (
        "seed-long",
        lambda p: p.ed25519_sign(bytes(33), b"m"),
        ValueError,
        "ed25519 seed has 33 bytes, expected 32",
    ),
    (
        "message-type",
        lambda p: p.ed25519_sign(SEED, "m"),  # type: ignore[arg-type]
        TypeError,
        "ed25519 message must be bytes, got str",
    ),
    (
        "public-key",
        lambda p: p.ed25519_verify(bytes(31), b"m", bytes(64)),
        ValueError,
        "ed25519 public_key has 31 bytes, expected 32",
    ),
    (
        "random",
        lambda p: p.random_bytes(-1),
        ValueError,
        "random_bytes n is -1, expected at least 0",
    ),
    (
        "sha256-type",
        lambda p: p.sha256("abc"),  # type: ignore[arg-type]
        TypeError,
        "sha256 data must be bytes, got str",
    ),
]


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize(
    ("call", "error", "message"),
    [pytest.param(call, error, message, id=name) for name, call, error, message in BAD_CALLS],
)
def test_bad_parameters_are_refused_the_same_way(
    provider: Provider, call: Call, error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as caught:
        asyncio.run(call(provider))
    assert str(caught.value) == message


def test_browser_refuses_associated_data_before_anything_else() -> None:
    call = argon2(associated_data=b"\x04" * 12)
    with pytest.raises(ValueError, match="not supported by hash-wasm") as caught:
        asyncio.run(call(BrowserProvider()))
    assert str(caught.value) == (
        "argon2id associated_data (12 bytes) is not supported by hash-wasm; expected empty"
    )


def test_browser_refuses_an_empty_password() -> None:
    with pytest.raises(ValueError, match="hash-wasm") as caught:
        asyncio.run(argon2(password=b"")(BrowserProvider()))
    assert str(caught.value) == (
        "argon2id password is empty, which hash-wasm does not support; expected at least 1 byte"
    )


def test_native_accepts_associated_data(provider: Provider) -> None:
    tag: bytes = asyncio.run(argon2(associated_data=b"x", length=16)(provider))
    assert len(tag) == 16


def test_browser_outside_pyodide_says_so() -> None:
    with pytest.raises(RuntimeError, match="BrowserProvider needs Pyodide"):
        asyncio.run(BrowserProvider().sha256(b"abc"))


@pytest.mark.parametrize("length", [0, 63, 65])
def test_wrong_length_signature_is_false_not_an_error(provider: Provider, length: int) -> None:
    public_key = asyncio.run(provider.ed25519_public_key(SEED))
    assert asyncio.run(provider.ed25519_verify(public_key, b"m", bytes(length))) is False


def test_signature_round_trip(provider: Provider) -> None:
    public_key = asyncio.run(provider.ed25519_public_key(SEED))
    signature = asyncio.run(provider.ed25519_sign(SEED, b"message"))
    assert asyncio.run(provider.ed25519_verify(public_key, b"message", signature)) is True
    assert asyncio.run(provider.ed25519_verify(public_key, b"messagf", signature)) is False


def test_random_bytes(provider: Provider) -> None:
    assert asyncio.run(provider.random_bytes(0)) == b""
    first, second = asyncio.run(provider.random_bytes(32)), asyncio.run(provider.random_bytes(32))
    assert len(first) == 32
    assert first != second


def test_default_provider_is_native_where_cryptography_imports() -> None:
    assert default_provider().name == "native"


def test_providers_satisfy_the_protocol() -> None:
    providers: list[Provider] = [NativeProvider(), BrowserProvider()]
    assert [p.name for p in providers] == ["native", "browser"]

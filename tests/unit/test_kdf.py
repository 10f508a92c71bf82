"""Argon2id parameters: the descriptor form and vouch's policy floor and ceiling."""

from __future__ import annotations

from typing import Any

import pytest

from vouch.core import kdf
from vouch.core.errors import MalformedInput, PolicyViolation


def test_default_is_rfc9106_second_recommendation() -> None:
    assert kdf.Argon2Params() == kdf.Argon2Params(memory_kib=65536, iterations=3, lanes=4)


def test_dict_round_trip() -> None:
    params = kdf.Argon2Params(memory_kib=32768, iterations=2, lanes=2)
    assert params.to_dict() == {
        "algorithm": "argon2id",
        "version": 19,
        "memory_kib": 32768,
        "iterations": 2,
        "lanes": 2,
    }
    assert kdf.Argon2Params.from_dict(params.to_dict()) == params


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"extra": 1},
            "KDF parameters have keys ['algorithm', 'extra', 'iterations', 'lanes', 'memory_kib',"
            " 'version'], expected ['algorithm', 'iterations', 'lanes', 'memory_kib', 'version']",
        ),
        ({"algorithm": "scrypt"}, "KDF algorithm is 'scrypt', expected 'argon2id'"),
        ({"version": 16}, "Argon2 version is 16, expected 19"),
        ({"memory_kib": "65536"}, "Argon2id memory_kib is '65536', expected an integer"),
        ({"lanes": True}, "Argon2id lanes is True, expected an integer"),
    ],
)
def test_from_dict_refuses_malformed_descriptors(change: dict[str, Any], message: str) -> None:
    data = {**kdf.Argon2Params().to_dict(), **change}
    with pytest.raises(MalformedInput) as caught:
        kdf.Argon2Params.from_dict(data)
    assert str(caught.value) == message


def test_owasp_minimum_is_allowed() -> None:
    kdf.check_policy(kdf.Argon2Params(memory_kib=19456, iterations=2, lanes=1))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            kdf.Argon2Params(memory_kib=19455, iterations=2, lanes=1),
            "Argon2id memory_kib is 19455, vouch requires at least 19456",
        ),
        (
            kdf.Argon2Params(memory_kib=65536, iterations=1, lanes=4),
            "Argon2id iterations is 1, vouch requires at least 2",
        ),
        (
            kdf.Argon2Params(memory_kib=65536, iterations=3, lanes=0),
            "Argon2id lanes is 0, vouch requires at least 1",
        ),
        (
            kdf.Argon2Params(memory_kib=2 * 1024 * 1024, iterations=3, lanes=4),
            "Argon2id memory_kib is 2097152, vouch allows at most 1048576",
        ),
        (
            kdf.Argon2Params(memory_kib=65536, iterations=65, lanes=4),
            "Argon2id iterations is 65, vouch allows at most 64",
        ),
    ],
)
def test_policy_names_the_parameter(params: kdf.Argon2Params, message: str) -> None:
    with pytest.raises(PolicyViolation) as caught:
        kdf.check_policy(params)
    assert str(caught.value) == message


def test_salt_policy() -> None:
    kdf.check_salt(bytes(16))
    with pytest.raises(PolicyViolation, match=r"^salt has 15 bytes, vouch requires at least 16$"):
        kdf.check_salt(bytes(15))

"""Argon2id parameters for passphrase guardians, and vouch's policy on them.

The parameters are stored with the guardian (so they can be raised later)
and sent to the dialog in the guardian descriptor, hence the dict form. The
policy is vouch's, not the algorithm's: providers accept anything RFC 9106
allows, core refuses anything below OWASP's minimum or above what a phone's
browser can afford.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vouch.core.errors import MalformedInput, PolicyViolation

ALGORITHM = "argon2id"
VERSION = 0x13
KEY_LENGTH = 32

MIN_SALT_BYTES = 16
# OWASP Password Storage Cheat Sheet: m = 19 MiB, t = 2, p = 1.
MIN_MEMORY_KIB = 19 * 1024
MIN_ITERATIONS = 2
MIN_LANES = 1
# Ceilings: a descriptor may not make the dialog allocate more than 1 GiB
# or spin for minutes.
MAX_MEMORY_KIB = 1024 * 1024
MAX_ITERATIONS = 64
MAX_LANES = 64


@dataclass(frozen=True)
class Argon2Params:
    """Argon2id cost; the default is RFC 9106's second recommendation (64 MiB, t=3, p=4)."""

    memory_kib: int = 64 * 1024
    iterations: int = 3
    lanes: int = 4

    def to_dict(self) -> dict[str, Any]:
        return {
            "algorithm": ALGORITHM,
            "version": VERSION,
            "memory_kib": self.memory_kib,
            "iterations": self.iterations,
            "lanes": self.lanes,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Argon2Params:
        """Parse a descriptor's KDF parameters; refuses other algorithms and versions."""
        expected = {"algorithm", "version", "memory_kib", "iterations", "lanes"}
        if set(data) != expected:
            raise MalformedInput(
                f"KDF parameters have keys {sorted(data)}, expected {sorted(expected)}"
            )
        if data["algorithm"] != ALGORITHM:
            raise MalformedInput(f"KDF algorithm is {data['algorithm']!r}, expected {ALGORITHM!r}")
        if data["version"] != VERSION:
            raise MalformedInput(f"Argon2 version is {data['version']!r}, expected {VERSION}")
        for key in ("memory_kib", "iterations", "lanes"):
            value = data[key]
            if isinstance(value, bool) or not isinstance(value, int):
                raise MalformedInput(f"Argon2id {key} is {value!r}, expected an integer")
        return cls(
            memory_kib=data["memory_kib"], iterations=data["iterations"], lanes=data["lanes"]
        )


def check_policy(params: Argon2Params) -> None:
    """Refuse parameters outside vouch's floor (OWASP minimum) and ceiling.

    The ceilings also keep memory_kib >= 8 * lanes, Argon2's own requirement.
    """
    for name, value, low, high in (
        ("memory_kib", params.memory_kib, MIN_MEMORY_KIB, MAX_MEMORY_KIB),
        ("iterations", params.iterations, MIN_ITERATIONS, MAX_ITERATIONS),
        ("lanes", params.lanes, MIN_LANES, MAX_LANES),
    ):
        if value < low:
            raise PolicyViolation(f"Argon2id {name} is {value}, vouch requires at least {low}")
        if value > high:
            raise PolicyViolation(f"Argon2id {name} is {value}, vouch allows at most {high}")


def check_salt(salt: bytes) -> None:
    """Every guardian salt is at least 16 bytes (RFC 9106 recommends 16)."""
    if not isinstance(salt, bytes):
        raise TypeError(f"salt must be bytes, got {type(salt).__name__}")
    if len(salt) < MIN_SALT_BYTES:
        raise PolicyViolation(
            f"salt has {len(salt)} bytes, vouch requires at least {MIN_SALT_BYTES}"
        )

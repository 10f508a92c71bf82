"""Parameter checks shared by every provider.

Each provider must refuse the same inputs with the same message, whatever
library sits underneath (OpenSSL rejects some, hash-wasm others, WebCrypto
throws DOMExceptions that say little). Only what an algorithm itself
requires is checked here; vouch's own policy (minimum Argon2 cost, salt
length) lives in ``vouch.core``.
"""

from __future__ import annotations

ED25519_SEED_LENGTH = 32
ED25519_PUBLIC_KEY_LENGTH = 32
ED25519_SIGNATURE_LENGTH = 64
SHA256_LENGTH = 32
HKDF_SHA256_MAX_LENGTH = 255 * SHA256_LENGTH

# RFC 9106, section 3.1.
ARGON2_MIN_SALT = 8
ARGON2_MIN_LENGTH = 4
ARGON2_MAX_LANES = 2**24 - 1
ARGON2_MAX_U32 = 2**32 - 1


def require_bytes(what: str, value: object) -> None:
    """Refuse str, bytearray views of JS memory and anything else that is not bytes."""
    if not isinstance(value, bytes):
        raise TypeError(f"{what} must be bytes, got {type(value).__name__}")


def require_int(what: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, got {type(value).__name__}")
    return value


def _in_range(what: str, value: object, low: int, high: int) -> None:
    number = require_int(what, value)
    if number < low:
        raise ValueError(f"{what} is {number}, expected at least {low}")
    if number > high:
        raise ValueError(f"{what} is {number}, expected at most {high}")


def check_argon2id(
    *,
    password: bytes,
    salt: bytes,
    secret: bytes,
    associated_data: bytes,
    memory_kib: int,
    iterations: int,
    lanes: int,
    length: int,
) -> None:
    """Argon2id limits from RFC 9106, section 3.1."""
    for name, value in (
        ("password", password),
        ("salt", salt),
        ("secret", secret),
        ("associated_data", associated_data),
    ):
        require_bytes(f"argon2id {name}", value)
    if len(salt) < ARGON2_MIN_SALT:
        raise ValueError(
            f"argon2id salt has {len(salt)} bytes, expected at least {ARGON2_MIN_SALT}"
        )
    _in_range("argon2id lanes", lanes, 1, ARGON2_MAX_LANES)
    _in_range("argon2id iterations", iterations, 1, ARGON2_MAX_U32)
    _in_range("argon2id length", length, ARGON2_MIN_LENGTH, ARGON2_MAX_U32)
    require_int("argon2id memory_kib", memory_kib)
    if memory_kib < 8 * lanes:
        raise ValueError(
            f"argon2id memory_kib is {memory_kib}, expected at least 8 * lanes = {8 * lanes}"
        )
    if memory_kib > ARGON2_MAX_U32:
        raise ValueError(f"argon2id memory_kib is {memory_kib}, expected at most {ARGON2_MAX_U32}")


def check_hkdf_sha256(*, ikm: bytes, salt: bytes, info: bytes, length: int) -> None:
    """HKDF output is at most 255 hash blocks (RFC 5869, section 2.3)."""
    require_bytes("hkdf ikm", ikm)
    require_bytes("hkdf salt", salt)
    require_bytes("hkdf info", info)
    _in_range("hkdf length", length, 1, HKDF_SHA256_MAX_LENGTH)


def check_ed25519_seed(seed: bytes) -> None:
    require_bytes("ed25519 seed", seed)
    if len(seed) != ED25519_SEED_LENGTH:
        raise ValueError(f"ed25519 seed has {len(seed)} bytes, expected {ED25519_SEED_LENGTH}")


def check_ed25519_message(message: bytes) -> None:
    require_bytes("ed25519 message", message)


def check_ed25519_public_key(public_key: bytes) -> None:
    require_bytes("ed25519 public_key", public_key)
    if len(public_key) != ED25519_PUBLIC_KEY_LENGTH:
        raise ValueError(
            f"ed25519 public_key has {len(public_key)} bytes, expected {ED25519_PUBLIC_KEY_LENGTH}"
        )


def ed25519_signature_has_valid_length(signature: bytes) -> bool:
    """A signature is untrusted input: a wrong length is a failed check, not an error."""
    require_bytes("ed25519 signature", signature)
    return len(signature) == ED25519_SIGNATURE_LENGTH


def check_random_length(n: int) -> None:
    number = require_int("random_bytes n", n)
    if number < 0:
        raise ValueError(f"random_bytes n is {number}, expected at least 0")


def check_sha256(data: bytes) -> None:
    require_bytes("sha256 data", data)

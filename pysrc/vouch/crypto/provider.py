"""The one interface ``vouch.core`` uses for cryptographic primitives.

Every method is async because the browser implementation awaits WebCrypto
and hash-wasm promises; the native one simply does the work inline. Bytes go
in and bytes come out on every provider, so core code never sees a JS value.
"""

from __future__ import annotations

from typing import Protocol


class Provider(Protocol):
    """Argon2id, HKDF-SHA256, Ed25519, SHA-256 and randomness, same names everywhere.

    Parameter checks are shared (``vouch.crypto._checks``): a bad argument
    raises the same ``ValueError`` (naming the parameter) on every provider.
    """

    @property
    def name(self) -> str:
        """Short provider name ("native", "browser"), used in reports and vectors."""
        ...

    def prepare(self, memory_kib: int) -> None:
        """Start, without waiting, what the next Argon2id call would otherwise wait for.

        Callers use it when a derivation with ``memory_kib`` is coming (a passphrase field
        is on screen); it changes no result and may do nothing.
        """
        ...

    async def argon2id(
        self,
        password: bytes,
        salt: bytes,
        *,
        memory_kib: int,
        iterations: int,
        lanes: int,
        length: int = 32,
        secret: bytes = b"",
        associated_data: bytes = b"",
    ) -> bytes:
        """Argon2id version 0x13 (RFC 9106); secret is K, associated_data is X."""
        ...

    async def hkdf_sha256(self, ikm: bytes, *, salt: bytes, info: bytes, length: int = 32) -> bytes:
        """HKDF with SHA-256 (RFC 5869), extract then expand."""
        ...

    async def ed25519_public_key(self, seed: bytes) -> bytes:
        """The 32-byte public key of a 32-byte Ed25519 seed (RFC 8032 private key)."""
        ...

    async def ed25519_sign(self, seed: bytes, message: bytes) -> bytes:
        """A 64-byte pure Ed25519 signature."""
        ...

    async def ed25519_verify(self, public_key: bytes, message: bytes, signature: bytes) -> bool:
        """True only for a valid signature; a malformed signature is False, not an error."""
        ...

    async def sha256(self, data: bytes) -> bytes:
        """SHA-256 digest (WebAuthn challenges are the digest of a canonical message)."""
        ...

    async def random_bytes(self, n: int) -> bytes:
        """n bytes from the platform CSPRNG."""
        ...

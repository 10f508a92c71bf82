"""Provider backed by the ``cryptography`` package (OpenSSL).

Used on the server and wherever a ``cryptography`` wheel is installed. The
work is synchronous and short, so the async methods simply do it inline.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from vouch.crypto import _checks


class NativeProvider:
    """``vouch.crypto.Provider`` on top of ``cryptography``."""

    name = "native"

    def prepare(self, memory_kib: int) -> None:
        """Nothing to start: OpenSSL's Argon2id is ready."""

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
        _checks.check_argon2id(
            password=password,
            salt=salt,
            secret=secret,
            associated_data=associated_data,
            memory_kib=memory_kib,
            iterations=iterations,
            lanes=lanes,
            length=length,
        )
        kdf = Argon2id(
            salt=salt,
            length=length,
            iterations=iterations,
            lanes=lanes,
            memory_cost=memory_kib,
            ad=associated_data or None,
            secret=secret or None,
        )
        return kdf.derive(password)

    async def hkdf_sha256(self, ikm: bytes, *, salt: bytes, info: bytes, length: int = 32) -> bytes:
        _checks.check_hkdf_sha256(ikm=ikm, salt=salt, info=info, length=length)
        return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)

    async def ed25519_public_key(self, seed: bytes) -> bytes:
        _checks.check_ed25519_seed(seed)
        public = Ed25519PrivateKey.from_private_bytes(seed).public_key()
        return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    async def ed25519_sign(self, seed: bytes, message: bytes) -> bytes:
        _checks.check_ed25519_seed(seed)
        _checks.check_ed25519_message(message)
        return Ed25519PrivateKey.from_private_bytes(seed).sign(message)

    async def ed25519_verify(self, public_key: bytes, message: bytes, signature: bytes) -> bool:
        _checks.check_ed25519_public_key(public_key)
        _checks.check_ed25519_message(message)
        if not _checks.ed25519_signature_has_valid_length(signature):
            return False
        try:
            key = Ed25519PublicKey.from_public_bytes(public_key)
            key.verify(signature, message)
        except (InvalidSignature, ValueError):
            # ValueError: the 32 bytes do not encode a curve point; no key signs for it.
            return False
        return True

    async def sha256(self, data: bytes) -> bytes:
        _checks.check_sha256(data)
        digest = hashes.Hash(hashes.SHA256())
        digest.update(data)
        return digest.finalize()

    async def random_bytes(self, n: int) -> bytes:
        _checks.check_random_length(n)
        return os.urandom(n)

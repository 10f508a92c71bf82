"""Provider for Pyodide: WebCrypto for Ed25519/HKDF/SHA-256/randomness, wasm for Argon2id.

Argon2id runs in a worker (web/argon2id-worker.js) on the WebAssembly SIMD build of the
reference implementation (@phi-ag/argon2): about twice as fast as hash-wasm, which has no
SIMD, and the page stays responsive meanwhile. hash-wasm remains the fallback for browsers
without WebAssembly SIMD or module workers, and for a non-empty ``secret``.

It reaches ``js`` only through ``vouch.crypto.ffi``, so it still imports (and checks its
parameters) on CPython. JS values are converted at the edge: callers give and get Python
``bytes``, and JS errors come back as ``BrowserCryptoError``.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from vouch.crypto import _checks, ffi
from vouch.crypto.ffi import js

T = TypeVar("T")

DEFAULT_HASH_WASM_URL = "/vendor/hash-wasm/argon2.umd.min.js"
DEFAULT_ARGON2_WORKER_URL = "/argon2id-worker.js"

# PKCS#8 PrivateKeyInfo for Ed25519 (RFC 8410, section 7) is this fixed DER
# header followed by the 32-byte seed; WebCrypto has no "raw" private import.
_PKCS8_ED25519_PREFIX = bytes.fromhex("302e020100300506032b657004220420")

# crypto.getRandomValues fills at most 65536 bytes per call.
_RANDOM_CHUNK = 65536


class BrowserCryptoError(RuntimeError):
    """A WebCrypto or hash-wasm call failed; ``js_name`` is the JS error name."""

    def __init__(self, operation: str, js_name: str, js_message: str) -> None:
        super().__init__(f"{operation} failed in the browser: {js_name}: {js_message}")
        self.operation = operation
        self.js_name = js_name
        self.js_message = js_message


def _require() -> None:
    """A clear error outside Pyodide, before anything touches ``js``."""
    ffi.require("BrowserProvider")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


async def _await_js(operation: str, start: Callable[[], Awaitable[T]]) -> T:
    """Run a JS call that returns a promise; turn a JS exception into BrowserCryptoError."""
    try:
        return await ffi.wait(start())
    except ffi.JsError as exc:
        raise BrowserCryptoError(operation, exc.name, exc.message) from exc


class _Argon2Worker:
    """A module worker running web/argon2id-worker.js, shared by every provider of the page.

    It lives as long as the page: started once, it keeps the compiled wasm, and requests
    are told apart by id. If it cannot run (no module workers, no WebAssembly SIMD), every
    request answers None and callers fall back to hash-wasm.
    """

    def __init__(self, url: str) -> None:
        _require()
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._next_id = 0
        self.broken = False
        self._on_message = ffi.create_proxy(self._message)
        self._on_error = ffi.create_proxy(self._error)
        try:
            with ffi.converted():
                self._worker = js.Worker.new(url, ffi.js_object(type="module"))
        except (AttributeError, ffi.JsError):  # no workers here, or no module workers
            self._error(None)
            return
        self._worker.onmessage = self._on_message
        self._worker.onerror = self._on_error

    def prepare(self, memory_kib: int) -> None:
        """Have the next derivation's instance ready, its memory grown (see the worker)."""
        if not self.broken:
            self._worker.postMessage(ffi.js_object(prepare=memory_kib))

    async def derive(self, *, password: bytes, salt: bytes, **numbers: int) -> bytes | None:
        """Argon2id in the worker; None if this browser cannot run it there."""
        if self.broken:
            return None
        self._next_id += 1
        request_id = self._next_id
        reply = self._pending[request_id] = asyncio.get_running_loop().create_future()
        message = ffi.js_object(
            id=request_id,
            password=ffi.to_uint8array(password),
            salt=ffi.to_uint8array(salt),
            **numbers,
        )
        self._worker.postMessage(message)
        data = await reply
        error = getattr(data, "error", None) if data is not None else None
        if data is None or (error and data.name == "CompileError"):  # no WebAssembly SIMD
            return None
        if error:
            raise BrowserCryptoError("argon2id", str(data.name), str(error))
        return ffi.to_bytes(data.key)

    def _message(self, event: Any) -> None:
        request_id = getattr(event.data, "id", None)
        if not isinstance(request_id, int):
            self._error(None)  # not the protocol of web/argon2id-worker.js: stop using it
            return
        reply = self._pending.pop(request_id, None)
        if reply is not None and not reply.done():
            reply.set_result(event.data)

    def _error(self, _event: Any) -> None:
        """The worker's script did not load or run: nothing it was asked will be answered."""
        self.broken = True
        for reply in self._pending.values():
            if not reply.done():
                reply.set_result(None)
        self._pending.clear()


_argon2_workers: dict[str, _Argon2Worker] = {}


def _argon2_worker(url: str) -> _Argon2Worker:
    worker = _argon2_workers.get(url)
    if worker is None:
        worker = _argon2_workers[url] = _Argon2Worker(url)
    return worker


class BrowserProvider:
    """``vouch.crypto.Provider`` on WebCrypto and hash-wasm, for Pyodide pages.

    Argon2id goes to the page's worker for ``argon2_worker_url`` (started on first use or
    by ``prepare``); ``argon2_worker_url=None`` means hash-wasm only.
    hash-wasm is used through its UMD global ``hashwasm``; when the page has
    not loaded it, the provider appends a <script> for ``hash_wasm_url`` (or
    calls importScripts in a worker) the first time it is needed.
    """

    name = "browser"

    def __init__(
        self,
        hash_wasm_url: str = DEFAULT_HASH_WASM_URL,
        argon2_worker_url: str | None = DEFAULT_ARGON2_WORKER_URL,
    ) -> None:
        self.hash_wasm_url = hash_wasm_url
        self.argon2_worker_url = argon2_worker_url
        self._hashwasm_loading: asyncio.Future[None] | None = None

    def prepare(self, memory_kib: int) -> None:
        """Start the Argon2id worker and ready its next derivation, before it is needed."""
        if self.argon2_worker_url:
            _argon2_worker(self.argon2_worker_url).prepare(memory_kib)

    @property
    def argon2_backend(self) -> str:
        """What the next default Argon2id call runs on: "wasm-simd-worker" or "hash-wasm"."""
        return "wasm-simd-worker" if self.argon2_worker_url else "hash-wasm"

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
        if associated_data:
            raise ValueError(
                f"argon2id associated_data ({len(associated_data)} bytes) "
                "is not supported by hash-wasm; expected empty"
            )
        if not password:
            raise ValueError(
                "argon2id password is empty, which hash-wasm does not support; "
                "expected at least 1 byte"
            )
        if self.argon2_worker_url and not secret:
            key = await _argon2_worker(self.argon2_worker_url).derive(
                password=password,
                salt=salt,
                memoryKib=memory_kib,
                iterations=iterations,
                lanes=lanes,
                length=length,
            )
            if key is not None:
                return key
            self.argon2_worker_url = None  # this browser cannot: hash-wasm from now on
        hashwasm = await self._hashwasm()
        options = ffi.js_object(
            password=ffi.to_uint8array(password),
            salt=ffi.to_uint8array(salt),
            parallelism=lanes,
            iterations=iterations,
            memorySize=memory_kib,
            hashLength=length,
            outputType="binary",
        )
        if secret:
            options.secret = ffi.to_uint8array(secret)
        result = await _await_js("argon2id", lambda: hashwasm.argon2id(options))
        return ffi.to_bytes(result)

    async def hkdf_sha256(self, ikm: bytes, *, salt: bytes, info: bytes, length: int = 32) -> bytes:
        _checks.check_hkdf_sha256(ikm=ikm, salt=salt, info=info, length=length)
        subtle = self._subtle()
        key = await _await_js(
            "HKDF importKey",
            lambda: subtle.importKey(
                "raw", ffi.to_uint8array(ikm), "HKDF", False, ffi.js_array("deriveBits")
            ),
        )
        params = ffi.js_object(
            name="HKDF", hash="SHA-256", salt=ffi.to_uint8array(salt), info=ffi.to_uint8array(info)
        )
        bits = await _await_js(
            "HKDF deriveBits", lambda: subtle.deriveBits(params, key, length * 8)
        )
        return ffi.to_bytes(bits)

    async def ed25519_public_key(self, seed: bytes) -> bytes:
        _checks.check_ed25519_seed(seed)
        key = await self._private_key(seed, extractable=True)
        subtle = self._subtle()
        jwk = await _await_js("Ed25519 exportKey", lambda: subtle.exportKey("jwk", key))
        return _b64url_decode(str(jwk.x))

    async def ed25519_sign(self, seed: bytes, message: bytes) -> bytes:
        _checks.check_ed25519_seed(seed)
        _checks.check_ed25519_message(message)
        key = await self._private_key(seed, extractable=False)
        subtle = self._subtle()
        signature = await _await_js(
            "Ed25519 sign", lambda: subtle.sign("Ed25519", key, ffi.to_uint8array(message))
        )
        return ffi.to_bytes(signature)

    async def ed25519_verify(self, public_key: bytes, message: bytes, signature: bytes) -> bool:
        _checks.check_ed25519_public_key(public_key)
        _checks.check_ed25519_message(message)
        if not _checks.ed25519_signature_has_valid_length(signature):
            return False
        subtle = self._subtle()
        try:
            key = await _await_js(
                "Ed25519 importKey",
                lambda: subtle.importKey(
                    "raw", ffi.to_uint8array(public_key), "Ed25519", False, ffi.js_array("verify")
                ),
            )
        except BrowserCryptoError as exc:
            if exc.js_name == "DataError":  # not a curve point: nothing verifies against it
                return False
            raise
        valid = await _await_js(
            "Ed25519 verify",
            lambda: subtle.verify(
                "Ed25519", key, ffi.to_uint8array(signature), ffi.to_uint8array(message)
            ),
        )
        return bool(valid)

    async def sha256(self, data: bytes) -> bytes:
        _checks.check_sha256(data)
        subtle = self._subtle()
        digest = await _await_js(
            "SHA-256 digest", lambda: subtle.digest("SHA-256", ffi.to_uint8array(data))
        )
        return ffi.to_bytes(digest)

    async def random_bytes(self, n: int) -> bytes:
        _checks.check_random_length(n)
        _require()
        chunks = []
        remaining = n
        while remaining > 0:
            size = min(remaining, _RANDOM_CHUNK)
            array = js.Uint8Array.new(size)
            js.crypto.getRandomValues(array)
            chunks.append(ffi.to_bytes(array))
            remaining -= size
        return b"".join(chunks)

    def _subtle(self) -> Any:
        _require()
        crypto = getattr(js, "crypto", None)
        subtle = getattr(crypto, "subtle", None) if crypto is not None else None
        if subtle is None:
            raise BrowserCryptoError(
                "WebCrypto", "NotSupportedError", "crypto.subtle is missing (not a secure context?)"
            )
        return subtle

    async def _private_key(self, seed: bytes, *, extractable: bool) -> Any:
        subtle = self._subtle()
        der = _PKCS8_ED25519_PREFIX + seed
        return await _await_js(
            "Ed25519 importKey",
            lambda: subtle.importKey(
                "pkcs8", ffi.to_uint8array(der), "Ed25519", extractable, ffi.js_array("sign")
            ),
        )

    async def _hashwasm(self) -> Any:
        """The hash-wasm global, loading its UMD script once if the page has not."""
        _require()
        module = getattr(js, "hashwasm", None)
        if module is not None:
            return module
        if self._hashwasm_loading is None:
            self._hashwasm_loading = asyncio.ensure_future(self._load_hashwasm())
        try:
            await asyncio.shield(self._hashwasm_loading)
        except Exception:
            self._hashwasm_loading = None  # let a later call retry
            raise
        module = getattr(js, "hashwasm", None)
        if module is None:
            raise BrowserCryptoError(
                "load hash-wasm",
                "ReferenceError",
                f"{self.hash_wasm_url} loaded but defined no global hashwasm",
            )
        return module

    async def _load_hashwasm(self) -> None:
        _require()
        document = getattr(js, "document", None)
        if document is None:  # a worker: no DOM, but a synchronous importScripts
            try:
                with ffi.converted():
                    js.importScripts(self.hash_wasm_url)
            except ffi.JsError as exc:
                raise BrowserCryptoError("load hash-wasm", exc.name, exc.message) from exc
            return
        loaded: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def on_load(_event: Any) -> None:
            if not loaded.done():
                loaded.set_result(None)

        def on_error(_event: Any) -> None:
            if not loaded.done():
                loaded.set_exception(
                    BrowserCryptoError(
                        "load hash-wasm", "NetworkError", f"could not load {self.hash_wasm_url}"
                    )
                )

        load_proxy = ffi.create_proxy(on_load)
        error_proxy = ffi.create_proxy(on_error)
        script = document.createElement("script")
        script.addEventListener("load", load_proxy)
        script.addEventListener("error", error_proxy)
        script.src = self.hash_wasm_url
        document.head.appendChild(script)
        try:
            await loaded
        finally:
            script.removeEventListener("load", load_proxy)
            script.removeEventListener("error", error_proxy)
            load_proxy.destroy()
            error_proxy.destroy()

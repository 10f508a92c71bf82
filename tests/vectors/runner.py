"""Runs the JSON test vectors in this directory against any vouch crypto provider.

Self-contained on purpose: it imports only the standard library, ``vouch.core``
and the ``vouch.crypto`` interface, so the same source runs on CPython with
``NativeProvider`` (tests/unit/test_vectors.py) and inside Pyodide with
``BrowserProvider`` (the browser test loads this file's text into the page).

Usage::

    results = await run_vectors(provider, json.loads(text_of_one_vector_file))

Each result is ``{"name", "op", "provider", "ok", "expected", "actual"}`` plus
``"error"`` when the operation raised, and ``"unsupported": True`` with a
``"reason"`` when the vector lists the provider under ``unsupported_by`` and
the provider refused it with ``ValueError``: an expected, reported gap,
never a silent skip. A run passes when every result is ``ok`` or, for the
vectors marked so, ``unsupported``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from vouch.core import codes, kdf, keys, messages
from vouch.core.errors import InvalidCode
from vouch.crypto.provider import Provider

Fields = dict[str, Any]
Handler = Callable[[Provider, Mapping[str, Any]], Awaitable[Fields]]


def _hex(data: str) -> bytes:
    return bytes.fromhex(data)


async def _argon2id(provider: Provider, given: Mapping[str, Any]) -> Fields:
    tag = await provider.argon2id(
        _hex(given["password"]),
        _hex(given["salt"]),
        memory_kib=given["memory_kib"],
        iterations=given["iterations"],
        lanes=given["lanes"],
        length=given["length"],
        secret=_hex(given.get("secret", "")),
        associated_data=_hex(given.get("associated_data", "")),
    )
    return {"tag": tag.hex()}


async def _hkdf_sha256(provider: Provider, given: Mapping[str, Any]) -> Fields:
    okm = await provider.hkdf_sha256(
        _hex(given["ikm"]),
        salt=_hex(given["salt"]),
        info=_hex(given["info"]),
        length=given["length"],
    )
    return {"okm": okm.hex()}


async def _ed25519(provider: Provider, given: Mapping[str, Any]) -> Fields:
    seed, message = _hex(given["seed"]), _hex(given["message"])
    public_key = await provider.ed25519_public_key(seed)
    signature = await provider.ed25519_sign(seed, message)
    tampered = bytes([signature[0] ^ 1]) + signature[1:]
    return {
        "public_key": public_key.hex(),
        "signature": signature.hex(),
        "verifies": await provider.ed25519_verify(public_key, message, signature),
        "tampered_verifies": await provider.ed25519_verify(public_key, message, tampered),
    }


async def _sha256(provider: Provider, given: Mapping[str, Any]) -> Fields:
    return {"digest": (await provider.sha256(_hex(given["data"]))).hex()}


async def _passphrase_key(provider: Provider, given: Mapping[str, Any]) -> Fields:
    key = await keys.derive_passphrase_key(
        provider,
        given["passphrase"],
        salt=_hex(given["salt"]),
        account_id=given["account_id"],
        params=kdf.Argon2Params.from_dict(given["params"]),
    )
    return {"public_key": key.public_key.hex()}


async def _recovery_code_key(provider: Provider, given: Mapping[str, Any]) -> Fields:
    code = codes.parse_recovery_code(given["code"])
    key = await keys.derive_recovery_code_key(
        provider, code, salt=_hex(given["salt"]), account_id=given["account_id"]
    )
    return {
        "code_bytes": code.hex(),
        "formatted": codes.format_recovery_code(code),
        "public_key": key.public_key.hex(),
    }


async def _backup_code_key(provider: Provider, given: Mapping[str, Any]) -> Fields:
    code = codes.parse_backup_code(given["code"])
    key = await keys.derive_backup_code_key(
        provider, code, salt=_hex(given["salt"]), account_id=given["account_id"]
    )
    return {
        "code_bytes": code.hex(),
        "formatted": codes.format_backup_code(code),
        "public_key": key.public_key.hex(),
    }


async def _code_rejected(provider: Provider, given: Mapping[str, Any]) -> Fields:
    parse = {"recovery_code": codes.parse_recovery_code, "backup_code": codes.parse_backup_code}
    try:
        parse[given["kind"]](given["code"])
    except InvalidCode as exc:
        return {"error": str(exc)}
    return {"error": None}


async def _signed_message(provider: Provider, message: bytes, seed_hex: str | None) -> Fields:
    fields: Fields = {
        "message": message.hex(),
        "message_text": message.decode("utf-8"),
        "webauthn_challenge": messages.webauthn_challenge_for(message).hex(),
        "provider_sha256": (await provider.sha256(message)).hex(),
    }
    if seed_hex is not None:
        seed = _hex(seed_hex)
        public_key = await provider.ed25519_public_key(seed)
        signature = await provider.ed25519_sign(seed, message)
        fields["public_key"] = public_key.hex()
        fields["signature"] = signature.hex()
        fields["verifies"] = await messages.verify_guardian_signature(
            provider, public_key, message, signature
        )
    return fields


async def _recovery_message(provider: Provider, given: Mapping[str, Any]) -> Fields:
    credential = given["new_credential"]
    request = messages.RecoveryRequest(
        account=given["account"],
        challenge=_hex(given["challenge"]),
        expires=given["expires"],
        rp_id=given["rp_id"],
        new_credential=messages.NewCredential(
            id=_hex(credential["id"]), public_key_sha256=_hex(credential["public_key_sha256"])
        ),
    )
    return await _signed_message(provider, messages.recovery_message(request), given.get("seed"))


async def _guardians_message(provider: Provider, given: Mapping[str, Any]) -> Fields:
    change = messages.GuardiansChange(
        account=given["account"], challenge=_hex(given["challenge"]), config=given["config"]
    )
    return await _signed_message(provider, messages.guardians_message(change), given.get("seed"))


OPS: dict[str, Handler] = {
    "argon2id": _argon2id,
    "hkdf_sha256": _hkdf_sha256,
    "ed25519": _ed25519,
    "sha256": _sha256,
    "vouch_passphrase_key": _passphrase_key,
    "vouch_recovery_code_key": _recovery_code_key,
    "vouch_backup_code_key": _backup_code_key,
    "vouch_code_rejected": _code_rejected,
    "vouch_recovery_message": _recovery_message,
    "vouch_guardians_message": _guardians_message,
}


async def run_vector(provider: Provider, vector: Mapping[str, Any]) -> dict[str, Any]:
    """Run one vector; never raises for a failing vector, reports it instead."""
    result: dict[str, Any] = {
        "name": vector["name"],
        "op": vector["op"],
        "provider": provider.name,
        "ok": False,
        "expected": vector["expected"],
        "actual": None,
    }
    reason = vector.get("unsupported_by", {}).get(provider.name)
    handler = OPS.get(vector["op"])
    if handler is None:
        result["error"] = f"unknown op {vector['op']!r}, expected one of {sorted(OPS)}"
        return result
    try:
        actual = await handler(provider, vector["input"])
    except ValueError as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"
        if reason is not None:
            result["unsupported"] = True
            result["reason"] = reason
        return result
    except Exception as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"
        return result
    result["actual"] = actual
    result["ok"] = actual == vector["expected"]
    return result


async def run_vectors(provider: Provider, vectors: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Run every vector of one parsed vector file, in order."""
    return [await run_vector(provider, vector) for vector in vectors["vectors"]]


def summarize(results: list[dict[str, Any]]) -> str:
    """One line per vector: ok, UNSUPPORTED (expected) or FAIL with what differed."""
    lines = []
    for result in results:
        if result["ok"]:
            status = "ok"
        elif result.get("unsupported"):
            status = f"UNSUPPORTED (expected: {result['reason']})"
        else:
            error = result.get("error") or ""
            status = f"FAIL {error} expected={result['expected']!r} actual={result['actual']!r}"
        lines.append(f"{result['provider']} {result['name']}: {status}")
    return "\n".join(lines)

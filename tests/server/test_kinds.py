"""The server's guardian kinds: one module each, held by a registry the server dispatches on.

What the kinds produce together must stay what the server answered before they were
modules: the request and response schemas, the decoys of every name (a decoy that changed
would be seen to move), the refusal sentences, the plans of held recoveries.
"""

from __future__ import annotations

import hashlib
import json
from types import SimpleNamespace
from typing import Any, ClassVar, cast

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jsonschema import Draft202012Validator

from tests.support.api_client import run
from tests.support.soft_authenticator import b64
from vouch.core.codes import BACKUP_CODE_COUNT
from vouch.core.kdf import Argon2Params
from vouch.core.kinds import COMMON_FIELDS, CONTACT, EMAIL, KINDS, Proof
from vouch.crypto.native import NativeProvider
from vouch.server import guardians
from vouch.server.context import Context
from vouch.server.decoys import Decoys
from vouch.server.errors import ApprovalInvalid, BadRequest
from vouch.server.kinds import (
    DEFAULT_KINDS,
    Approved,
    Guardian,
    KindRegistry,
    backup_codes,
    passkey,
    passphrase,
    recovery_code,
)
from vouch.server.kinds import email as email_kind
from vouch.server.kinds.base import DECOY_MATERIAL_BYTES
from vouch.server.kinds.passkey import Passkey, decoy_public_key
from vouch.server.kinds.passphrase import Passphrase
from vouch.server.kinds.recovery_code import RecoveryCode
from vouch.server.kinds.shapes import DECOY_SHAPES
from vouch.server.routes import all_endpoints
from vouch.server.schemas import JSONSchema

KEY = bytes(range(32))
# The kinds the server ran before email guardians (issue 15), with their decoy shapes: what
# the pins below were taken from, so they show that adding a kind changed nothing of these.
BEFORE_EMAIL = KindRegistry(
    passphrase.KIND,
    recovery_code.KIND,
    backup_codes.KIND,
    passkey.KIND,
    shapes=tuple(shape for shape in DECOY_SHAPES if not {EMAIL.name, CONTACT.name} & set(shape[1])),
)
CONTACT_ACCOUNT = {
    "type": "string",
    "minLength": 16,
    "maxLength": 64,
    "pattern": "^[A-Za-z0-9_-]+$",
    "description": "the contact's account id (GET /api/contacts, invited[].account)",
}
EMAIL_ADDRESS = {
    "type": "string",
    "minLength": 3,
    "maxLength": 254,
    "description": "the account's verified address (GET /api/account, email)",
}


# The schemas the API had when each kind was spread over the server (routes/guardians.py
# and routes/recovery.py), copied here as they were.
SALT = {
    "type": "string",
    "pattern": "^[A-Za-z0-9_-]{22}$",
    "description": "salt (16 bytes, unpadded base64url)",
}
KEY_SCHEMA = {
    "type": "string",
    "pattern": "^[A-Za-z0-9_-]{43}$",
    "description": "Ed25519 public key (32 bytes, unpadded base64url)",
}
OLD_ENTRY: JSONSchema = {
    "type": "object",
    "description": "passphrase: public_key, salt, kdf; recovery_code: public_key, salt;"
    " backup_codes: salt, public_keys (10); passkey: credential_id",
    "properties": {
        "id": {
            "type": "string",
            "pattern": "^[A-Za-z0-9_-]{1,64}$",
            "description": "Chosen by the page: random, 1-64 base64url characters, unique per"
            " account",
        },
        "kind": {"enum": ["passphrase", "recovery_code", "backup_codes", "passkey"]},
        "label": {"type": "string", "minLength": 1, "maxLength": 100},
        "public_key": KEY_SCHEMA,
        "salt": SALT,
        "kdf": {
            "type": "object",
            "description": "Argon2Params.to_dict(): algorithm argon2id, version 19, memory_kib,"
            " iterations, lanes (checked against vouch's policy)",
            "properties": {
                "algorithm": {"type": "string", "maxLength": 16},
                "version": {"type": "integer"},
                "memory_kib": {"type": "integer"},
                "iterations": {"type": "integer"},
                "lanes": {"type": "integer"},
            },
        },
        "public_keys": {"type": "array", "items": KEY_SCHEMA, "minItems": 10, "maxItems": 10},
        "credential_id": {
            "type": "string",
            "pattern": "^[A-Za-z0-9_-]*$",
            "minLength": 1,
            "maxLength": 1400,
            "description": "guardian passkey credential ID (unpadded base64url)",
        },
    },
    "required": ["id", "kind", "label"],
    "additionalProperties": False,
}
OLD_PUBLIC: JSONSchema = {
    "type": "object",
    "description": "A guardian as a recovering user sees it: never a public key",
    "properties": {
        "id": {"type": "string"},
        "kind": {"enum": ["passphrase", "recovery_code", "backup_codes", "passkey"]},
        "label": {"type": "string"},
        "salt": SALT,
        "kdf": {"type": "object"},
        # (credential_id and codes_remaining left the public schema with issue 12: an
        # anonymous start names no guardian key, and does not say how many codes are left.)
    },
    "required": ["id", "kind", "label"],
    "additionalProperties": False,
}
OLD_REFUSALS = {
    "passphrase": "That passphrase is not right.",
    "recovery_code": "That recovery code is not right.",
    "backup_codes": "That backup code is not right, or it was already used.",
    "passkey": "That passkey is not a guardian of this account.",
}


def test_the_default_registry_runs_every_kind_core_describes() -> None:
    # All but `oidc`, which a server runs only with a provider to ask (`kinds_for`).
    assert DEFAULT_KINDS.names() == tuple(name for name in KINDS.names() if name != "oidc")
    for kind in DEFAULT_KINDS:
        assert kind.kind is KINDS[kind.name]
    assert DEFAULT_KINDS.out_of_band == frozenset({EMAIL.name, CONTACT.name})


def test_the_schemas_are_the_ones_the_api_had() -> None:
    # Byte for byte, key order included: the OpenAPI document lists them the same.
    assert json.dumps(BEFORE_EMAIL.entry_schema) == json.dumps(OLD_ENTRY)
    # The email and contact guardians add their kinds, their one field each and their
    # parts of the description.
    entry = DEFAULT_KINDS.entry_schema
    assert entry["description"] == (OLD_ENTRY["description"] + "; email: address; contact: account")
    assert entry["properties"] == {
        **OLD_ENTRY["properties"],
        "kind": {"enum": [*BEFORE_EMAIL.names(), EMAIL.name, CONTACT.name]},
        "address": EMAIL_ADDRESS,
        "account": CONTACT_ACCOUNT,
    }
    owner = BEFORE_EMAIL.owner_schema
    assert owner["description"] == (
        "A configuration entry plus created_at, and codes_remaining for backup codes"
    )
    assert owner["properties"] == {
        **OLD_ENTRY["properties"],
        "created_at": {"type": "integer", "description": "Unix time, seconds"},
        "codes_remaining": {"type": "integer", "minimum": 0, "maximum": 10},
    }
    assert owner["required"] == ["id", "kind", "label", "created_at"]
    assert "additionalProperties" not in owner
    # The same fields and schemas (the kinds' fields come in registry order).
    assert BEFORE_EMAIL.public_schema == OLD_PUBLIC
    assert DEFAULT_KINDS.public_schema["properties"] == {
        **OLD_PUBLIC["properties"],
        "kind": {"enum": list(DEFAULT_KINDS.names())},
    }
    assert DEFAULT_KINDS.approval_schema["description"].endswith(
        "; none for email, contact (approved out of band, not sent)"
    )
    approval = dict(DEFAULT_KINDS.approval_schema)
    approval.pop("description")
    assert approval == {
        "type": "object",
        "properties": {
            "guardian_id": {"type": "string", "minLength": 1, "maxLength": 64},
            "signature": {
                "type": "string",
                "pattern": "^[A-Za-z0-9_-]{86}$",
                "description": "Ed25519 signature (64 bytes, unpadded base64url)",
            },
            "assertion": {
                "type": "object",
                "description": "PublicKeyCredential.toJSON() output",
                "properties": {
                    "id": {"type": "string", "minLength": 1, "maxLength": 1400},
                    "rawId": {"type": "string", "minLength": 1, "maxLength": 1400},
                    "type": {"const": "public-key"},
                    "response": {"type": "object"},
                },
                "required": ["id", "rawId", "type", "response"],
            },
        },
        "required": ["guardian_id"],
        "additionalProperties": False,
    }


def test_the_endpoints_use_the_registry_schemas_built_once() -> None:
    first, second = all_endpoints(), all_endpoints()
    by_path = {(e.method, e.path): e for e in first}
    put = by_path[("PUT", "/api/guardians")].request_schema
    assert put is not None
    items = put["properties"]["config"]["properties"]["guardians"]["items"]
    assert items is DEFAULT_KINDS.entry_schema
    # The same objects every time: read_body compiles each schema once, by identity.
    for one, other in zip(first, second, strict=True):
        assert one.request_schema is other.request_schema
        assert one.response_schema is other.response_schema


def test_the_refusals_are_the_sentences_they_were() -> None:
    assert {kind.name: kind.refusal for kind in DEFAULT_KINDS} == {
        **OLD_REFUSALS,
        EMAIL.name: "That code is not right. Check the latest mail, or send a new code.",
        CONTACT.name: "Your contact's approval is not for this recovery: ask them again.",
    }


def decoy_digest(decoys: Decoys, names: list[str]) -> str:
    """Everything a decoy shows and is verified against, for many names, in one hash."""
    out = []
    for name in names:
        decoy = decoys.decoy(name)
        guardian_set = decoys.guardian_set(name)
        verified = [
            [
                g.id,
                g.kind,
                g.label,
                (g.salt or b"").hex(),
                g.kdf.to_dict() if g.kdf else None,
                [key.hex() for key in g.public_keys],
                g.credential_id,
                sorted(g.used_codes),
            ]
            for g in guardian_set.guardians
        ]
        out.append(
            {
                "account": decoy.account,
                "threshold": decoy.threshold,
                "shown": [guardians.public_descriptor(row) for row in decoy.rows],
                "verified": verified,
            }
        )
    return hashlib.sha256(json.dumps(out, sort_keys=True).encode()).hexdigest()


def test_decoys_are_what_they_were_for_the_same_server_key() -> None:
    """The digest was taken from the decoys of the server before its kinds were modules, and
    again when passkey guardians stopped showing their credential ID and backup codes their
    count (issue 12)."""
    names = [f"name-{n}" for n in range(200)]
    assert decoy_digest(Decoys(KEY, BEFORE_EMAIL), names) == (
        "86f6ae4eb400ff9df29ec87a3238ee7aa9a17a3c513bbe4adb3f4e53330a500a"
    )
    # Email guardians in three shapes more changed every decoy once (issue 15).
    with_email = KindRegistry(
        *(kind for kind in DEFAULT_KINDS if kind.name != CONTACT.name),
        shapes=tuple(shape for shape in DECOY_SHAPES if CONTACT.name not in shape[1]),
    )
    assert decoy_digest(Decoys(KEY, with_email), names) == (
        "0f3480ec9f88ec660757a400655ae50451a0aadc4d0415d1f410c4cdec730329"
    )
    # Trusted contacts in two shapes more changed every decoy once again (issue 16).
    assert decoy_digest(Decoys(KEY), names) == (
        "a41d3b08d9766a3a81ee161db596acf287dc425f8192977ec166530eb3672312"
    )
    assert hashlib.sha256(decoy_public_key(KEY)).hexdigest() == (
        "cb41d1efc6fab772f64aed8dbe6f548b893317a1f5f6faed90f474e93265b2fc"
    )


def test_every_kind_makes_a_decoy_shaped_like_its_real_guardians() -> None:
    material = bytes(range(256)) + bytes(DECOY_MATERIAL_BYTES - 256)
    for kind in DEFAULT_KINDS:
        made = kind.decoy_maker(KEY)("AAAAAAAAAAAA", material)
        descriptor = guardians.public_descriptor(made.row)
        assert list(descriptor) == [*COMMON_FIELDS, *kind.kind.public_fields], kind.name
        assert descriptor["kind"] == made.guardian.kind == kind.name
        assert descriptor["label"] == made.guardian.label == kind.kind.label
        Draft202012Validator(DEFAULT_KINDS.public_schema).validate(descriptor)
    # Every shape's kinds are in the registry, and some decoy shows each of them.
    shown = {kind.name for _, shape in DEFAULT_KINDS.shapes for kind in shape}
    assert shown == set(DEFAULT_KINDS.names())


def entries() -> list[dict[str, Any]]:
    def key(n: int) -> str:
        return b64(bytes([n]) * 32)

    return [
        {
            "id": "p",
            "kind": "passphrase",
            "label": "Passphrase",
            "public_key": key(1),
            "salt": b64(b"s" * 16),
            "kdf": Argon2Params().to_dict(),
        },
        {
            "id": "r",
            "kind": "recovery_code",
            "label": "Recovery code",
            "public_key": key(2),
            "salt": b64(b"t" * 16),
        },
        {
            "id": "b",
            "kind": "backup_codes",
            "label": "Backup codes",
            "public_keys": [key(10 + n) for n in range(BACKUP_CODE_COUNT)],
            "salt": b64(b"u" * 16),
        },
        {"id": "k", "kind": "passkey", "label": "Second passkey", "credential_id": "cred"},
    ]


def test_each_kind_parses_its_entry_and_gives_it_back_as_signed() -> None:
    for n, entry in enumerate(entries()):
        guardian = guardians.parse_guardian(n, entry, now=7)
        assert guardians.config_entry(guardian) == entry
        assert guardians.owner_descriptor(guardian)["created_at"] == 7
    codes = guardians.parse_guardian(2, entries()[2], now=7)
    assert guardians.owner_descriptor(codes)["codes_remaining"] == BACKUP_CODE_COUNT


def test_an_unknown_kind_is_refused_with_the_kinds_there_are() -> None:
    with pytest.raises(BadRequest) as refused:
        guardians.parse_guardian(0, {"id": "w", "kind": "wallet", "label": "W"}, now=0)
    assert refused.value.code == "invalid_guardians"
    assert refused.value.message == (
        "guardians[0].kind is 'wallet', expected one of passphrase, recovery_code,"
        " backup_codes, passkey, email, contact"
    )
    with pytest.raises(KeyError, match='Guardian kind "wallet" is not one this server runs'):
        DEFAULT_KINDS["wallet"]


class RenamedPassphrase(Passphrase):
    """A passphrase whose public fields are not the ones its description lists."""

    public_schema: ClassVar[dict[str, JSONSchema]] = {"salt": {"type": "string"}}


class ClashingCode(RecoveryCode):
    config_schema: ClassVar[dict[str, JSONSchema]] = {
        "public_key": {"type": "string"},
        "salt": {"type": "string"},
    }


class UnsentPasskey(Passkey):
    proof_schema = None


def test_a_registry_refuses_kinds_that_do_not_fit_together() -> None:
    kinds = list(DEFAULT_KINDS)
    with pytest.raises(ValueError, match='Two server kinds are named "passphrase"'):
        KindRegistry(*kinds, Passphrase())
    with pytest.raises(ValueError, match=r"public_schema fields \['salt'\], expected"):
        KindRegistry(RenamedPassphrase())
    with pytest.raises(ValueError, match='give field "public_key" different schemas'):
        KindRegistry(Passphrase(), ClashingCode(), shapes=((1, ("passphrase",)),))
    with pytest.raises(ValueError, match="needs a proof_schema exactly when"):
        KindRegistry(UnsentPasskey())
    with pytest.raises(ValueError, match="A decoy shape names backup_codes, not in this registry"):
        KindRegistry(Passphrase(), RecoveryCode())
    only = KindRegistry(Passphrase(), shapes=((1, ("passphrase",)),))
    assert only.entry_schema["properties"]["kind"] == {"enum": ["passphrase"]}
    assert Decoys(KEY, only).decoy("x").rows[0]["kind"] == "passphrase"


def test_plans_written_before_the_kinds_were_modules_still_apply() -> None:
    """A held recovery's plan lists every kind's fields, the unused ones null."""
    old = {"backup_code": None, "credential_id": None, "sign_count": None}
    assert Approved.from_json({"guardian_id": "p", "kind": "passphrase", **old}) == Approved(
        "p", "passphrase"
    )
    codes = Approved.from_json(
        {"guardian_id": "b", "kind": "backup_codes", **old, "backup_code": 3}
    )
    assert codes.effect == {"backup_code": 3}
    passkey = Approved.from_json(
        {"guardian_id": "k", "kind": "passkey", **old, "credential_id": "c", "sign_count": 0}
    )
    assert passkey.effect == {"credential_id": "c", "sign_count": 0}
    assert Approved.from_json(codes.to_json()) == codes


def test_only_out_of_band_kinds_go_without_a_proof_field() -> None:
    for kind in DEFAULT_KINDS:
        sent = kind.kind.proof_field in DEFAULT_KINDS.approval_schema["properties"]
        assert sent is (kind.proof is not Proof.OUT_OF_BAND), kind.name
    assert email_kind.KIND.proof is Proof.OUT_OF_BAND


class CountingProvider(NativeProvider):
    """The real Ed25519 verifier, counting its calls."""

    def __init__(self) -> None:
        super().__init__()
        self.verifications = 0

    async def ed25519_verify(self, public_key: bytes, message: bytes, signature: bytes) -> bool:
        self.verifications += 1
        return await super().ed25519_verify(public_key, message, signature)


def test_a_backup_code_refusal_does_the_same_work_however_many_codes_are_left() -> None:
    """What a refusal costs does not tell how many codes an account has used (or a decoy)."""
    keys = [Ed25519PrivateKey.generate() for _ in range(BACKUP_CODE_COUNT)]
    raw = tuple(key.public_key().public_bytes_raw() for key in keys)
    kind = DEFAULT_KINDS["backup_codes"]
    message = b"the recovery message"

    def verify(guardian: Guardian, signature: bytes) -> tuple[Approved | None, int]:
        provider = CountingProvider()
        context = cast(Context, SimpleNamespace(provider=provider))
        approval = {"signature": b64(signature)}
        try:
            return run(kind.verify(context, guardian, approval, message=message)), (
                provider.verifications
            )
        except ApprovalInvalid:
            return None, provider.verifications

    fresh = Guardian(id="g", kind="backup_codes", label="Codes", public_keys=raw)
    used = Guardian(
        id="g", kind="backup_codes", label="Codes", public_keys=raw, used_codes=frozenset(range(7))
    )
    assert verify(fresh, b"\1" * 64) == (None, BACKUP_CODE_COUNT)
    assert verify(used, b"\1" * 64) == (None, BACKUP_CODE_COUNT)
    assert verify(used, keys[0].sign(message)) == (None, BACKUP_CODE_COUNT)  # used: refused
    # Accepting stops at the code (the used ones are not tried first): no more work than
    # before for the owner.
    for guardian, work in ((fresh, 10), (used, 3)):
        approved, done = verify(guardian, keys[9].sign(message))
        assert approved is not None
        assert approved.effect == {"backup_code": 9}
        assert done == work

"""The guardian kinds one server runs, by name: where the server dispatches on a kind.

Built once (`create_app(..., kinds=...)`, the four of `vouch.server.kinds` by default) and
reached through the Context. What follows from the set of kinds is derived here, once: the
JSON Schemas of a configuration entry, a public descriptor, an owner's descriptor and an
approval (each kind contributes its fields; the kind enum is the registry's names), the
extra columns of the public query, and the decoy shapes resolved to kinds.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from vouch.core.kinds import COMMON_FIELDS, Proof
from vouch.server import schemas
from vouch.server.kinds.base import ServerKind
from vouch.server.kinds.shapes import DECOY_SHAPES, DecoyShapes
from vouch.server.schemas import JSONSchema

GUARDIAN_ID: JSONSchema = {
    "type": "string",
    "pattern": "^[A-Za-z0-9_-]{1,64}$",
    "description": "Chosen by the page: random, 1-64 base64url characters, unique per account",
}
LABEL: JSONSchema = {"type": "string", "minLength": 1, "maxLength": 100}
# What an approval's proof field holds, by the form of the proof (for the description).
PROOF_NOTES = {
    Proof.SIGNATURE: "Ed25519 over the recovery message",
    Proof.ASSERTION: "WebAuthn, challenge = SHA-256 of the recovery message",
    Proof.ID_TOKEN: "OpenID Connect ID token, nonce = base64url(SHA-256(recovery message))",
}


class KindRegistry:
    """Server kinds by name, in the order the dialog offers them."""

    def __init__(self, *kinds: ServerKind, shapes: DecoyShapes = DECOY_SHAPES):
        self._kinds: dict[str, ServerKind] = {}
        for kind in kinds:
            if kind.name in self._kinds:
                raise ValueError(f'Two server kinds are named "{kind.name}"; names are unique')
            _check(kind)
            self._kinds[kind.name] = kind
        if not self._kinds:
            raise ValueError("A registry needs at least one guardian kind")
        self.out_of_band = frozenset(k.name for k in kinds if k.proof is Proof.OUT_OF_BAND)
        self.shapes = tuple((threshold, self._resolve(names)) for threshold, names in shapes)
        for threshold, shape in self.shapes:
            if not 1 <= threshold <= len(shape):
                raise ValueError(f"A decoy shape has threshold {threshold} of {len(shape)} kinds")
        self.public_columns = tuple(column for k in kinds for column in k.public_columns)
        self.entry_schema = _entry_schema(kinds, self.names())
        self.owner_schema = _owner_schema(kinds, self.entry_schema)
        self.public_schema = _public_schema(kinds, self.names())
        self.approval_schema = _approval_schema(kinds)
        self.link_schema = _link_schema(kinds)

    def __getitem__(self, name: str) -> ServerKind:
        kind = self._kinds.get(name)
        if kind is None:
            raise KeyError(f'Guardian kind "{name}" is not one this server runs: {self.expected()}')
        return kind

    def get(self, name: str) -> ServerKind | None:
        return self._kinds.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._kinds

    def __iter__(self) -> Iterator[ServerKind]:
        return iter(self._kinds.values())

    def __len__(self) -> int:
        return len(self._kinds)

    def names(self) -> tuple[str, ...]:
        return tuple(self._kinds)

    def expected(self) -> str:
        """The names as an error message lists them."""
        return ", ".join(self._kinds)

    def _resolve(self, names: Iterable[str]) -> tuple[ServerKind, ...]:
        missing = [name for name in names if name not in self._kinds]
        if missing:
            raise ValueError(
                f"A decoy shape names {', '.join(missing)}, not in this registry"
                f" ({self.expected()}): pass shapes= of its own kinds"
            )
        return tuple(self._kinds[name] for name in names)


def _check(kind: ServerKind) -> None:
    """A server kind's schemas have exactly the fields its shared description lists."""
    for what, fields, expected in [
        ("config_schema", kind.config_schema, kind.kind.config_fields),
        ("public_schema", kind.public_schema, kind.kind.public_fields),
    ]:
        if set(fields) != set(expected):
            raise ValueError(
                f'Server kind "{kind.name}" has {what} fields {sorted(fields)}, expected'
                f" {sorted(expected)} (its vouch.core.kinds entry)"
            )
    if (kind.proof_schema is None) != (kind.proof is Proof.OUT_OF_BAND):
        raise ValueError(
            f'Server kind "{kind.name}" approves by {kind.proof.value}: it needs a proof_schema'
            " exactly when its approval is sent by the page"
        )


def _union(kinds: tuple[ServerKind, ...], fields: str) -> dict[str, JSONSchema]:
    """Every kind's fields in one object schema: a field two kinds share has one schema."""
    union: dict[str, JSONSchema] = {}
    owner: dict[str, str] = {}
    for kind in kinds:
        properties: Mapping[str, JSONSchema] = getattr(kind, fields)
        for name, schema in properties.items():
            if name in union and union[name] != schema:
                raise ValueError(
                    f'Kinds "{owner[name]}" and "{kind.name}" give field "{name}" different'
                    f" schemas in {fields}; an entry has one schema per field"
                )
            union.setdefault(name, schema)
            owner.setdefault(name, kind.name)
    return union


def _field_note(name: str, schema: Mapping[str, Any]) -> str:
    count = schema.get("minItems")
    return f"{name} ({count})" if count is not None and count == schema.get("maxItems") else name


def _entry_schema(kinds: tuple[ServerKind, ...], names: tuple[str, ...]) -> JSONSchema:
    summary = "; ".join(
        f"{kind.name}: "
        + (
            ", ".join(
                _field_note(name, kind.config_schema[name]) for name in kind.kind.config_fields
            )
            or "no other fields"
        )
        for kind in kinds
    )
    return {
        "type": "object",
        "description": summary,
        "properties": {
            "id": GUARDIAN_ID,
            "kind": {"enum": list(names)},
            "label": LABEL,
            **_union(kinds, "config_schema"),
        },
        "required": list(COMMON_FIELDS),
        "additionalProperties": False,
    }


def _owner_schema(kinds: tuple[ServerKind, ...], entry: JSONSchema) -> JSONSchema:
    extras = "".join(
        f", and {', '.join(kind.owner_schema)} for {kind.kind.label.lower()}"
        for kind in kinds
        if kind.owner_schema
    )
    return {
        **{key: value for key, value in entry.items() if key != "additionalProperties"},
        "description": f"A configuration entry plus created_at{extras}",
        "properties": {
            **entry["properties"],
            "created_at": schemas.TIME,
            **_union(kinds, "owner_schema"),
        },
        "required": [*COMMON_FIELDS, "created_at"],
    }


def _public_schema(kinds: tuple[ServerKind, ...], names: tuple[str, ...]) -> JSONSchema:
    return {
        "type": "object",
        "description": "A guardian as a recovering user sees it: never a public key",
        "properties": {
            "id": {"type": "string"},
            "kind": {"enum": list(names)},
            "label": {"type": "string"},
            **_union(kinds, "public_schema"),
        },
        "required": list(COMMON_FIELDS),
        "additionalProperties": False,
    }


def _approval_schema(kinds: tuple[ServerKind, ...]) -> JSONSchema:
    proofs: dict[str, JSONSchema] = {}
    by_field: dict[str, list[ServerKind]] = {}
    offline: list[str] = []
    for kind in kinds:
        if kind.proof_schema is None:
            offline.append(kind.name)
            continue
        field = kind.kind.proof_field
        if field in proofs and proofs[field] != kind.proof_schema:
            raise ValueError(f'Kinds approving by "{field}" give it different schemas')
        proofs.setdefault(field, kind.proof_schema)
        by_field.setdefault(field, []).append(kind)
    parts = [
        f"{{guardian_id, {field}}} for {', '.join(k.name for k in group)}"
        f" ({PROOF_NOTES.get(group[0].proof, field)})"
        for field, group in by_field.items()
    ]
    if offline:
        parts.append(f"none for {', '.join(offline)} (approved out of band, not sent)")
    return {
        "type": "object",
        "description": "; ".join(parts),
        "properties": {
            "guardian_id": {"type": "string", "minLength": 1, "maxLength": 64},
            **proofs,
        },
        "required": ["guardian_id"],
        "additionalProperties": False,
    }


def _link_schema(kinds: tuple[ServerKind, ...]) -> JSONSchema | None:
    """One link of a new guardian in a change ({guardian_id, <proof field>}); None when no
    kind of the registry is linked (the change then has no `links`)."""
    linked = [kind for kind in kinds if kind.link_schema is not None]
    if not linked:
        return None
    proofs: dict[str, JSONSchema] = {}
    for kind in linked:
        assert kind.link_schema is not None
        proofs.setdefault(kind.kind.proof_field, kind.link_schema)
    names = ", ".join(kind.name for kind in linked)
    return {
        "type": "object",
        "description": f"The proof linking a new guardian ({names}), made over the guardians"
        " message: an ID token's nonce is base64url(SHA-256(guardians message))",
        "properties": {"guardian_id": GUARDIAN_ID, **proofs},
        "required": ["guardian_id"],
        "additionalProperties": False,
    }

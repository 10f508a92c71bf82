"""What a guardian kind is on the server, and the records every kind reads and makes.

A `ServerKind` is one kind's server side, described by its `vouch.core.kinds.Kind`: it
parses its entry of a configuration, stores and loads its public data, describes it to a
recovering user (never a public key), makes its decoy, verifies an approval over the
recovery message, and applies what an approval changes inside the execute transaction.
The rest of the server holds a `KindRegistry` of them and never names a kind.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from vouch.core.kdf import Argon2Params
from vouch.core.kinds import Kind, Proof
from vouch.server.errors import ApprovalInvalid, BadRequest
from vouch.server.schemas import JSONSchema
from vouch.server.storage import Row, Transaction

if TYPE_CHECKING:
    from vouch.server.context import Context


@dataclass(frozen=True)
class CredentialState:
    """The unrevoked credential a guardian's `credential_id` names: COSE key and counter."""

    public_key: bytes
    sign_count: int


@dataclass(frozen=True)
class Guardian:
    """One guardian as stored: the columns of its row, which its kind reads.

    Backup-code used flags and `created_at` are server state: a guardian saved again with the
    same id and keys keeps them. `credential` is read with the guardian, for a recovery.
    """

    id: str
    kind: str
    label: str
    salt: bytes | None = None
    kdf: Argon2Params | None = None
    public_keys: tuple[bytes, ...] = ()
    credential_id: str | None = None
    created_at: int = 0
    used_codes: frozenset[int] = field(default_factory=frozenset)
    credential: CredentialState | None = None
    # Public data of a kind that has no column of its own (JSON in guardians.data).
    data: Mapping[str, Any] = field(default_factory=dict)

    def same_secret(self, other: Guardian) -> bool:
        """Whether `other` is this guardian again (same id and keys), label aside."""
        return (
            self.id == other.id
            and self.kind == other.kind
            and self.salt == other.salt
            and self.kdf == other.kdf
            and self.public_keys == other.public_keys
            and self.credential_id == other.credential_id
            and dict(self.data) == dict(other.data)
        )


@dataclass(frozen=True)
class GuardianSet:
    """An account's configuration as one recovery sees it (real, or a decoy's)."""

    account: str
    threshold: int
    guardians: tuple[Guardian, ...]
    version: int = 0

    def by_id(self, guardian_id: str) -> Guardian | None:
        for guardian in self.guardians:
            if guardian.id == guardian_id:
                return guardian
        return None


@dataclass(frozen=True)
class Approved:
    """A verified approval, and what applying the recovery will write for it.

    `effect` is the kind's own (JSON-able: a held recovery keeps it in its plan); `recorded`
    marks an approval read from recovery_approvals, consumed when the recovery is executed.
    """

    guardian_id: str
    kind: str
    effect: Mapping[str, Any] = field(default_factory=dict)
    recorded: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"guardian_id": self.guardian_id, "kind": self.kind, **self.effect}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Approved:
        # Plans written before the kinds were modules list every kind's fields, unused as null.
        effect = {
            key: value
            for key, value in data.items()
            if key not in ("guardian_id", "kind") and value is not None
        }
        return cls(guardian_id=data["guardian_id"], kind=data["kind"], effect=effect)


@dataclass(frozen=True)
class DecoyGuardian:
    """A decoy's guardian: its public row (as the public query returns one) and its model."""

    row: Row
    guardian: Guardian


# (guardian id, this guardian's bytes of the decoy stream) -> its decoy.
DecoyMaker = Callable[[str, bytes], DecoyGuardian]
# The bytes of the decoy stream each guardian gets after its id: a 32-byte credential id (or
# a salt), ten 32-byte keys, and one byte more. Changing it changes every decoy.
DECOY_MATERIAL_BYTES = 32 + 10 * 32 + 1


def invalid(message: str) -> BadRequest:
    """A configuration the owner confirmed is not one vouch accepts."""
    return BadRequest(message, code="invalid_guardians")


def stored_guardian(
    row: Row, *, public_keys: tuple[bytes, ...] | None = None, used: frozenset[int] = frozenset()
) -> Guardian:
    """A guardians row (with its credential's columns) as a Guardian; a kind whose keys live
    in a table of their own passes them."""
    if public_keys is None:
        public_keys = () if row["public_key"] is None else (bytes(row["public_key"]),)
    credential = None
    if row.get("credential_public_key") is not None and row.get("credential_revoked_at") is None:
        credential = CredentialState(
            bytes(row["credential_public_key"]), row["credential_sign_count"]
        )
    return Guardian(
        id=row["id"],
        kind=row["kind"],
        label=row["label"],
        salt=None if row["salt"] is None else bytes(row["salt"]),
        kdf=None if row["kdf"] is None else Argon2Params.from_dict(json.loads(row["kdf"])),
        public_keys=public_keys,
        credential_id=row["credential_id"],
        created_at=row["created_at"],
        used_codes=used,
        credential=credential,
        data=json.loads(row["data"]) if row.get("data") else {},
    )


class ServerKind(ABC):
    """One guardian kind on the server. Subclasses set the class attributes and implement
    the abstract methods; the defaults fit a kind whose data is its guardians row alone."""

    kind: ClassVar[Kind]
    # Its fields in a configuration entry, in a public descriptor, and the server state the
    # owner also sees (JSON Schemas by field name; `KindRegistry` checks them against `kind`).
    config_schema: ClassVar[Mapping[str, JSONSchema]]
    public_schema: ClassVar[Mapping[str, JSONSchema]]
    owner_schema: ClassVar[Mapping[str, JSONSchema]] = {}
    # The schema of the field its approval carries (`kind.proof_field`); None: out of band.
    proof_schema: ClassVar[JSONSchema | None] = None
    # Whether its secret can be guessed online (a passphrase a person chose): its wrong
    # approvals are counted per account and slow the next ones (vouch.server.guesses).
    guessable: ClassVar[bool] = False
    # What a refused approval says: which kind of secret was wrong and nothing more, so a
    # decoy (whose keys no one holds) refuses exactly like a real account.
    refusal: ClassVar[str]
    # SQL select expressions on `guardians g` the public query adds for it, each `AS` a name.
    public_columns: ClassVar[tuple[str, ...]] = ()
    # A query of its own table by account id (one `?`), rows with a `guardian_id`: read with
    # the guardians of an account that has one of this kind, and given to `from_row`.
    side_query: ClassVar[str | None] = None

    @property
    def name(self) -> str:
        return self.kind.name

    @property
    def proof(self) -> Proof:
        return self.kind.proof

    # A configuration --------------------------------------------------------------------

    # Whether a new guardian of this kind must be linked when the owner confirms it: the
    # change then carries a proof (in `links`, {guardian_id, <proof field>}) made over the
    # guardians message, from which `link` takes what the guardian keeps (an OpenID
    # identity's commitment). None: its entry alone is the guardian.
    link_schema: ClassVar[JSONSchema | None] = None

    @abstractmethod
    def parse(self, where: str, entry: Mapping[str, Any], guardian: Guardian) -> Guardian:
        """`guardian` (id, kind, label, created_at) with this kind's fields of `entry`, whose
        field names are checked; raise `invalid(...)` naming `where` if a value is wrong."""

    @abstractmethod
    def entry_values(self, guardian: Guardian) -> dict[str, Any]:
        """Its fields of the configuration entry the owner signed, as the page built them."""

    async def link(
        self, context: Context, guardian: Guardian, proof: Any, *, message: bytes
    ) -> Guardian:
        """`guardian` as parsed, with what the proof over the guardians `message` adds; raise
        if the proof does not verify. Only for a kind with a `link_schema`."""
        raise NotImplementedError(f"{self.name} guardians are not linked")

    def keeps_link(self, guardian: Guardian, stored: Guardian) -> Guardian | None:
        """`guardian` (parsed from a change, not linked again) with the link `stored` has,
        if `stored` is the same guardian; None if it needs a new link."""
        return None

    # Whether a new guardian of this kind depends on the account's state (`admit`): the
    # stored guardians are then read before a change is saved, to tell new from kept.
    admits: ClassVar[bool] = False
    # The error codes its `admit` refuses with (listed by PUT /api/guardians).
    admit_errors: ClassVar[tuple[str, ...]] = ()

    def admit(self, tx: Transaction, account_id: str, where: str, guardian: Guardian) -> None:  # noqa: B027
        """Refuse a guardian this account may not add now (an address it has not verified);
        called for a new or changed guardian only, so one saved again unchanged is kept
        whatever the account's state has become. Only for a kind that `admits`."""

    def owner_values(self, guardian: Guardian) -> dict[str, Any]:
        """Server state the signed-in owner sees besides the entry."""
        return {}

    # Storage ------------------------------------------------------------------------------

    def public_key_column(self, guardian: Guardian) -> bytes | None:
        """What the guardians row keeps in `public_key`."""
        return None

    def insert_side(self, tx: Transaction, account_id: str, guardian: Guardian) -> None:  # noqa: B027
        """Write its rows of tables of its own, after the guardians row."""

    def delete_side(self, tx: Transaction, account_id: str, guardian_id: str) -> None:  # noqa: B027
        """Delete its rows of tables of its own, before the guardians row."""

    def from_row(self, row: Row, side: Sequence[Row]) -> Guardian:
        """A guardian from its row and its rows of `side_query`."""
        return stored_guardian(row)

    # A recovery ---------------------------------------------------------------------------

    @abstractmethod
    def public_values(self, row: Row) -> dict[str, Any]:
        """Its fields of what anyone starting a recovery sees, from a public row (a real
        one, or its decoy's): never a public key."""

    @abstractmethod
    def decoy_maker(self, key: bytes) -> DecoyMaker:
        """How to make its decoys under the server's decoy key (built once per key)."""

    async def verify(
        self, context: Context, guardian: Guardian, approval: Mapping[str, Any], *, message: bytes
    ) -> Approved:
        """Verify one approval sent by the page over `message`; `refuse` if it does not."""
        raise self.refuse(guardian.id)

    def accept_recorded(self, guardian: Guardian, detail: Mapping[str, Any]) -> Approved:
        """An approval recorded out of band (verified when it was recorded) for this recovery."""
        return Approved(guardian.id, self.name, effect=dict(detail), recorded=True)

    def bound_to(self, approved: Approved, message: bytes) -> bool:
        """Whether an approval recorded out of band counts for the recovery `message` being
        executed (a contact approved one new passkey, not any); most approve the recovery."""
        return True

    def hold(self, tx: Transaction, approved: Approved, *, account_id: str) -> None:  # noqa: B027
        """When the recovery is held by a delay: refuse now what would fail at completion."""

    def apply(  # noqa: B027 (a hook: most kinds change nothing)
        self,
        tx: Transaction,
        approved: Approved,
        *,
        account_id: str,
        recovery_id: str,
        now: int,
    ) -> None:
        """Write what the approval changes, in the transaction applying the recovery; a
        conditional write whose row count is wrong must `refuse` (everything rolls back)."""

    def refuse(self, guardian_id: str) -> ApprovalInvalid:
        return ApprovalInvalid(self.refusal, extra={"guardian_id": guardian_id})

    def decoy_guardian(
        self, guardian_id: str, public: Mapping[str, Any], **stored: Any
    ) -> DecoyGuardian:
        """A decoy with the dialog's default label: `public` are the public row's values
        `public_values` reads, `stored` the Guardian's fields a verification reads."""
        label = self.kind.label
        row = {"id": guardian_id, "kind": self.name, "label": label, **public}
        return DecoyGuardian(row, Guardian(id=guardian_id, kind=self.name, label=label, **stored))

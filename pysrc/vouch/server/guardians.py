"""Guardian configurations: the model, the validation of a new one, and its storage.

The server keeps public data only: Ed25519 public keys with their salts (and Argon2id
parameters for a passphrase), or a guardian passkey's credential. Backup-code used flags and
`created_at` are server state: a guardian saved again with the same id and keys keeps them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from vouch.core.b64url import b64url_decode, b64url_encode
from vouch.core.codes import BACKUP_CODE_COUNT
from vouch.core.errors import VouchError as CoreError
from vouch.core.kdf import Argon2Params, check_policy
from vouch.server.errors import BadRequest, Conflict
from vouch.server.storage import Row, Transaction

KINDS = ("passphrase", "recovery_code", "backup_codes", "passkey")
MAX_GUARDIANS = 16
SALT_BYTES = 16
KEY_BYTES = 32

# The fields each kind has in a configuration; `id`, `kind` and `label` are common.
FIELDS: Mapping[str, frozenset[str]] = {
    "passphrase": frozenset({"public_key", "salt", "kdf"}),
    "recovery_code": frozenset({"public_key", "salt"}),
    "backup_codes": frozenset({"salt", "public_keys"}),
    "passkey": frozenset({"credential_id"}),
}


@dataclass(frozen=True)
class Guardian:
    id: str
    kind: str
    label: str
    salt: bytes | None = None
    kdf: Argon2Params | None = None
    # One key for a passphrase or recovery code, ten for backup codes, none for a passkey.
    public_keys: tuple[bytes, ...] = ()
    credential_id: str | None = None
    created_at: int = 0
    used_codes: frozenset[int] = field(default_factory=frozenset)

    @property
    def codes_remaining(self) -> int:
        return len(self.public_keys) - len(self.used_codes)

    def same_secret(self, other: Guardian) -> bool:
        """Whether `other` is this guardian again (same id and keys), label aside."""
        return (
            self.id == other.id
            and self.kind == other.kind
            and self.salt == other.salt
            and self.kdf == other.kdf
            and self.public_keys == other.public_keys
            and self.credential_id == other.credential_id
        )

    def config_entry(self) -> dict[str, Any]:
        """The guardian as it appears in a configuration the owner signs."""
        entry: dict[str, Any] = {"id": self.id, "kind": self.kind, "label": self.label}
        if self.kind in ("passphrase", "recovery_code"):
            entry["public_key"] = b64url_encode(self.public_keys[0])
        if self.kind == "backup_codes":
            entry["public_keys"] = [b64url_encode(key) for key in self.public_keys]
        if self.salt is not None:
            entry["salt"] = b64url_encode(self.salt)
        if self.kdf is not None:
            entry["kdf"] = self.kdf.to_dict()
        if self.credential_id is not None:
            entry["credential_id"] = self.credential_id
        return entry

    def owner_descriptor(self) -> dict[str, Any]:
        """What the signed-in owner sees: the configuration entry plus server state."""
        descriptor = {**self.config_entry(), "created_at": self.created_at}
        if self.kind == "backup_codes":
            descriptor["codes_remaining"] = self.codes_remaining
        return descriptor


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


# Parsing a new configuration ---------------------------------------------------------------


def _invalid(message: str) -> BadRequest:
    return BadRequest(message, code="invalid_guardians")


def _bytes(where: str, text: object, length: int) -> bytes:
    if not isinstance(text, str):
        raise _invalid(f"{where} is {type(text).__name__}, expected a base64url string")
    try:
        value = b64url_decode(text, what=where)
    except CoreError as exc:
        raise _invalid(str(exc)) from exc
    if len(value) != length:
        raise _invalid(f"{where} has {len(value)} bytes, expected {length}")
    return value


def parse_guardian(index: int, entry: Mapping[str, Any], *, now: int) -> Guardian:
    where = f"guardians[{index}]"
    kind = str(entry.get("kind"))
    if kind not in FIELDS:
        raise _invalid(f"{where}.kind is {kind!r}, expected one of {', '.join(KINDS)}")
    present = set(entry) - {"id", "kind", "label"}
    missing = sorted(FIELDS[kind] - present)
    unexpected = sorted(present - FIELDS[kind])
    if missing:
        raise _invalid(f"{where} ({kind}) is missing {', '.join(missing)}")
    if unexpected:
        raise _invalid(f"{where} ({kind}) has unexpected field {', '.join(unexpected)}")
    label = str(entry["label"])  # kept as signed, so the owner reads back what they confirmed
    if not label.strip():
        raise _invalid(f"{where}.label is empty")
    guardian = Guardian(id=str(entry["id"]), kind=kind, label=label, created_at=now)
    if kind == "passkey":
        return replace(guardian, credential_id=str(entry["credential_id"]))
    salt = _bytes(f"{where}.salt", entry["salt"], SALT_BYTES)
    if kind == "backup_codes":
        keys = tuple(
            _bytes(f"{where}.public_keys[{n}]", key, KEY_BYTES)
            for n, key in enumerate(entry["public_keys"])
        )
        if len(keys) != BACKUP_CODE_COUNT:
            raise _invalid(
                f"{where}.public_keys has {len(keys)} keys, expected {BACKUP_CODE_COUNT}"
            )
        if len(set(keys)) != len(keys):
            raise _invalid(f"{where}.public_keys has the same key twice")
        return replace(guardian, salt=salt, public_keys=keys)
    public_key = _bytes(f"{where}.public_key", entry["public_key"], KEY_BYTES)
    kdf = None
    if kind == "passphrase":
        try:
            kdf = Argon2Params.from_dict(entry["kdf"])
            check_policy(kdf)
        except CoreError as exc:
            raise _invalid(f"{where}.kdf: {exc}") from exc
    return replace(guardian, salt=salt, kdf=kdf, public_keys=(public_key,))


def parse_config(
    config: Mapping[str, Any], *, guardian_credentials: Iterable[str], now: int
) -> tuple[int, list[Guardian]]:
    """Validate a configuration the owner confirmed; say exactly what is wrong if it is not.

    `guardian_credentials` are the account's registered guardian passkeys: a passkey guardian
    must name one of them (a sign-in passkey is lost with the phone it is on).
    """
    entries = config["guardians"]
    threshold = int(config["threshold"])
    if len(entries) > MAX_GUARDIANS:
        raise _invalid(f"There are {len(entries)} guardians; the limit is {MAX_GUARDIANS}.")
    guardians = [parse_guardian(n, entry, now=now) for n, entry in enumerate(entries)]
    if not guardians and threshold != 0:
        raise _invalid(f"threshold is {threshold} with no guardians, expected 0")
    if guardians and not 1 <= threshold <= len(guardians):
        raise _invalid(
            f"threshold is {threshold}, expected between 1 and {len(guardians)} (the guardians)"
        )
    ids = [guardian.id for guardian in guardians]
    for n, guardian_id in enumerate(ids):
        if guardian_id in ids[:n]:
            raise _invalid(f'guardians[{n}].id "{guardian_id}" is used twice')
    allowed = set(guardian_credentials)
    named: set[str] = set()
    for n, guardian in enumerate(guardians):
        if guardian.credential_id is None:
            continue
        if guardian.credential_id not in allowed:
            raise _invalid(
                f"guardians[{n}].credential_id is not a guardian passkey of this account:"
                " register it with /api/guardians/passkey first"
            )
        if guardian.credential_id in named:
            raise _invalid(f"guardians[{n}].credential_id names the same passkey twice")
        named.add(guardian.credential_id)
    return threshold, guardians


# What a recovery shows ---------------------------------------------------------------------

_PUBLIC_ROWS = (
    "SELECT g.id, g.kind, g.label, g.salt, g.kdf, g.credential_id,"
    " (SELECT COUNT(*) FROM backup_codes b WHERE b.account_id = g.account_id"
    " AND b.guardian_id = g.id AND b.used_at IS NULL) AS codes_remaining"
    " FROM guardians g WHERE g.account_id = ? ORDER BY g.ordinal"
)


def public_rows(tx: Transaction, account_id: str) -> list[Row]:
    """One row per guardian with what a recovering user may see (one query, no keys).

    `vouch.server.decoys` makes rows of this same shape, so a decoy's descriptors come out
    of `public_descriptor` exactly like a real account's.
    """
    return tx.all(_PUBLIC_ROWS, (account_id,))


def public_descriptor(row: Row) -> dict[str, Any]:
    """What anyone starting a recovery sees of a guardian: never a public key.

    A public key would let an attacker test passphrase guesses offline; the salt and
    Argon2id parameters are useless without it, and the page needs them to derive.
    """
    descriptor: dict[str, Any] = {"id": row["id"], "kind": row["kind"], "label": row["label"]}
    if row["salt"] is not None:
        descriptor["salt"] = b64url_encode(bytes(row["salt"]))
    if row["kdf"] is not None:
        descriptor["kdf"] = json.loads(row["kdf"])
    if row["credential_id"] is not None:
        descriptor["credential_id"] = row["credential_id"]
    if row["kind"] == "backup_codes":
        descriptor["codes_remaining"] = row["codes_remaining"]
    return descriptor


# Storage -----------------------------------------------------------------------------------


def _from_row(row: Row, codes: list[Row]) -> Guardian:
    keys: tuple[bytes, ...] = ()
    used: frozenset[int] = frozenset()
    if row["kind"] == "backup_codes":
        keys = tuple(bytes(code["public_key"]) for code in codes)
        used = frozenset(code["idx"] for code in codes if code["used_at"] is not None)
    elif row["public_key"] is not None:
        keys = (bytes(row["public_key"]),)
    return Guardian(
        id=row["id"],
        kind=row["kind"],
        label=row["label"],
        salt=None if row["salt"] is None else bytes(row["salt"]),
        kdf=None if row["kdf"] is None else Argon2Params.from_dict(json.loads(row["kdf"])),
        public_keys=keys,
        credential_id=row["credential_id"],
        created_at=row["created_at"],
        used_codes=used,
    )


# A guardian passkey's credential row, read with its guardian (a recovery checks it).
_WITH_PASSKEYS = (
    "SELECT g.*, c.public_key AS passkey_public_key, c.sign_count AS passkey_sign_count,"
    " c.revoked_at AS passkey_revoked_at FROM guardians g"
    " LEFT JOIN credentials c ON c.id = g.credential_id"
    " WHERE g.account_id = ? ORDER BY g.ordinal"
)


def load(tx: Transaction, account_id: str) -> list[Guardian]:
    """The account's guardians in their configured order (two queries, whatever the count)."""
    return _load(tx, account_id)[0]


def load_with_passkeys(
    tx: Transaction, account_id: str
) -> tuple[list[Guardian], dict[str, tuple[bytes, int]]]:
    """`load`, and each guardian passkey's unrevoked credential: (COSE public key, sign
    count) by credential ID, read in the same two queries."""
    return _load(tx, account_id, with_passkeys=True)


def _load(
    tx: Transaction, account_id: str, *, with_passkeys: bool = False
) -> tuple[list[Guardian], dict[str, tuple[bytes, int]]]:
    if with_passkeys:
        rows = tx.all(_WITH_PASSKEYS, (account_id,))
    else:
        rows = tx.all(
            "SELECT * FROM guardians WHERE account_id = ? ORDER BY ordinal", (account_id,)
        )
    codes = tx.all(
        "SELECT guardian_id, idx, public_key, used_at FROM backup_codes"
        " WHERE account_id = ? ORDER BY guardian_id, idx",
        (account_id,),
    )
    by_guardian: dict[str, list[Row]] = {}
    for code in codes:
        by_guardian.setdefault(code["guardian_id"], []).append(code)
    passkeys = {
        row["credential_id"]: (bytes(row["passkey_public_key"]), row["passkey_sign_count"])
        for row in rows
        if with_passkeys
        and row["credential_id"] is not None
        and row["passkey_public_key"] is not None
        and row["passkey_revoked_at"] is None
    }
    return [_from_row(row, by_guardian.get(row["id"], [])) for row in rows], passkeys


def load_set(tx: Transaction, account: Row) -> GuardianSet:
    return _guardian_set(account, load(tx, account["id"]))


def load_set_with_passkeys(
    tx: Transaction, account: Row
) -> tuple[GuardianSet, dict[str, tuple[bytes, int]]]:
    """`load_set`, and its passkey guardians' credentials (see `load_with_passkeys`)."""
    guardians, passkeys = load_with_passkeys(tx, account["id"])
    return _guardian_set(account, guardians), passkeys


def _guardian_set(account: Row, guardians: list[Guardian]) -> GuardianSet:
    return GuardianSet(
        account=account["id"],
        threshold=account["threshold"],
        guardians=tuple(guardians),
        version=account["guardians_version"],
    )


def save(
    tx: Transaction,
    account_id: str,
    *,
    threshold: int,
    guardians: list[Guardian],
    expected_version: int,
) -> list[Guardian]:
    """Replace the configuration; keep created_at and used flags of unchanged guardians.

    The version check is a conditional UPDATE of the account row, which also locks it on
    PostgreSQL: a recovery or another change that raced this one finds the version moved.
    """
    changed = tx.execute(
        "UPDATE accounts SET threshold = ?, guardians_version = guardians_version + 1"
        " WHERE id = ? AND guardians_version = ?",
        (threshold, account_id, expected_version),
    )
    if changed != 1:
        raise Conflict(
            "The guardians were changed at the same time elsewhere: reload and try again.",
            code="guardians_changed",
        )
    existing = {guardian.id: guardian for guardian in load(tx, account_id)}
    saved: list[Guardian] = []
    for ordinal, guardian in enumerate(guardians):
        old = existing.pop(guardian.id, None)
        if old is not None and old.same_secret(guardian):
            tx.execute(
                "UPDATE guardians SET label = ?, ordinal = ? WHERE account_id = ? AND id = ?",
                (guardian.label, ordinal, account_id, guardian.id),
            )
            saved.append(replace(old, label=guardian.label))
            continue
        if old is not None:
            _delete(tx, account_id, old.id)
        _insert(tx, account_id, ordinal, guardian)
        saved.append(guardian)
    for old in existing.values():
        _delete(tx, account_id, old.id)
    return saved


def _delete(tx: Transaction, account_id: str, guardian_id: str) -> None:
    tx.execute(
        "DELETE FROM backup_codes WHERE account_id = ? AND guardian_id = ?",
        (account_id, guardian_id),
    )
    tx.execute("DELETE FROM guardians WHERE account_id = ? AND id = ?", (account_id, guardian_id))


def _insert(tx: Transaction, account_id: str, ordinal: int, guardian: Guardian) -> None:
    single_key = (
        guardian.public_keys[0]
        if guardian.kind != "backup_codes" and guardian.public_keys
        else None
    )
    tx.execute(
        "INSERT INTO guardians (account_id, id, ordinal, kind, label, salt, kdf, public_key,"
        " credential_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            account_id,
            guardian.id,
            ordinal,
            guardian.kind,
            guardian.label,
            guardian.salt,
            None if guardian.kdf is None else json.dumps(guardian.kdf.to_dict()),
            single_key,
            guardian.credential_id,
            guardian.created_at,
        ),
    )
    if guardian.kind == "backup_codes":
        for idx, key in enumerate(guardian.public_keys):
            tx.execute(
                "INSERT INTO backup_codes (account_id, guardian_id, idx, public_key)"
                " VALUES (?, ?, ?, ?)",
                (account_id, guardian.id, idx, key),
            )

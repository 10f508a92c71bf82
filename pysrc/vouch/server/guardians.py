"""Guardian configurations: the validation of a new one, what a recovery shows, and storage.

The server keeps public data only: Ed25519 public keys with their salts (and Argon2id
parameters for a passphrase), or a guardian passkey's credential. What each kind keeps and
shows is its module's (`vouch.server.kinds`); this module owns the guardians table and the
configuration as a whole (a threshold, distinct ids), dispatching through the registry.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from vouch.core.kinds import COMMON_FIELDS
from vouch.server.errors import Conflict
from vouch.server.kinds import DEFAULT_KINDS, KindRegistry
from vouch.server.kinds.base import Guardian, GuardianSet, invalid
from vouch.server.storage import Row, Transaction

__all__ = ["MAX_GUARDIANS", "Guardian", "GuardianSet"]

MAX_GUARDIANS = 16


# Parsing a new configuration ---------------------------------------------------------------


def parse_guardian(
    index: int, entry: Mapping[str, Any], *, now: int, kinds: KindRegistry = DEFAULT_KINDS
) -> Guardian:
    where = f"guardians[{index}]"
    name = str(entry.get("kind"))
    kind = kinds.get(name)
    if kind is None:
        raise invalid(f"{where}.kind is {name!r}, expected one of {kinds.expected()}")
    fields = frozenset(kind.kind.config_fields)
    present = set(entry) - set(COMMON_FIELDS)
    missing = sorted(fields - present)
    unexpected = sorted(present - fields)
    if missing:
        raise invalid(f"{where} ({name}) is missing {', '.join(missing)}")
    if unexpected:
        raise invalid(f"{where} ({name}) has unexpected field {', '.join(unexpected)}")
    label = str(entry["label"])  # kept as signed, so the owner reads back what they confirmed
    if not label.strip():
        raise invalid(f"{where}.label is empty")
    guardian = Guardian(id=str(entry["id"]), kind=name, label=label, created_at=now)
    return kind.parse(where, entry, guardian)


def parse_config(
    config: Mapping[str, Any],
    *,
    guardian_credentials: Iterable[str],
    now: int,
    kinds: KindRegistry = DEFAULT_KINDS,
) -> tuple[int, list[Guardian]]:
    """Validate a configuration the owner confirmed; say exactly what is wrong if it is not.

    `guardian_credentials` are the account's registered guardian passkeys: a guardian that
    names a credential must name one of them (a sign-in passkey is lost with the phone it is
    on), and no two guardians the same one.
    """
    entries = config["guardians"]
    threshold = int(config["threshold"])
    if len(entries) > MAX_GUARDIANS:
        raise invalid(f"There are {len(entries)} guardians; the limit is {MAX_GUARDIANS}.")
    guardians = [parse_guardian(n, entry, now=now, kinds=kinds) for n, entry in enumerate(entries)]
    if not guardians and threshold != 0:
        raise invalid(f"threshold is {threshold} with no guardians, expected 0")
    if guardians and not 1 <= threshold <= len(guardians):
        raise invalid(
            f"threshold is {threshold}, expected between 1 and {len(guardians)} (the guardians)"
        )
    ids = [guardian.id for guardian in guardians]
    for n, guardian_id in enumerate(ids):
        if guardian_id in ids[:n]:
            raise invalid(f'guardians[{n}].id "{guardian_id}" is used twice')
    allowed = set(guardian_credentials)
    named: set[str] = set()
    for n, guardian in enumerate(guardians):
        if guardian.credential_id is None:
            continue
        if guardian.credential_id not in allowed:
            raise invalid(
                f"guardians[{n}].credential_id is not a guardian passkey of this account:"
                " register it with /api/guardians/passkey first"
            )
        if guardian.credential_id in named:
            raise invalid(f"guardians[{n}].credential_id names the same passkey twice")
        named.add(guardian.credential_id)
    return threshold, guardians


def with_links(
    tx: Transaction,
    account_id: str,
    guardians: list[Guardian],
    linked: Mapping[str, Guardian],
    *,
    kinds: KindRegistry = DEFAULT_KINDS,
) -> list[Guardian]:
    """The guardians of a change, each of a linked kind with its link: the one the change
    brings (`linked`, verified), or the one it already has (saved again unchanged); a new
    one without a link is refused. Reads the stored guardians only if a linked kind is in
    the change."""
    if not any(kinds[g.kind].link_schema is not None for g in guardians):
        return guardians
    stored = {guardian.id: guardian for guardian in load(tx, account_id, kinds)}
    result: list[Guardian] = []
    for n, guardian in enumerate(guardians):
        kind = kinds[guardian.kind]
        if kind.link_schema is None:
            result.append(guardian)
            continue
        made = linked.get(guardian.id)
        if made is not None:
            result.append(replace(made, label=guardian.label, created_at=guardian.created_at))
            continue
        old = stored.get(guardian.id)
        kept = None if old is None else kind.keeps_link(guardian, old)
        if kept is None:
            raise invalid(
                f"guardians[{n}] ({guardian.kind}) is new: link it with a"
                f" {kind.kind.proof_field} in links"
            )
        result.append(kept)
    return result


def admit(
    tx: Transaction,
    account_id: str,
    guardians: list[Guardian],
    *,
    kinds: KindRegistry = DEFAULT_KINDS,
) -> None:
    """Let each kind that depends on the account's state refuse the new or changed guardians
    of a change (`ServerKind.admit`); one stored unchanged is kept as it is. Reads the stored
    guardians only if such a kind is in the change."""
    if not any(kinds[g.kind].admits for g in guardians):
        return
    stored = {guardian.id: guardian for guardian in load(tx, account_id, kinds)}
    for n, guardian in enumerate(guardians):
        kind = kinds[guardian.kind]
        old = stored.get(guardian.id)
        if kind.admits and (old is None or not old.same_secret(guardian)):
            kind.admit(tx, account_id, f"guardians[{n}]", guardian)


def config_entry(guardian: Guardian, kinds: KindRegistry = DEFAULT_KINDS) -> dict[str, Any]:
    """The guardian as it appears in a configuration the owner signs."""
    return {
        "id": guardian.id,
        "kind": guardian.kind,
        "label": guardian.label,
        **kinds[guardian.kind].entry_values(guardian),
    }


def owner_descriptor(guardian: Guardian, kinds: KindRegistry = DEFAULT_KINDS) -> dict[str, Any]:
    """What the signed-in owner sees: the configuration entry plus server state."""
    return {
        **config_entry(guardian, kinds),
        "created_at": guardian.created_at,
        **kinds[guardian.kind].owner_values(guardian),
    }


# What a recovery shows ---------------------------------------------------------------------


@functools.cache
def _public_query(kinds: KindRegistry) -> str:
    """Every column but the public key, what each kind adds, and the account's threshold
    and version, found by the account's name; when there is no such account (or it has no
    guardians), as many of the `decoy_guardians` rows as its decoy shows, account_id NULL."""
    columns = "".join(f", {column}" for column in kinds.public_columns)
    nulls = "".join(f", NULL AS {column.rsplit(' AS ', 1)[1]}" for column in kinds.public_columns)
    listed = "g.id, g.kind, g.label, g.salt, g.kdf, g.credential_id, g.data, g.ordinal"
    exists = "SELECT 1 FROM accounts x WHERE x.username = ? AND x.threshold > 0"
    return (
        "SELECT a.id AS account_id, a.threshold AS account_threshold,"  # noqa: S608
        f" a.guardians_version AS account_version, {listed}{columns}"
        " FROM accounts a JOIN guardians g ON g.account_id = a.id"
        " WHERE a.username = ? AND a.threshold > 0"
        " UNION ALL"
        f" SELECT NULL, 0, 0, {listed}{nulls} FROM decoy_guardians g"
        f" WHERE g.account_id = ? AND NOT EXISTS ({exists})"
        " ORDER BY ordinal"
    )


def public_rows(
    tx: Transaction, username: str, decoy_count: int, kinds: KindRegistry = DEFAULT_KINDS
) -> list[Row]:
    """One row per guardian of the account named `username` with what a recovering user may
    see (no keys), each with the account's `account_id`, `account_threshold` and
    `account_version`; none when there is no such account or it has no guardians.

    One query whether or not the name exists, reading as many rows either way: a real
    account's guardians, or `decoy_count` rows (what its decoy shows) of a table kept for
    it, dropped here. Without them a real account's start took 20 us longer on SQLite, for
    its rows alone (tests/server/test_decoys.py times it). A kind's decoys
    (`vouch.server.decoys`) are rows its own `public_values` reads, so a decoy's
    descriptors come out of `public_descriptor` exactly like a real account's.
    """
    # The key the schema's version-10 seed files `decoy_count` rows under (a shipped
    # migration is frozen, so it spells the same format itself): 1 to MAX_GUARDIANS.
    padding = f"{min(max(decoy_count, 1), MAX_GUARDIANS):022d}"
    rows = tx.all(_public_query(kinds), (username, padding, username))
    return [row for row in rows if row["account_id"] is not None]


def public_descriptor(row: Row, kinds: KindRegistry = DEFAULT_KINDS) -> dict[str, Any]:
    """What anyone starting a recovery sees of a guardian: never a public key.

    A public key would let an attacker test passphrase guesses offline; the salt and
    Argon2id parameters are useless without it, and the page needs them to derive.
    """
    return {
        "id": row["id"],
        "kind": row["kind"],
        "label": row["label"],
        **kinds[row["kind"]].public_values(row),
    }


# Storage -----------------------------------------------------------------------------------

# Each guardian with the credential its row names (a guardian passkey: a recovery checks it).
_LOAD = (
    "SELECT g.*, c.public_key AS credential_public_key, c.sign_count AS credential_sign_count,"
    " c.revoked_at AS credential_revoked_at FROM guardians g"
    " LEFT JOIN credentials c ON c.id = g.credential_id"
    " WHERE g.account_id = ? ORDER BY g.ordinal"
)


def load(tx: Transaction, account_id: str, kinds: KindRegistry = DEFAULT_KINDS) -> list[Guardian]:
    """The account's guardians in their configured order: one query, and one more for each
    kind among them that keeps a table of its own (backup codes)."""
    rows = tx.all(_LOAD, (account_id,))
    side: dict[str, dict[str, list[Row]]] = {}
    for name in dict.fromkeys(row["kind"] for row in rows):
        query = kinds[name].side_query
        if query is None:
            continue
        by_guardian: dict[str, list[Row]] = {}
        for extra in tx.all(query, (account_id,)):
            by_guardian.setdefault(extra["guardian_id"], []).append(extra)
        side[name] = by_guardian
    return [
        kinds[row["kind"]].from_row(row, side.get(row["kind"], {}).get(row["id"], []))
        for row in rows
    ]


def load_set(tx: Transaction, account: Row, kinds: KindRegistry = DEFAULT_KINDS) -> GuardianSet:
    return GuardianSet(
        account=account["id"],
        threshold=account["threshold"],
        guardians=tuple(load(tx, account["id"], kinds)),
        version=account["guardians_version"],
    )


def save(
    tx: Transaction,
    account_id: str,
    *,
    threshold: int,
    guardians: list[Guardian],
    expected_version: int,
    kinds: KindRegistry = DEFAULT_KINDS,
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
    existing = {guardian.id: guardian for guardian in load(tx, account_id, kinds)}
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
            _delete(tx, kinds, account_id, old)
        _insert(tx, kinds, account_id, ordinal, guardian)
        saved.append(guardian)
    for old in existing.values():
        _delete(tx, kinds, account_id, old)
    return saved


def _delete(tx: Transaction, kinds: KindRegistry, account_id: str, guardian: Guardian) -> None:
    kinds[guardian.kind].delete_side(tx, account_id, guardian.id)
    tx.execute("DELETE FROM guardians WHERE account_id = ? AND id = ?", (account_id, guardian.id))


def _insert(
    tx: Transaction, kinds: KindRegistry, account_id: str, ordinal: int, guardian: Guardian
) -> None:
    kind = kinds[guardian.kind]
    tx.execute(
        "INSERT INTO guardians (account_id, id, ordinal, kind, label, salt, kdf, public_key,"
        " credential_id, data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            account_id,
            guardian.id,
            ordinal,
            guardian.kind,
            guardian.label,
            guardian.salt,
            None if guardian.kdf is None else json.dumps(guardian.kdf.to_dict()),
            kind.public_key_column(guardian),
            guardian.credential_id,
            json.dumps(dict(guardian.data), sort_keys=True) if guardian.data else None,
            guardian.created_at,
        ),
    )
    kind.insert_side(tx, account_id, guardian)

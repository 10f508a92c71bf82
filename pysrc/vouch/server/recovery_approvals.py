"""Approvals that reach the server out of band, kept until the recovery they approve executes.

Some guardians do not approve in the recovering user's page: a trusted person gives a
WebAuthn assertion in their own dialog, a mailbox receives a one-time code. Their kind
verifies the proof when it arrives and calls `record`; the row is bound to one recovery
and one guardian, and expires with the recovery. Execute merges the recorded approvals
with the ones the page sends (`usable`: a guardian counts once), and `consume` marks
those it used inside the transaction that executes the recovery, by a conditional UPDATE
whose row count is checked, so a replay or a race cannot use one twice.

The table is read only when the guardians include a kind approving out of band, so a
recovery of any other account costs no statement more.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from vouch.server.context import Context
from vouch.server.kinds import Approved, GuardianSet, KindRegistry
from vouch.server.recovery import Recovery, check_open
from vouch.server.storage import Row, Transaction

_compact = json.JSONEncoder(separators=(",", ":")).encode


def record(
    tx: Transaction,
    context: Context,
    recovery: Recovery,
    guardian_id: str,
    detail: Mapping[str, Any],
) -> bool:
    """Keep a verified out-of-band approval of `recovery` by `guardian_id`.

    `detail` is the kind's own (JSON-able): it comes back to the kind's `accept_recorded`
    at execute. The recovery must still be open; a guardian's second approval of the same
    recovery is not kept (returns False).
    """
    now = context.now()
    check_open(recovery, now)
    added = tx.execute(
        "INSERT INTO recovery_approvals (recovery_id, guardian_id, detail, created_at,"
        " expires_at) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (recovery_id, guardian_id) DO NOTHING",
        (recovery.id, guardian_id, _compact(dict(detail)), now, recovery.expires_at),
    )
    return added == 1


def load(
    tx: Transaction, kinds: KindRegistry, recovery: Recovery, guardians: GuardianSet
) -> list[Row]:
    """The unused approvals recorded for `recovery`, if any guardian approves out of band
    (otherwise nothing is read)."""
    if not any(guardian.kind in kinds.out_of_band for guardian in guardians.guardians):
        return []
    return tx.all(
        "SELECT guardian_id, detail FROM recovery_approvals"
        " WHERE recovery_id = ? AND used_at IS NULL ORDER BY created_at, guardian_id",
        (recovery.id,),
    )


def usable(
    kinds: KindRegistry, guardians: GuardianSet, rows: Iterable[Row], *, sent: Iterable[str]
) -> list[Approved]:
    """The recorded approvals that count, besides the guardians the page approved (`sent`):
    each of a guardian of this set whose kind approves out of band, each guardian once."""
    counted = set(sent)
    approved: list[Approved] = []
    for row in rows:
        guardian = guardians.by_id(row["guardian_id"])
        if guardian is None or guardian.id in counted or guardian.kind not in kinds.out_of_band:
            continue
        counted.add(guardian.id)
        kind = kinds[guardian.kind]
        approved.append(kind.accept_recorded(guardian, json.loads(row["detail"])))
    return approved


def check_bound(kinds: KindRegistry, recorded: Iterable[Approved], message: bytes) -> None:
    """Refuse a recorded approval given over another recovery message than the one executed
    (a contact approved a new passkey that is not the one registered now)."""
    for item in recorded:
        kind = kinds[item.kind]
        if not kind.bound_to(item, message):
            raise kind.refuse(item.guardian_id)


def consume(
    tx: Transaction, context: Context, recovery: Recovery, approved: Iterable[Approved]
) -> None:
    """Mark the recorded approvals a recovery used, in the transaction that executes it; one
    used or gone meanwhile refuses the whole recovery (everything rolls back)."""
    now = context.now()
    for item in approved:
        if not item.recorded:
            continue
        used = tx.execute(
            "UPDATE recovery_approvals SET used_at = ? WHERE recovery_id = ?"
            " AND guardian_id = ? AND used_at IS NULL",
            (now, recovery.id, item.guardian_id),
        )
        if used != 1:
            raise context.kinds[item.kind].refuse(item.guardian_id)

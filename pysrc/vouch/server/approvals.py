"""Guardian approvals of one recovery request: which guardians, and does each verify.

An approval the page sends is `{"guardian_id", <its kind's proof field>}`: a `signature`
(Ed25519 over the canonical recovery message) or an `assertion` (WebAuthn, challenge =
SHA-256 of the message). Guardians of a kind approving out of band have their approvals
recorded by the server (`vouch.server.recovery_approvals`); the page cannot send them.
Nothing here writes: what a successful approval will change (a backup code to burn, a
passkey's counter) is returned as `Approved` for the one transaction that applies the
recovery.

A refusal says which kind of secret was wrong and nothing more, so a decoy (whose keys no
one holds) refuses exactly like a real account.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from vouch.core.kinds import Proof
from vouch.server.context import Context
from vouch.server.errors import BadRequest
from vouch.server.kinds import Approved, Guardian, GuardianSet, KindRegistry

__all__ = ["Approved", "match", "require_threshold", "verify"]


def match(
    kinds: KindRegistry, guardian_set: GuardianSet, approvals: Sequence[Mapping[str, Any]]
) -> list[tuple[Guardian, Mapping[str, Any]]]:
    """Pair each approval with its guardian: known, distinct, of the right form."""
    pairs: list[tuple[Guardian, Mapping[str, Any]]] = []
    seen: set[str] = set()
    for n, approval in enumerate(approvals):
        guardian_id = approval["guardian_id"]
        guardian = guardian_set.by_id(guardian_id)
        if guardian is None:
            raise BadRequest(
                f'approvals[{n}]: "{guardian_id}" is not a guardian of this account.',
                code="unknown_guardian",
            )
        if guardian_id in seen:
            raise BadRequest(
                f'approvals[{n}]: guardian "{guardian.label}" approved twice; each guardian'
                " counts once.",
                code="duplicate_guardian",
                extra={"guardian_id": guardian_id},
            )
        seen.add(guardian_id)
        kind = kinds[guardian.kind]
        if kind.proof is Proof.OUT_OF_BAND:
            raise BadRequest(
                f'approvals[{n}]: guardian "{guardian.label}" is a {guardian.kind} guardian,'
                " which approves out of band: its approval reaches the server on its own and"
                " is counted at execute; leave it out of the approvals sent.",
                code="out_of_band_approval",
                extra={"guardian_id": guardian_id},
            )
        wanted = kind.kind.proof_field
        if wanted not in approval or len(approval) != 2:
            raise BadRequest(
                f'approvals[{n}]: guardian "{guardian.label}" is a {guardian.kind} guardian:'
                f" send guardian_id and {wanted} only.",
                code="invalid_body",
            )
        pairs.append((guardian, approval))
    return pairs


def require_threshold(
    kinds: KindRegistry, guardian_set: GuardianSet, *, sent: int, recorded: int
) -> None:
    """Enough approvals: those sent, and those recorded out of band for this recovery."""
    threshold = guardian_set.threshold
    if sent + recorded >= threshold:
        return
    message = f"{sent} of the {threshold} approvals this account needs were sent"
    if any(guardian.kind in kinds.out_of_band for guardian in guardian_set.guardians):
        message += f", and {recorded} more were given out of band"
    raise BadRequest(message + ".", code="not_enough_approvals")


async def verify(
    context: Context, guardian: Guardian, approval: Mapping[str, Any], *, message: bytes
) -> Approved:
    """Verify one approval over `message`; ApprovalInvalid with the kind's sentence if not."""
    kind = context.kinds[guardian.kind]
    return await kind.verify(context, guardian, approval, message=message)

"""Guardian approvals of one recovery request: which guardians, and does each verify.

An approval is `{"guardian_id", "signature"}` (Ed25519 over the canonical recovery message)
for a passphrase, recovery code or backup code, or `{"guardian_id", "assertion"}` (WebAuthn,
challenge = SHA-256 of the message) for a passkey. Nothing here writes: what a successful
approval will change (a backup code to burn, a passkey's counter) is returned as `Approved`
for the one transaction that applies the recovery.

A refusal says which kind of secret was wrong and nothing more, so a decoy (whose keys no
one holds) refuses exactly like a real account.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from vouch.core.messages import verify_guardian_signature, webauthn_challenge_for
from vouch.crypto.provider import Provider
from vouch.server import ceremonies
from vouch.server.api import decode_b64
from vouch.server.config import Config
from vouch.server.errors import ApprovalInvalid, BadRequest, VerificationFailed
from vouch.server.guardians import Guardian, GuardianSet

log = logging.getLogger("vouch.server.approvals")

REFUSALS = {
    "passphrase": "That passphrase is not right.",
    "recovery_code": "That recovery code is not right.",
    "backup_codes": "That backup code is not right, or it was already used.",
    "passkey": "That passkey is not a guardian of this account.",
}


@dataclass(frozen=True)
class PasskeyState:
    """A guardian passkey's stored COSE public key and signature counter."""

    public_key: bytes
    sign_count: int


@dataclass(frozen=True)
class Approved:
    guardian_id: str
    kind: str
    backup_code: int | None = None  # index of the backup code that signed
    credential_id: str | None = None  # the guardian passkey that signed...
    sign_count: int | None = None  # ...and its new counter

    def to_json(self) -> dict[str, Any]:
        return {
            "guardian_id": self.guardian_id,
            "kind": self.kind,
            "backup_code": self.backup_code,
            "credential_id": self.credential_id,
            "sign_count": self.sign_count,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Approved:
        return cls(
            guardian_id=data["guardian_id"],
            kind=data["kind"],
            backup_code=data["backup_code"],
            credential_id=data["credential_id"],
            sign_count=data["sign_count"],
        )


def refusal(guardian: Guardian) -> ApprovalInvalid:
    return ApprovalInvalid(REFUSALS[guardian.kind], extra={"guardian_id": guardian.id})


def match(
    guardian_set: GuardianSet, approvals: Sequence[Mapping[str, Any]], *, need_threshold: bool
) -> list[tuple[Guardian, Mapping[str, Any]]]:
    """Pair each approval with its guardian: known, distinct, of the right form, enough."""
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
        wanted = "assertion" if guardian.kind == "passkey" else "signature"
        if wanted not in approval or len(approval) != 2:
            raise BadRequest(
                f'approvals[{n}]: guardian "{guardian.label}" is a {guardian.kind} guardian:'
                f" send guardian_id and {wanted} only.",
                code="invalid_body",
            )
        pairs.append((guardian, approval))
    if need_threshold and len(pairs) < guardian_set.threshold:
        raise BadRequest(
            f"{len(pairs)} of the {guardian_set.threshold} approvals this account needs were sent.",
            code="not_enough_approvals",
        )
    return pairs


async def verify(
    provider: Provider,
    config: Config,
    guardian: Guardian,
    approval: Mapping[str, Any],
    *,
    message: bytes,
    passkeys: Mapping[str, PasskeyState],
) -> Approved:
    """Verify one approval over `message`; ApprovalInvalid with the kind's sentence if not."""
    if guardian.kind == "passkey":
        return _verify_passkey(config, guardian, approval["assertion"], message, passkeys)
    signature = decode_b64(approval["signature"], what="signature")
    for index, public_key in enumerate(guardian.public_keys):
        if index in guardian.used_codes:
            continue
        if await verify_guardian_signature(provider, public_key, message, signature):
            backup_code = index if guardian.kind == "backup_codes" else None
            return Approved(guardian.id, guardian.kind, backup_code=backup_code)
    raise refusal(guardian)


def _verify_passkey(
    config: Config,
    guardian: Guardian,
    assertion: Mapping[str, Any],
    message: bytes,
    passkeys: Mapping[str, PasskeyState],
) -> Approved:
    assert guardian.credential_id is not None
    state = passkeys.get(guardian.credential_id)
    if assertion.get("id") != guardian.credential_id or state is None:
        raise refusal(guardian)
    try:
        sign_count = ceremonies.verify_authentication(
            config,
            dict(assertion),
            challenge=webauthn_challenge_for(message),
            public_key=state.public_key,
            sign_count=state.sign_count,
        )
    except VerificationFailed as exc:
        log.info("passkey guardian %s refused: %s", guardian.id, exc.message)
        raise refusal(guardian) from exc
    return Approved(
        guardian.id, guardian.kind, credential_id=guardian.credential_id, sign_count=sign_count
    )

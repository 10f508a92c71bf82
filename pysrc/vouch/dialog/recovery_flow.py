"""The lost-device recovery flow as plain data: what is needed, what is approved, what to sign.

Approvals are kept here until the server executes the whole recovery at once, so leaving
halfway changes nothing on the server. Each guardian kind's module makes its approval of
`message()` (`vouch.dialog.kinds`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from vouch.core.b64url import b64url_decode, b64url_encode
from vouch.core.messages import NewCredential, RecoveryRequest, recovery_message

Approval = dict[str, Any]


@dataclass
class RecoveryFlow:
    start: dict[str, Any]
    credential: dict[str, Any] | None = None
    approvals: dict[str, Approval] = field(default_factory=dict)
    # Guardians whose approval the server recorded itself (an emailed code, typed back):
    # they count toward the threshold, but the page has nothing of theirs to send.
    recorded: set[str] = field(default_factory=set)
    # The server refused an approval: perhaps the account name is mistyped (a decoy's
    # guardians refuse everything), so the screens offer to change it.
    refused: bool = False
    # What a kind keeps between two visits to a guardian's step, by guardian id (a help
    # request's link, so choosing the contact again does not replace the link they have).
    kept: dict[str, Any] = field(default_factory=dict)

    @property
    def account(self) -> str:
        return str(self.start["account"])

    @property
    def rp_id(self) -> str:
        return str(self.start["rp_id"])

    @property
    def threshold(self) -> int:
        return int(self.start["threshold"])

    @property
    def guardians(self) -> list[dict[str, Any]]:
        return list(self.start["guardians"])

    @property
    def remaining(self) -> int:
        return max(0, self.threshold - len(self.approvals) - len(self.recorded))

    def approved(self, guardian_id: str) -> bool:
        return guardian_id in self.approvals or guardian_id in self.recorded

    def guardian(self, guardian_id: str) -> dict[str, Any]:
        for guardian in self.guardians:
            if guardian["id"] == guardian_id:
                return guardian
        raise KeyError(guardian_id)

    def unused_guardians(self) -> list[dict[str, Any]]:
        return [g for g in self.guardians if not self.approved(g["id"])]

    def unused_of_kind(self, kind: str) -> dict[str, Any] | None:
        return next((g for g in self.unused_guardians() if g["kind"] == kind), None)

    def progress_text(self) -> str:
        if self.remaining == 0:
            return "All approvals are in."
        if self.remaining == 1:
            return "1 more approval needed."
        return f"{self.remaining} more approvals needed."

    def new_credential(self) -> NewCredential:
        """The new passkey as the guardians see it: its ID and the SHA-256 of its public key."""
        if self.credential is None:
            raise ValueError("Create the new passkey first.")
        response = self.credential["response"]
        return NewCredential(
            id=b64url_decode(self.credential["rawId"], what="credential id"),
            public_key_sha256=hashlib.sha256(
                b64url_decode(response["publicKey"], what="credential public key")
            ).digest(),
        )

    def new_credential_json(self) -> dict[str, str]:
        credential = self.new_credential()
        return {
            "id": b64url_encode(credential.id),
            "public_key_sha256": b64url_encode(credential.public_key_sha256),
        }

    def message(self) -> bytes:
        return recovery_message(
            RecoveryRequest(
                account=self.account,
                challenge=b64url_decode(self.start["challenge"], what="challenge"),
                expires=int(self.start["expires"]),
                rp_id=self.rp_id,
                new_credential=self.new_credential(),
            )
        )

    def record(self, approval: Approval) -> None:
        self.approvals[approval["guardian_id"]] = approval

    def record_elsewhere(self, guardian_id: str) -> None:
        """The server holds this guardian's approval (out of band)."""
        self.recorded.add(guardian_id)

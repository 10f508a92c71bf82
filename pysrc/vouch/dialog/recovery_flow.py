"""The lost-device recovery flow as plain data: what is needed, what is approved, what to sign.

Approvals are kept here until the server executes the whole recovery at once, so leaving
halfway changes nothing on the server.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from vouch.core import codes, keys
from vouch.core.b64url import b64url_decode, b64url_encode
from vouch.core.kdf import Argon2Params
from vouch.core.messages import (
    NewCredential,
    RecoveryRequest,
    recovery_message,
    webauthn_challenge_for,
)
from vouch.crypto.provider import Provider

Approval = dict[str, Any]

ASK_FOR = {
    "passphrase": "Enter your passphrase",
    "recovery_code": "Enter your recovery code",
    "backup_codes": "Enter one of your backup codes",
    "passkey": "Use your other passkey or security key",
}
USE_LABEL = {
    "passphrase": "Use passphrase",
    "recovery_code": "Use recovery code",
    "backup_codes": "Use a backup code",
    "passkey": "Use other passkey",
}


@dataclass
class RecoveryFlow:
    start: dict[str, Any]
    credential: dict[str, Any] | None = None
    approvals: dict[str, Approval] = field(default_factory=dict)

    @property
    def account(self) -> str:
        return str(self.start["account"])

    @property
    def threshold(self) -> int:
        return int(self.start["threshold"])

    @property
    def guardians(self) -> list[dict[str, Any]]:
        return list(self.start["guardians"])

    @property
    def remaining(self) -> int:
        return max(0, self.threshold - len(self.approvals))

    def guardian(self, guardian_id: str) -> dict[str, Any]:
        for guardian in self.guardians:
            if guardian["id"] == guardian_id:
                return guardian
        raise KeyError(guardian_id)

    def unused_guardians(self) -> list[dict[str, Any]]:
        return [g for g in self.guardians if g["id"] not in self.approvals]

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
                rp_id=str(self.start["rp_id"]),
                new_credential=self.new_credential(),
            )
        )

    def passkey_request_options(self, guardian: dict[str, Any]) -> dict[str, Any]:
        """WebAuthn request options for a passkey guardian: its challenge is SHA-256(message)."""
        return {
            "challenge": b64url_encode(webauthn_challenge_for(self.message())),
            "rpId": self.start["rp_id"],
            "allowCredentials": [{"type": "public-key", "id": guardian["credential_id"]}],
            "userVerification": "required",
            "timeout": 120_000,
        }

    def record(self, approval: Approval) -> None:
        self.approvals[approval["guardian_id"]] = approval


async def sign_with_secret(
    provider: Provider, flow: RecoveryFlow, guardian: dict[str, Any], secret: str
) -> Approval:
    """Derive the guardian's key from what the user typed and sign the recovery message.

    Raises InvalidCode for a mistyped code before any derivation runs.
    """
    kind = guardian["kind"]
    salt = b64url_decode(guardian["salt"], what="salt")
    if kind == "passphrase":
        key = await keys.derive_passphrase_key(
            provider,
            secret,
            salt=salt,
            account_id=flow.account,
            params=Argon2Params.from_dict(guardian["kdf"]),
        )
    elif kind == "recovery_code":
        key = await keys.derive_recovery_code_key(
            provider, codes.parse_recovery_code(secret), salt=salt, account_id=flow.account
        )
    elif kind == "backup_codes":
        key = await keys.derive_backup_code_key(
            provider, codes.parse_backup_code(secret), salt=salt, account_id=flow.account
        )
    else:
        raise ValueError(f"A {kind} guardian does not take typed secrets.")
    signature = await key.sign(provider, flow.message())
    return {"guardian_id": guardian["id"], "signature": b64url_encode(signature)}

"""The account screen's model: saved guardians, the draft being edited, and new guardians.

Pure Python (no `js`), so it is tested on CPython. Secrets enter here only to be turned into
public guardian entries: a passphrase or code goes in, a public key and salt come out.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from vouch.core import codes, keys
from vouch.core.b64url import b64url_encode
from vouch.core.kdf import Argon2Params
from vouch.crypto.provider import Provider

KIND_NAMES = {
    "passphrase": "Passphrase",
    "recovery_code": "Recovery code",
    "backup_codes": "Backup codes",
    "passkey": "Second passkey",
}
# The fields of each kind that make up the signed configuration (the rest is server state).
CONFIG_FIELDS = {
    "passphrase": ("id", "kind", "label", "public_key", "salt", "kdf"),
    "recovery_code": ("id", "kind", "label", "public_key", "salt"),
    "backup_codes": ("id", "kind", "label", "salt", "public_keys"),
    "passkey": ("id", "kind", "label", "credential_id"),
}

Guardian = dict[str, Any]


def new_guardian_id() -> str:
    return secrets.token_urlsafe(9)


def config_entry(guardian: Guardian) -> Guardian:
    """The part of a guardian descriptor that the owner signs when saving."""
    return {name: guardian[name] for name in CONFIG_FIELDS[guardian["kind"]]}


@dataclass
class AccountModel:
    account: str
    username: str
    saved: list[Guardian]
    saved_threshold: int
    draft: list[Guardian] = field(default_factory=list)
    threshold: int = 0

    @classmethod
    def from_account(cls, data: dict[str, Any]) -> AccountModel:
        guardians = list(data.get("guardians") or [])
        threshold = int(data.get("threshold") or 0)
        return cls(
            account=str(data["account"]),
            username=str(data["username"]),
            saved=guardians,
            saved_threshold=threshold,
            draft=list(guardians),
            threshold=threshold,
        )

    @property
    def dirty(self) -> bool:
        return self.config() != {
            "threshold": self.saved_threshold,
            "guardians": [config_entry(guardian) for guardian in self.saved],
        }

    def add(self, guardian: Guardian) -> None:
        self.draft.append(guardian)
        if self.threshold == 0:
            self.threshold = 1

    def remove(self, guardian_id: str) -> None:
        self.draft = [guardian for guardian in self.draft if guardian["id"] != guardian_id]
        self.threshold = min(self.threshold, len(self.draft))

    def set_threshold(self, threshold: int) -> None:
        if not 1 <= threshold <= len(self.draft):
            raise ValueError(f"Choose between 1 and {len(self.draft)} approvals.")
        self.threshold = threshold

    def discard_changes(self) -> None:
        self.draft = list(self.saved)
        self.threshold = self.saved_threshold

    def config(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "guardians": [config_entry(guardian) for guardian in self.draft],
        }

    def recovery_status(self) -> str:
        """What the saved configuration allows right now, in words."""
        count = len(self.saved)
        if count == 0:
            return "Recovery is not set up: add guardians so you can get back in."
        noun = "guardian" if count == 1 else "guardians"
        return f"{self.saved_threshold} of {count} {noun} needed to recover this account."

    def default_label(self, kind: str) -> str:
        taken = sum(1 for guardian in self.draft if guardian["kind"] == kind)
        name = KIND_NAMES[kind]
        return name if taken == 0 else f"{name} {taken + 1}"


async def passphrase_guardian(
    provider: Provider, passphrase: str, *, account: str, label: str
) -> Guardian:
    """A passphrase guardian entry: Argon2id with a fresh salt and the default parameters."""
    salt = await keys.new_salt(provider)
    params = Argon2Params()
    key = await keys.derive_passphrase_key(
        provider, passphrase, salt=salt, account_id=account, params=params
    )
    return {
        "id": new_guardian_id(),
        "kind": "passphrase",
        "label": label,
        "public_key": b64url_encode(key.public_key),
        "salt": b64url_encode(salt),
        "kdf": params.to_dict(),
    }


async def recovery_code_guardian(
    provider: Provider, code: str, *, account: str, label: str
) -> Guardian:
    salt = await keys.new_salt(provider)
    key = await keys.derive_recovery_code_key(
        provider, codes.parse_recovery_code(code), salt=salt, account_id=account
    )
    return {
        "id": new_guardian_id(),
        "kind": "recovery_code",
        "label": label,
        "public_key": b64url_encode(key.public_key),
        "salt": b64url_encode(salt),
    }


async def backup_codes_guardian(
    provider: Provider, backup_codes: list[str], *, account: str, label: str
) -> Guardian:
    salt = await keys.new_salt(provider)
    public_keys = []
    for code in backup_codes:
        key = await keys.derive_backup_code_key(
            provider, codes.parse_backup_code(code), salt=salt, account_id=account
        )
        public_keys.append(b64url_encode(key.public_key))
    return {
        "id": new_guardian_id(),
        "kind": "backup_codes",
        "label": label,
        "salt": b64url_encode(salt),
        "public_keys": public_keys,
    }


def passkey_guardian(credential_id: str, *, label: str) -> Guardian:
    return {
        "id": new_guardian_id(),
        "kind": "passkey",
        "label": label,
        "credential_id": credential_id,
    }

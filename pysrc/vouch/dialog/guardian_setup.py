"""The account screen's model: saved guardians, and the draft being edited.

Pure Python (no `js`), so it is tested on CPython. New guardians are built by their kind's
module (`vouch.dialog.kinds`): a secret goes in there, a public entry comes out here.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from vouch.core.kinds import KINDS

Guardian = dict[str, Any]


def new_guardian_id() -> str:
    return secrets.token_urlsafe(9)


def config_entry(guardian: Guardian) -> Guardian:
    """The part of a guardian descriptor that the owner signs when saving (the rest is
    server state, such as `created_at` or `codes_remaining`)."""
    return {name: guardian[name] for name in KINDS[guardian["kind"]].entry_fields}


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
        """The kind's label, numbered from the second guardian of that kind on."""
        taken = sum(1 for guardian in self.draft if guardian["kind"] == kind)
        name = KINDS[kind].label
        return name if taken == 0 else f"{name} {taken + 1}"

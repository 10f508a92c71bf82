"""The account screen's model: the saved guardians, and the configurations a change makes.

Pure Python (no `js`), so it is tested on CPython. There is no draft: every change (a
guardian added, replaced or removed, the threshold) is a whole new configuration that the
owner's passkey confirms and the server stores before the dialog shows its result, so no
way out of the dialog (Done, Sign out, the host's close button) can lose a guardian the
user was shown. New guardians are built by their kind's module (`vouch.dialog.kinds`): a
secret goes in there, a public entry comes out here.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from vouch.core.kinds import KINDS

Guardian = dict[str, Any]
Config = dict[str, Any]


def new_guardian_id() -> str:
    return secrets.token_urlsafe(9)


def config_entry(guardian: Guardian) -> Guardian:
    """The part of a guardian descriptor that the owner signs when saving (the rest is
    server state, such as `created_at` or `codes_remaining`)."""
    return {name: guardian[name] for name in KINDS[guardian["kind"]].entry_fields}


def threshold_after_adding(threshold: int, total_after: int) -> int:
    """The threshold once guardians are added: 1 for the first, otherwise unchanged.

    One approval is the considered default, and adding a guardian never raises it. Every
    guardian vouch offers is a high-entropy secret or a hardware key, proven online against
    a rate-limited server, so guessing one is not the risk; the risk people actually meet is
    losing one (the drawer is cleared, the password manager is gone). With 1 of 2, a second
    guardian is a spare; with 2 of 2 it would be a second way to be locked out, which is
    what recovery exists to prevent. Someone who wants two approvals chooses it, on a screen
    that says what it means.
    """
    return max(threshold, 1) if total_after else 0


@dataclass(frozen=True)
class Change:
    """One new configuration, as the owner is asked to confirm it with their passkey."""

    config: Config
    summary: str  # what it does, in a sentence or two, above "Confirm with passkey"
    saved: str  # the account screen's notice once it is stored
    heading: str = "Confirm the change"
    # Shown once it is stored (the kit with the codes it saved); else the account screen.
    then: Callable[[], None] | None = None
    # Leaving the confirmation (nothing is stored); else the account screen.
    back: Callable[[], None] | None = None
    # Proofs that link new guardians to this very change (an ID token whose nonce is bound
    # to it), sent with it, and the prefetched confirmation options they are bound to.
    links: tuple[dict[str, Any], ...] = ()
    confirmation: dict[str, Any] | None = None


@dataclass(frozen=True)
class AccountModel:
    account: str
    username: str
    guardians: tuple[Guardian, ...]  # as saved, with the server's fields
    threshold: int
    email: str | None = None  # the account's verified address, where notices go

    @classmethod
    def from_account(cls, data: dict[str, Any]) -> AccountModel:
        return cls(
            account=str(data["account"]),
            username=str(data["username"]),
            guardians=tuple(data.get("guardians") or ()),
            threshold=int(data.get("threshold") or 0),
            email=_address(data.get("email")),
        )

    def guardian(self, guardian_id: str) -> Guardian:
        for guardian in self.guardians:
            if guardian["id"] == guardian_id:
                return guardian
        raise KeyError(guardian_id)

    def of_kind(self, kind: str) -> list[Guardian]:
        return [guardian for guardian in self.guardians if guardian["kind"] == kind]

    # The configurations a change makes -------------------------------------------------

    def config(self) -> Config:
        """The saved configuration, as the owner signed it."""
        return _config(self.threshold, self.guardians)

    def adding(self, new: Sequence[Guardian]) -> Config:
        """With `new` guardians after the saved ones; one whose id is saved replaces it in
        place (new backup codes, a new recovery code), keeping the threshold."""
        by_id = {guardian["id"]: guardian for guardian in new}
        kept = [by_id.pop(guardian["id"], guardian) for guardian in self.guardians]
        guardians = [*kept, *by_id.values()]
        return _config(threshold_after_adding(self.threshold, len(guardians)), guardians)

    def removing(self, guardian_id: str) -> Config:
        guardians = [guardian for guardian in self.guardians if guardian["id"] != guardian_id]
        return _config(min(self.threshold, len(guardians)), guardians)

    def with_threshold(self, threshold: int) -> Config:
        if not 1 <= threshold <= len(self.guardians):
            raise ValueError(f"Choose between 1 and {len(self.guardians)} approvals.")
        return _config(threshold, self.guardians)

    # Words -------------------------------------------------------------------------------

    def recovery_status(self) -> str:
        """What the saved configuration allows right now, in words."""
        return status_text(self.threshold, len(self.guardians))

    def default_label(self, kind: str, *, also: Sequence[Guardian] = ()) -> str:
        """The kind's label, numbered from the second guardian of that kind on (counting
        `also`, guardians being added in the same change)."""
        taken = sum(1 for guardian in (*self.guardians, *also) if guardian["kind"] == kind)
        name = KINDS[kind].label
        return name if taken == 0 else f"{name} {taken + 1}"


def _address(email: Any) -> str | None:
    """The verified address of GET /api/account's `email` ({address, verified_at} or None)."""
    if isinstance(email, dict) and email.get("verified_at") and email.get("address"):
        return str(email["address"])
    return None


def status_text(threshold: int, count: int) -> str:
    if count == 0:
        return "Recovery is not set up: add guardians so you can get back in."
    noun = "guardian" if count == 1 else "guardians"
    return f"{threshold} of {count} {noun} needed to recover this account."


def _config(threshold: int, guardians: Sequence[Guardian]) -> Config:
    return {"threshold": threshold, "guardians": [config_entry(g) for g in guardians]}

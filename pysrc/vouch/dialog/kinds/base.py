"""What a guardian kind's dialog module provides, and what its screens are given.

A kind's module, `vouch.dialog.kinds.<name>`, holds:

- its pure builders, importable and tested on CPython (no `js`, no screen):
  `build_entry(...)`, the configuration entry of a new guardian (exactly the
  `entry_fields` of its `vouch.core.kinds` entry, made by `new_entry`), and
  `approval(...)`, its approval of one recovery message (`approval_of`); a kind whose
  secret becomes a key also has `derive_key(...)` (its approval is `signed_approval` with
  that key), and one proven by WebAuthn has `request_options(...)`;
- `DIALOG`, a `DialogKind`: the words the dialog uses for it and its two screens. The
  account and recovery screens reach every kind through `vouch.dialog.kinds.REGISTRY`.

A kind that involves another person (a trusted contact) also has a part of the account
screen of its own (`AccountPart`: invitations to answer) and a link that opens the dialog
(`Link`: a help request sent to that person).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from vouch.core.b64url import b64url_encode
from vouch.core.keys import GuardianKey
from vouch.core.kinds import Kind
from vouch.crypto.provider import Provider
from vouch.dialog.api import ApiClient
from vouch.dialog.guardian_setup import AccountModel, Change, Guardian, new_guardian_id
from vouch.dialog.kit import RecoveryKit
from vouch.dialog.recovery_flow import Approval, RecoveryFlow
from vouch.dialog.shell import Handler, Screen, Shell
from vouch.dialog.site import Site

__all__ = [
    "AccountModel",
    "AccountPart",
    "AccountStep",
    "AddButton",
    "Approval",
    "ApprovalStep",
    "Change",
    "DialogKind",
    "Guardian",
    "Issued",
    "Link",
    "LinkStep",
    "Offer",
    "SetupStep",
    "approval_of",
    "new_entry",
    "signed_approval",
]


@dataclass(frozen=True)
class SetupStep:
    """A kind's setup screen, as the account screen opens it (one per click)."""

    model: AccountModel
    # Ask the owner to confirm the change that adds the new guardian; once their passkey
    # has and the server stored it, `Change.then` (the kit) or the account screen shows.
    confirm: Callable[[Change], None]
    back: Handler  # the account screen again (after a kit: with the new guardian)
    refetch: Callable[[], Awaitable[None]]  # fetch the single-use options again
    # The prefetched options of the passkey confirmation, taken once: for a kind whose new
    # guardian must be bound to the change's challenge before it is confirmed (a linked
    # account's ID token); None while they are being fetched.
    take_confirmation: Callable[[], dict[str, Any] | None] = lambda: None
    prepared: dict[str, Any] | None = None  # what `DialogKind.prepare` fetched, taken once
    choice: str | None = None  # which of the kind's buttons was clicked (`AddButton.choice`)
    # Fetch the account again and show it with this notice (after a change made elsewhere
    # than in the guardians, such as an invitation sent).
    reload: Callable[[str], None] = lambda _notice: None


@dataclass(frozen=True)
class AccountStep:
    """What a kind's part of the account screen may do, as the screen draws it."""

    model: AccountModel
    # Inside a click on the part's own confirmation screen: the passkey confirms a change of
    # the guardians and the server stores it; if either fails, nothing is stored and
    # `retry` shows that screen again.
    commit: Callable[[Change, Handler], None]
    show: Handler  # the account screen again, as it is
    reload: Callable[[str], None]  # fetch the account again and show it with this notice


class AccountPart(Protocol):
    """A kind's own section of the account screen, with its own state: what other people
    asked of this account (a trusted contact's invitations). One per account screen."""

    async def load(self) -> None:
        """Fetch what the section shows, with the account; a failure leaves it empty, since
        the rest of the screen works without it."""
        ...

    async def prefetch(self) -> None:
        """Single-use options that its buttons' ceremonies need, before any click."""
        ...

    def render(self, screen: Screen, step: AccountStep) -> None:
        """Draw the section into the account screen's `[data-slot=parts]`."""
        ...

    def detail(self, guardian: Guardian) -> list[str]:
        """Words about one of the kind's saved guardians, for its row (whose it is)."""
        ...

    def asked(self) -> list[str]:
        """What others asked of this account and wait for, in sentences: a sign-in that goes
        straight back to a site says so first, since only the account screen shows it."""
        ...


@dataclass(frozen=True)
class LinkStep:
    """A kind's link opened the dialog (`dialog.html#<key>=<value>`), as it hands it over."""

    value: str  # the fragment's value, already taken off the address bar
    # The passkey sign-in, started inside the click: `then` runs once signed in (the
    # session is the API client's), `on_error` puts the screen back if it fails.
    sign_in: Callable[[Handler, Handler], None]
    done: Handler  # the signed-in account screen
    leave: Handler  # the start screen, the link forgotten


@dataclass(frozen=True)
class Link:
    """A link of the kind's that opens the dialog: its fragment key and its screen."""

    key: str  # `help` in `#help=<token>`
    open: Callable[[Shell, LinkStep], None]


@dataclass(frozen=True)
class AddButton:
    """One of a kind's buttons on the account screen (an OpenID guardian has one per
    provider the server runs)."""

    text: str
    action: str  # its data-action
    choice: str | None = None  # handed to the setup as `SetupStep.choice`


# Another guardian's step, offered when what was typed is that kind's secret (a recovery
# code in the backup-code box): the choice's words, and what opens it with the text moved.
Offer = tuple[str, Callable[[str], None]]


@dataclass(frozen=True)
class Issued:
    """A new guardian of a code kind and the kit that shows its codes, once it is saved."""

    guardian: Guardian
    kit: RecoveryKit


@dataclass(frozen=True)
class ApprovalStep:
    """One guardian's turn in a recovery, as the recovery screen hands it to the kind."""

    guardian: Guardian  # its public descriptor, from the recovery start
    flow: RecoveryFlow
    # The server checks the approval (consuming nothing), the flow records it, and the
    # recovery screen moves on to the next guardian or to execute. A refusal raises
    # `errors.ApprovalRefused`.
    check: Callable[[Approval], Awaitable[None]]
    # The server recorded this guardian's approval itself (out of band, an emailed code
    # typed back): the flow counts it and the recovery screen moves on.
    recorded: Callable[[str], None]
    back: Handler  # the list of guardians again
    rename: Handler  # the account-name screen again, the name filled in
    # An unapproved guardian of the named kind, if the recovery has one.
    offer: Callable[[str], Offer | None]
    typed: str = ""  # what the step's field starts with (moved over from another step)


@dataclass(frozen=True)
class DialogKind:
    """A guardian kind as the dialog offers it: its words and its two screens."""

    kind: Kind
    add_text: str  # the account screen's button ("Add passphrase")
    use_text: str  # the recovery screen's choice ("Use passphrase")
    ask_for: str  # what its approval step asks for ("Enter your passphrase")
    setup: Callable[[Shell, SetupStep], None]  # runs in the add button's click
    approve: Callable[[Shell, ApprovalStep], None]  # runs in the choice's click
    # Single-use options fetched before the click (a WebAuthn ceremony must start inside
    # it, with no await first: Safari drops it otherwise); handed over as `prepared`.
    prepare: Callable[[ApiClient], Awaitable[dict[str, Any]]] | None = None
    # Its setup screen needs modules that reach the page after start-up (zxcvbn, segno).
    deferred: bool = False
    # A kind an account keeps one of: once there is one, its button says this and its
    # setup replaces that guardian (same id) in one confirmed change.
    replace_text: str | None = None
    # A kind whose secret stays valid after a recovery used it (a recovery code): a new
    # secret for the guardian (same id), offered as soon as that recovery completes, since
    # a used secret has been typed on a device and may have been seen (NIST SP 800-63B-4).
    renew: Callable[[Provider, AccountModel, Guardian, Site], Awaitable[Issued]] | None = None
    # Its account-screen buttons, when they depend on the server's /api/config (one per
    # OpenID provider) or on the account (a verified address); otherwise one, `add_text`.
    add_buttons: Callable[[Mapping[str, Any] | None, AccountModel], list[AddButton]] | None = None
    # A recovery choice's words, when they depend on the server's /api/config (the
    # provider's name); otherwise `use_text` and the label.
    choice: Callable[[Guardian, Mapping[str, Any] | None], str] | None = None
    # A saved guardian's name on the account screen, when it says more than the kind's
    # label ("Google account" rather than "Linked account").
    title: Callable[[Guardian, Mapping[str, Any] | None], str] | None = None
    # Its own section of the account screen (`AccountPart`), made once per account screen.
    account_part: Callable[[Shell], AccountPart] | None = None
    # A link of its own that opens the dialog (a help request sent to a trusted contact).
    link: Link | None = None

    @property
    def name(self) -> str:
        return self.kind.name

    def title_of(self, guardian: Guardian, config: Mapping[str, Any] | None = None) -> str:
        return self.kind.label if self.title is None else self.title(guardian, config)

    def buttons(self, config: Mapping[str, Any] | None, model: AccountModel) -> list[AddButton]:
        """The account screen's buttons for this kind (a kind the account keeps one of
        offers to replace the one it has)."""
        if self.add_buttons is not None:
            return self.add_buttons(config, model)
        replacing = bool(model.of_kind(self.name))
        text = self.replace_text if self.replace_text and replacing else self.add_text
        return [AddButton(text=text, action=f"add-{self.name.replace('_', '-')}")]

    def choice_text(self, guardian: Guardian, config: Mapping[str, Any] | None = None) -> str:
        """A choice button's text: the label is added only when it says more than the kind."""
        if self.choice is not None:
            return self.choice(guardian, config)
        label = str(guardian["label"])
        return self.use_text if label == self.kind.label else f"{self.use_text} ({label})"


def new_entry(kind: Kind, *, label: str, replaces: str | None = None, **fields: Any) -> Guardian:
    """A new guardian's configuration entry: a fresh id (or the id of the guardian it
    `replaces`, whose secret it renews), then exactly the kind's fields."""
    entry = {"id": replaces or new_guardian_id(), "kind": kind.name, "label": label, **fields}
    if tuple(entry) != kind.entry_fields:
        raise ValueError(
            f"a {kind.name} entry has fields {tuple(entry)}, expected {kind.entry_fields}"
        )
    return entry


def approval_of(kind: Kind, guardian: Guardian, proof: Any) -> Approval:
    """An approval as execute takes it: the guardian's id and its kind's proof field."""
    return {"guardian_id": guardian["id"], kind.proof_field: proof}


async def signed_approval(
    provider: Provider, kind: Kind, guardian: Guardian, key: GuardianKey, message: bytes
) -> Approval:
    """The approval of a guardian whose key was derived in the page: Ed25519 over `message`."""
    signature = await key.sign(provider, message)
    return approval_of(kind, guardian, b64url_encode(signature))

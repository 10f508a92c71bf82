"""The guardian kinds as the dialog offers them: one module each, in `KINDS` order.

`base` says what a kind's module holds. Adding a kind is its entry in `vouch.core.kinds`,
its module here, and its `DIALOG` in the list below; the account screen's add buttons and
the recovery screen's choices come from `REGISTRY`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from vouch.core.kinds import KINDS
from vouch.dialog.kinds import (
    backup_codes,
    contact,
    email,
    oidc,
    passkey,
    passphrase,
    recovery_code,
)
from vouch.dialog.kinds.base import DialogKind, Link

__all__ = ["REGISTRY", "DialogKind", "link_in"]


def _in_kinds_order(*dialog_kinds: DialogKind) -> Mapping[str, DialogKind]:
    by_name = {dialog_kind.name: dialog_kind for dialog_kind in dialog_kinds}
    unknown = set(by_name) - set(KINDS)
    if unknown:
        raise ValueError(f"dialog kinds {sorted(unknown)} are not in vouch.core.kinds.KINDS")
    return MappingProxyType({name: by_name[name] for name in KINDS if name in by_name})


REGISTRY = _in_kinds_order(
    passphrase.DIALOG,
    recovery_code.DIALOG,
    backup_codes.DIALOG,
    passkey.DIALOG,
    oidc.DIALOG,
    email.DIALOG,
    contact.DIALOG,
)


def link_in(fragment: Mapping[str, str]) -> tuple[Link, str] | None:
    """The kind's link the dialog was opened with (`#help=<token>`), and its value."""
    for dialog_kind in REGISTRY.values():
        link = dialog_kind.link
        if link is not None and fragment.get(link.key):
            return link, fragment[link.key]
    return None

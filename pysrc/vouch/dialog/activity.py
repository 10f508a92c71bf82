"""What happened to the account lately, in words: the dialog's side of the notices.

Every event the owner is mailed about is also in the account's audit log; the account
screen lists the latest, so an owner without an address (or whose mail went to spam) still
sees a recovery, a refused attempt or a change they did not make.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

SHOWN = 6

WORDS = {
    "account_created": "Account created",
    "signin": "Signed in",
    "signin_failed": "A sign-in was refused",
    "guardians_changed": "Guardians changed",
    "guardian_passkey_added": "A guardian passkey was registered",
    "recovery_pending": "A recovery was scheduled",
    "recovery_complete": "The account was recovered",
    "recovery_cancelled": "A recovery was cancelled",
    "recovery_check_failed": "A recovery attempt was refused",
    "recovery_failed": "A recovery attempt was refused",
    "email_code_sent": "A code was mailed to add an address",
    "email_verified": "Email address verified",
    "email_guardian_approved": "The email guardian approved a recovery",
    "contact_invited": "You invited a trusted contact",
    "contact_invitation_received": "Someone invited you to be their trusted contact",
    "contact_accepted": "A trusted-contact invitation was accepted",
    "contact_declined": "A trusted-contact invitation was declined",
    "contact_removed": "A trusted contact gave it up",
    "contact_withdrawn": "You withdrew a trusted-contact invitation",
    "contact_withdrawn_by_owner": "Someone withdrew their trusted-contact invitation",
    "contact_help_requested": "A trusted contact was asked to approve a recovery",
    "contact_help_approved": "A trusted contact approved a recovery",
    "contact_help_declined": "A trusted contact declined to approve a recovery",
    "contact_help_refused": "A trusted contact's approval was refused",
}


def describe(event: dict[str, Any]) -> str:
    """One event: what (in words; an unknown kind by its name), and when (UTC)."""
    kind = str(event.get("kind", ""))
    what = WORDS.get(kind) or kind.replace("_", " ").capitalize() or "Something happened"
    at = datetime.datetime.fromtimestamp(int(event.get("at") or 0), tz=datetime.UTC)
    return f"{what} · {at:%Y-%m-%d %H:%M} UTC"


def latest(events: Sequence[dict[str, Any]], count: int = SHOWN) -> list[str]:
    """The newest `count`, in words; repeated refusals in a row count as one line."""
    lines: list[str] = []
    last_kind = None
    for event in events:
        kind = event.get("kind")
        if kind == last_kind and kind in ("recovery_check_failed", "signin_failed"):
            continue
        last_kind = kind
        lines.append(describe(event))
        if len(lines) == count:
            break
    return lines

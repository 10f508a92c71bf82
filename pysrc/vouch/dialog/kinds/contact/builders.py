"""Trusted contacts, pure: the entry, what each person's passkey signs, and the words.

No screen and no `js` here, so all of it runs and is tested on CPython. Two people use
these: the owner, who adds a contact and later asks them for help, and the contact, who
answers the invitation and the help request in their own dialog with their own passkey.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from vouch.core import kinds
from vouch.core.b64url import b64url_decode, b64url_encode
from vouch.core.contacts import CODE_DIGITS, answer_message
from vouch.core.messages import webauthn_challenge_for
from vouch.dialog.kinds.base import Guardian, new_entry

KIND = kinds.CONTACT
LABEL_MAX = 100  # the server's limit on a label
ATTACHMENTS = ("platform", "cross-platform")


def build_entry(account: str, *, label: str) -> Guardian:
    """A contact guardian's entry: the contact's account id, which the owner's passkey signs.
    The fingerprint the owner compares before confirming is computed from this very id."""
    return new_entry(KIND, label=label, account=account)


def answer_options(prefetched: Mapping[str, Any], owner: str, answer: str) -> dict[str, Any]:
    """The contact's passkey request for one answer to `owner`'s invitation: its challenge is
    SHA-256 of the answer message, so the assertion says that answer to that owner only."""
    message = answer_message(
        str(prefetched["account"]),
        owner,
        answer,
        b64url_decode(str(prefetched["challenge"]), what="challenge"),
    )
    return {**prefetched["options"], "challenge": b64url_encode(webauthn_challenge_for(message))}


def help_options(opened: Mapping[str, Any]) -> dict[str, Any]:
    """The contact's passkey request approving a help request: its challenge is SHA-256 of
    the recovery message, so it approves that recovery, with that new passkey, only."""
    message = b64url_decode(str(opened["message"]), what="recovery message")
    return {**opened["options"], "challenge": b64url_encode(webauthn_challenge_for(message))}


def typed_code(text: str) -> str:
    """The verification code as typed ("042 917", "042-917"): its digits, or "" when they
    are not six, so a slip is caught before the passkey is asked."""
    digits = "".join(char for char in text if char.isdigit())
    return digits if len(digits) == CODE_DIGITS else ""


def attachment_of(credential: Mapping[str, Any] | None) -> str | None:
    """What kind of authenticator the new passkey is on, as the browser said, if it did."""
    attachment = (credential or {}).get("authenticatorAttachment")
    return attachment if attachment in ATTACHMENTS else None


# Words ---------------------------------------------------------------------------------


def who(guardian: Guardian) -> str:
    """The contact as the requester's page names them: the owner's label, if it says more
    than the kind's (the recovery start names no account, so an unknown name shows none)."""
    label = str(guardian.get("label") or "")
    return label if label and label != KIND.label else "your trusted contact"


def status_line(status: str, whom: str) -> str:
    """The requester's live status line."""
    if status == "opened":
        return f"They opened it: {whom} now asks you for the code."
    if status == "declined":
        return f"{_capital(whom)} declined. Choose another way to approve."
    if status == "approved":
        return f"{_capital(whom)} approved."
    return f"Waiting for {whom} to open the link…"


def authenticator_text(attachment: str | None) -> str:
    """The new passkey, as the contact is told of it before approving."""
    if attachment == "platform":
        return "Their new passkey is on the device they are using (a phone or computer)."
    if attachment == "cross-platform":
        return "Their new passkey is on a security key or another phone."
    return "Their browser did not say what kind of device holds the new passkey."


def when_text(timestamp: Any) -> str:
    """A moment, in UTC, as both people read it."""
    try:
        moment = datetime.datetime.fromtimestamp(int(timestamp), tz=datetime.UTC)
    except (TypeError, ValueError, OverflowError):
        return "at an unknown time"
    return f"{moment:%Y-%m-%d at %H:%M} UTC"


def confirm_summary(username: str, fingerprint: str) -> str:
    """The owner's confirmation: compare the fingerprint out of band before the passkey."""
    return (
        f"Ask {username} to read you their fingerprint: {fingerprint}. It must match before "
        f"you confirm. Then {username} can approve a recovery of this account, in their own "
        "dialog with their own passkey, once you read them the code it shows."
    )


def wrong_code_message(message: str, attempts_left: Any) -> str:
    """The server's sentence about a wrong code, with how many tries are left."""
    if isinstance(attempts_left, int) and str(attempts_left) not in message:
        tries = "try" if attempts_left == 1 else "tries"
        return f"{message.rstrip('.')}. {attempts_left} {tries} left."
    return message


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def qr_svg_data_uri(link: str) -> str:
    """The link as a QR code, for the contact to scan from the requester's screen."""
    # Imported here: segno comes with the page's deferred files (see dialog/deferred.py).
    import segno

    return str(segno.make(link, error="m").svg_data_uri(scale=4, border=2))

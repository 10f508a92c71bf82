"""Trusted contacts: invitations between two accounts, and the help requests of recoveries.

An owner invites another account by its name; the invitation is `pending` until the
contact answers with their own passkey (`accepted`, `declined`), and `removed` once either
gives it up. Only an accepted invitation lets the owner add the contact as a guardian, and
only while it stays accepted does the contact's approval count: a contact who removed
themselves is a guardian entry that no longer approves (the owner is shown it).

A recovery asks a contact guardian for help with a request (`request`): a row naming the
recovery, the guardian, the recovery message the contact will sign and what the contact is
shown of the requester; the link the requester sends carries a random token whose hash is
the row's id. A decoy's request is stored the same, with no contact, and is never answered.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from vouch.core.contacts import fingerprint
from vouch.server.errors import BadRequest, VouchError
from vouch.server.storage import Row, Transaction

PENDING, ACCEPTED, DECLINED, REMOVED = "pending", "accepted", "declined", "removed"
# A help request: asked, seen by the contact, then answered.
WAITING, OPENED, APPROVED, REFUSED = "waiting", "opened", "approved", "declined"
MAX_WRONG_CODES = 5
TOKEN_BYTES = 18
REFERENCE_CHARS = 64  # a SHA-256 in hex
# How many people an account's contact lists show (newest first): more than anyone keeps.
MAX_LISTED = 50


def request_reference(token: str) -> str:
    """The stored id of the help request whose link carries `token`."""
    return hashlib.sha256(b"vouch/contact-request\n" + token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


# Invitations -------------------------------------------------------------------------------


def invitation(tx: Transaction, owner_id: str, contact_id: str) -> Row | None:
    return tx.one(
        "SELECT * FROM contact_invitations WHERE owner_id = ? AND contact_id = ?",
        (owner_id, contact_id),
    )


def invite(tx: Transaction, owner_id: str, contact_id: str, now: int) -> bool:
    """Invite `contact_id`; False if an invitation is already pending or accepted (which
    stays as it is: nothing is asked again)."""
    current = invitation(tx, owner_id, contact_id)
    if current is not None and current["status"] in (PENDING, ACCEPTED):
        return False
    tx.execute(
        "INSERT INTO contact_invitations (owner_id, contact_id, status, created_at)"
        " VALUES (?, ?, ?, ?) ON CONFLICT (owner_id, contact_id) DO UPDATE SET"
        " status = excluded.status, created_at = excluded.created_at, answered_at = NULL",
        (owner_id, contact_id, PENDING, now),
    )
    return True


def answer(tx: Transaction, owner_id: str, contact_id: str, status: str, now: int) -> bool:
    """Move the invitation to `status` from the ones it may come from; False: no such one."""
    allowed = {ACCEPTED: (PENDING,), DECLINED: (PENDING,), REMOVED: (PENDING, ACCEPTED)}[status]
    marks = ", ".join("?" for _ in allowed)
    changed = tx.execute(
        "UPDATE contact_invitations SET status = ?, answered_at = ?"  # noqa: S608
        f" WHERE owner_id = ? AND contact_id = ? AND status IN ({marks})",
        (status, now, owner_id, contact_id, *allowed),
    )
    return changed == 1


def is_accepted(tx: Transaction, owner_id: str, contact_id: str) -> bool:
    row = invitation(tx, owner_id, contact_id)
    return row is not None and row["status"] == ACCEPTED


def invited_by(tx: Transaction, owner_id: str) -> list[dict[str, Any]]:
    """The people `owner_id` invited, with what became of each invitation."""
    rows = tx.all(
        "SELECT i.contact_id, a.username, i.status, i.created_at, i.answered_at"
        " FROM contact_invitations i JOIN accounts a ON a.id = i.contact_id"
        " WHERE i.owner_id = ? ORDER BY i.created_at DESC, a.username LIMIT ?",
        (owner_id, MAX_LISTED),
    )
    return [
        {
            "account": row["contact_id"],
            "username": row["username"],
            "fingerprint": fingerprint(row["contact_id"]),
            "status": row["status"],
            "created_at": row["created_at"],
            "answered_at": row["answered_at"],
        }
        for row in rows
    ]


def vouching_for(tx: Transaction, contact_id: str) -> list[dict[str, Any]]:
    """Who invited `contact_id` and has not been answered no: a name and a status only."""
    rows = tx.all(
        "SELECT i.owner_id, a.username, i.status, i.created_at"
        " FROM contact_invitations i JOIN accounts a ON a.id = i.owner_id"
        " WHERE i.contact_id = ? AND i.status IN (?, ?)"
        " ORDER BY i.created_at DESC, a.username LIMIT ?",
        (contact_id, PENDING, ACCEPTED, MAX_LISTED),
    )
    return [
        {
            "account": row["owner_id"],
            "username": row["username"],
            "status": row["status"],
            "created_at": row["created_at"],
        }
        for row in rows
    ]


# Help requests -----------------------------------------------------------------------------


@dataclass(frozen=True)
class HelpRequest:
    id: str
    recovery_id: str
    guardian_id: str
    owner_id: str | None
    contact_id: str | None
    message: bytes
    device: str
    authenticator: str | None
    status: str
    wrong_codes: int
    created_at: int
    expires_at: int

    @classmethod
    def from_row(cls, row: Row) -> HelpRequest:
        return cls(
            id=row["id"],
            recovery_id=row["recovery_id"],
            guardian_id=row["guardian_id"],
            owner_id=row["owner_id"],
            contact_id=row["contact_id"],
            message=bytes(row["message"]),
            device=row["device"],
            authenticator=row["authenticator"],
            status=row["status"],
            wrong_codes=row["wrong_codes"],
            created_at=row["created_at"],
            expires_at=row["expires_at"],
        )

    @property
    def answered(self) -> bool:
        return self.status in (APPROVED, REFUSED)


def ask(
    tx: Transaction,
    *,
    recovery_id: str,
    guardian_id: str,
    owner_id: str | None,
    contact_id: str | None,
    message: bytes,
    device: str,
    authenticator: str | None,
    now: int,
    expires_at: int,
) -> str:
    """A help request of this recovery and guardian; asked again, a new token replaces the
    old one (the old link stops working), and a new message (another new passkey) starts
    the request over. Returns the link's token."""
    token = new_token()
    reference = request_reference(token)
    current = tx.one(
        "SELECT id, message FROM contact_requests WHERE recovery_id = ? AND guardian_id = ?",
        (recovery_id, guardian_id),
    )
    if current is None:
        tx.execute(
            "INSERT INTO contact_requests (id, recovery_id, guardian_id, owner_id, contact_id,"
            " message, device, authenticator, status, wrong_codes, created_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)",
            (
                reference,
                recovery_id,
                guardian_id,
                owner_id,
                contact_id,
                message,
                device,
                authenticator,
                WAITING,
                now,
                expires_at,
            ),
        )
    elif bytes(current["message"]) == message:
        tx.execute("UPDATE contact_requests SET id = ? WHERE id = ?", (reference, current["id"]))
    else:
        tx.execute(
            "UPDATE contact_requests SET id = ?, message = ?, device = ?, authenticator = ?,"
            " status = ?, wrong_codes = 0, created_at = ?, answered_at = NULL WHERE id = ?",
            (reference, message, device, authenticator, WAITING, now, current["id"]),
        )
    return token


def status_of(tx: Transaction, recovery_id: str, guardian_id: str) -> str:
    row = tx.one(
        "SELECT status FROM contact_requests WHERE recovery_id = ? AND guardian_id = ?",
        (recovery_id, guardian_id),
    )
    if row is None:
        raise BadRequest(
            "No help was asked of this contact for this recovery.", code="no_help_request"
        )
    return str(row["status"])


def find_request(tx: Transaction, request_id: str) -> HelpRequest:
    """The request a link's token names, or the stored id a contact's listing gave (every
    use of a request also needs the contact's own session, so the id is no bearer secret)."""
    row = tx.one("SELECT * FROM contact_requests WHERE id = ?", (request_reference(request_id),))
    if row is None and len(request_id) == REFERENCE_CHARS:
        row = tx.one("SELECT * FROM contact_requests WHERE id = ?", (request_id,))
    if row is None:
        raise BadRequest(
            "This help request is not known: it was replaced by a newer link, or it expired."
            " Ask for the latest link.",
            code="no_help_request",
        )
    return HelpRequest.from_row(row)


def mark(tx: Transaction, request: HelpRequest, status: str, now: int) -> None:
    """Move an unanswered request to `status`; one answered meanwhile refuses."""
    changed = tx.execute(
        "UPDATE contact_requests SET status = ?, answered_at = ? WHERE id = ? AND status IN (?, ?)",
        (status, now if status in (APPROVED, REFUSED) else None, request.id, WAITING, OPENED),
    )
    if changed != 1:
        raise closed("It was answered meanwhile.")


def count_wrong_code(tx: Transaction, request: HelpRequest, now: int) -> int:
    """One wrong verification code more; the request is declined at the last allowed. The
    attempts left."""
    tx.execute(
        "UPDATE contact_requests SET wrong_codes = wrong_codes + 1 WHERE id = ?", (request.id,)
    )
    row = tx.one("SELECT wrong_codes FROM contact_requests WHERE id = ?", (request.id,))
    wrong = MAX_WRONG_CODES if row is None else int(row["wrong_codes"])
    if wrong >= MAX_WRONG_CODES:
        tx.execute(
            "UPDATE contact_requests SET status = ?, answered_at = ? WHERE id = ?",
            (REFUSED, now, request.id),
        )
    return max(0, MAX_WRONG_CODES - wrong)


def open_requests_for(tx: Transaction, contact_id: str, now: int) -> list[dict[str, Any]]:
    """The newest unanswered request of each owner asking `contact_id`, newest first."""
    rows = tx.all(
        "SELECT r.*, a.username FROM contact_requests r JOIN accounts a ON a.id = r.owner_id"
        " WHERE r.contact_id = ? AND r.expires_at > ? AND r.status IN (?, ?)"
        " ORDER BY r.created_at DESC LIMIT ?",
        (contact_id, now, WAITING, OPENED, MAX_LISTED),
    )
    newest: dict[str, dict[str, Any]] = {}
    for row in rows:
        newest.setdefault(row["owner_id"], row)
    return [
        {"request_id": row["id"], **shown(HelpRequest.from_row(row), row["username"])}
        for row in newest.values()
    ]


def shown(request: HelpRequest, username: str) -> dict[str, Any]:
    """What the contact is shown of a request: who asks, when, from what."""
    return {
        "username": username,
        "created_at": request.created_at,
        "expires_at": request.expires_at,
        "device": request.device,
        "authenticator": request.authenticator,
        "status": request.status,
    }


def closed(why: str) -> VouchError:
    return BadRequest(f"This help request is closed. {why}", code="help_request_closed")

"""A trusted person vouches for the owner: another vouch account approves in its own dialog.

The entry the owner signs names the contact's account id, which must have accepted the
owner's invitation when the guardian is added (`admit`; vouch.server.contacts). During a
recovery the requester asks the contact for help (/api/recovery/contact/request); the
contact, signed in, types the verification code the requester reads to them and approves
with an assertion of one of their own passkeys whose challenge is SHA-256 of the recovery
message (vouch.server.routes.contacts). The server records that approval for the recovery
(recovery_approvals) with the message's hash, and execute counts it only for that very
message: the contact approved this new passkey, no other.

A recovering user is shown only the label. A decoy's contact is an account id no account
has; its help requests are stored and never answered.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, ClassVar

from vouch.core.b64url import b64url_encode
from vouch.core.kinds import CONTACT
from vouch.server import contacts
from vouch.server.errors import BadRequest
from vouch.server.kinds.base import (
    Approved,
    DecoyGuardian,
    DecoyMaker,
    Guardian,
    ServerKind,
    invalid,
)
from vouch.server.schemas import JSONSchema
from vouch.server.storage import Row, Transaction

ACCOUNT_SCHEMA: JSONSchema = {
    "type": "string",
    "minLength": 16,
    "maxLength": 64,
    "pattern": "^[A-Za-z0-9_-]+$",
    "description": "the contact's account id (GET /api/contacts, invited[].account)",
}
ACCOUNT_ID_BYTES = 16  # as /api/register/options issues


def contact_of(guardian: Guardian) -> str:
    """The account whose owner approves for this guardian."""
    return str(guardian.data["account"])


def message_digest(message: bytes) -> str:
    """What a recorded approval keeps of the recovery message it was given over."""
    return b64url_encode(hashlib.sha256(message).digest())


class Contact(ServerKind):
    kind = CONTACT
    config_schema: ClassVar[Mapping[str, JSONSchema]] = {"account": ACCOUNT_SCHEMA}
    public_schema: ClassVar[Mapping[str, JSONSchema]] = {}
    refusal = "Your contact's approval is not for this recovery: ask them again."
    admits = True
    admit_errors = ("contact_not_accepted", "contact_is_you")

    # A configuration ----------------------------------------------------------------------

    def parse(self, where: str, entry: Mapping[str, Any], guardian: Guardian) -> Guardian:
        account = entry["account"]
        if not isinstance(account, str) or not account:
            raise invalid(f"{where}.account: expected the contact's account id")
        return replace(guardian, data={"account": account})

    def entry_values(self, guardian: Guardian) -> dict[str, Any]:
        return {"account": contact_of(guardian)}

    def admit(self, tx: Transaction, account_id: str, where: str, guardian: Guardian) -> None:
        # Only someone who said yes with their own passkey: a name typed here could be a
        # stranger's, who would then approve recoveries of this account.
        contact = contact_of(guardian)
        if contact == account_id:
            raise BadRequest(
                f"{where}.account: that is this account; a trusted contact is someone else.",
                code="contact_is_you",
            )
        if not contacts.is_accepted(tx, account_id, contact):
            raise BadRequest(
                f"{where}.account: that person has not accepted this account's invitation"
                " (POST /api/contacts/invite), or gave it up; only a contact who accepted can"
                " be a guardian.",
                code="contact_not_accepted",
            )

    # A recovery ---------------------------------------------------------------------------

    def public_values(self, row: Row) -> dict[str, Any]:
        return {}  # never the contact's account: who vouches for whom is theirs to know

    def decoy_maker(self, key: bytes) -> DecoyMaker:
        return self._decoy

    def _decoy(self, guardian_id: str, material: bytes) -> DecoyGuardian:
        account = b64url_encode(material[:ACCOUNT_ID_BYTES])
        return self.decoy_guardian(guardian_id, {}, data={"account": account})

    def bound_to(self, approved: Approved, message: bytes) -> bool:
        return approved.effect.get("message_sha256") == message_digest(message)

    def hold(self, tx: Transaction, approved: Approved, *, account_id: str) -> None:
        self._still_contact(tx, approved, account_id)

    def apply(
        self,
        tx: Transaction,
        approved: Approved,
        *,
        account_id: str,
        recovery_id: str,
        now: int,
    ) -> None:
        # A contact who gave it up after approving (a held recovery waits days) no longer
        # vouches: the recovery is refused, and the owner keeps the account.
        self._still_contact(tx, approved, account_id)

    def _still_contact(self, tx: Transaction, approved: Approved, account_id: str) -> None:
        if not contacts.is_accepted(tx, account_id, str(approved.effect.get("contact"))):
            raise self.refuse(approved.guardian_id)


KIND = Contact()

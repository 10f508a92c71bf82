"""A mailbox vouches for the owner: a one-time code mailed to it approves one recovery.

The owner adds the account's verified address (vouch.server.email_addresses) as a guardian;
the entry keeps the address as signed, so verifying another address later changes no
guardian (the code still goes where the owner confirmed it should). Nothing is proven in
the page: during a recovery the server mails a code (/api/recovery/email/send), and when it
comes back (/api/recovery/email/verify) records the approval in recovery_approvals, which
execute then counts (vouch.server.recovery_email_codes, vouch.server.routes.recovery_email).

It is the weakest guardian: whoever reads the mailbox approves. A recovering user is shown
no address, and a decoy's email guardian (an address at example.invalid that no mail is
sent to) goes through the same code and refuses codes with the same sentence.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, ClassVar

from vouch.core.b64url import b64url_encode
from vouch.core.kinds import EMAIL
from vouch.server import email_addresses
from vouch.server.errors import BadRequest
from vouch.server.kinds.base import DecoyGuardian, DecoyMaker, Guardian, ServerKind, invalid
from vouch.server.schemas import JSONSchema
from vouch.server.storage import Row, Transaction

ADDRESS_SCHEMA: JSONSchema = {
    "type": "string",
    "minLength": 3,
    "maxLength": email_addresses.MAX_ADDRESS_CHARS,
    "description": "the account's verified address (GET /api/account, email)",
}
# Where a decoy's codes "go": a reserved domain (RFC 2606), never mailed.
DECOY_DOMAIN = "example.invalid"


def address_of(guardian: Guardian) -> str:
    """Where this guardian's codes are mailed."""
    return str(guardian.data["address"])


class Email(ServerKind):
    kind = EMAIL
    config_schema: ClassVar[Mapping[str, JSONSchema]] = {"address": ADDRESS_SCHEMA}
    public_schema: ClassVar[Mapping[str, JSONSchema]] = {}
    refusal = "That code is not right. Check the latest mail, or send a new code."
    admits = True
    admit_errors = ("email_not_verified",)

    # A configuration ----------------------------------------------------------------------

    def parse(self, where: str, entry: Mapping[str, Any], guardian: Guardian) -> Guardian:
        try:
            address = email_addresses.normalize_address(str(entry["address"]))
        except BadRequest as exc:
            raise invalid(f"{where}.address: {exc.message}") from exc
        return replace(guardian, data={"address": address})

    def entry_values(self, guardian: Guardian) -> dict[str, Any]:
        return {"address": address_of(guardian)}

    def admit(self, tx: Transaction, account_id: str, where: str, guardian: Guardian) -> None:
        # Only a mailbox the owner has proven: an address typed here and never verified
        # could be anyone's, and that person would then approve recoveries.
        verified = email_addresses.verified_address(tx, account_id)
        address = address_of(guardian)
        if verified == address:
            return
        if verified is None:
            detail = "this account has no verified email address: verify one first"
        else:
            detail = f"{address!r} is not this account's verified address ({verified!r})"
        raise BadRequest(
            f"{where}.address: {detail} (POST /api/account/email); only a verified address"
            " can be a guardian.",
            code="email_not_verified",
        )

    # A recovery ---------------------------------------------------------------------------

    def public_values(self, row: Row) -> dict[str, Any]:
        return {}  # never the address: see the module's docstring

    def decoy_maker(self, key: bytes) -> DecoyMaker:
        return self._decoy

    def _decoy(self, guardian_id: str, material: bytes) -> DecoyGuardian:
        address = f"{b64url_encode(material[:12]).lower()}@{DECOY_DOMAIN}"
        return self.decoy_guardian(guardian_id, {}, data={"address": address})


KIND = Email()

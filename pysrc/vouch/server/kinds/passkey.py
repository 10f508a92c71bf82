"""A second passkey or security key: a credential the owner registered as a guardian
(/api/guardians/passkey), which never signs in. It approves with a WebAuthn assertion whose
challenge is SHA-256 of the recovery message; a recovery records its new counter.

A recovery start says nothing of it but that it exists: the key is discoverable, so the
authenticator finds it without being told its credential ID. An ID handed to anyone who
types an account name would let them aim sign-in attempts at it and tell real accounts
from decoys by how a sign-in with it is refused."""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar

import cbor2
from cryptography.hazmat.primitives.asymmetric import ec

from vouch.core.b64url import b64url_encode
from vouch.core.kinds import PASSKEY
from vouch.core.messages import webauthn_challenge_for
from vouch.server import ceremonies, schemas
from vouch.server.api import loggable
from vouch.server.errors import VerificationFailed
from vouch.server.kinds.base import (
    Approved,
    CredentialState,
    DecoyGuardian,
    DecoyMaker,
    Guardian,
    ServerKind,
)
from vouch.server.schemas import JSONSchema
from vouch.server.storage import Row, Transaction

if TYPE_CHECKING:
    from vouch.server.context import Context

log = logging.getLogger("vouch.server.kinds.passkey")

CREDENTIAL_ID_BYTES = 32  # a decoy's: what authenticators commonly make


def decoy_public_key(key: bytes) -> bytes:
    """The COSE key decoy passkey guardians "have": one P-256 key per server decoy key, so a
    crafted assertion is checked by the same py_webauthn code as for a real guardian, and
    fails the same way."""
    seed = hmac.new(key, b"vouch/decoy/v1/passkey-key", hashlib.sha256).digest()
    private = ec.derive_private_key(int.from_bytes(seed, "big") % (2**255) + 1, ec.SECP256R1())
    numbers = private.public_key().public_numbers()
    return cbor2.dumps(
        {1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")}
    )


class Passkey(ServerKind):
    kind = PASSKEY
    config_schema: ClassVar[Mapping[str, JSONSchema]] = {
        "credential_id": schemas.b64url("guardian passkey credential ID")
    }
    public_schema: ClassVar[Mapping[str, JSONSchema]] = {}
    proof_schema: ClassVar[JSONSchema | None] = schemas.WEBAUTHN_CREDENTIAL
    refusal = "That passkey is not a guardian of this account."

    def parse(self, where: str, entry: Mapping[str, Any], guardian: Guardian) -> Guardian:
        # That it names a guardian passkey of this account is checked with the whole
        # configuration (`vouch.server.guardians.parse_config`).
        return replace(guardian, credential_id=str(entry["credential_id"]))

    def entry_values(self, guardian: Guardian) -> dict[str, Any]:
        return {"credential_id": guardian.credential_id}

    def public_values(self, row: Row) -> dict[str, Any]:
        return {}

    def decoy_maker(self, key: bytes) -> DecoyMaker:
        return functools.partial(self._decoy, CredentialState(decoy_public_key(key), 0))

    def _decoy(
        self, credential: CredentialState, guardian_id: str, material: bytes
    ) -> DecoyGuardian:
        credential_id = b64url_encode(material[:CREDENTIAL_ID_BYTES])
        return self.decoy_guardian(
            guardian_id,
            {},
            credential_id=credential_id,
            credential=credential,
        )

    async def verify(
        self, context: Context, guardian: Guardian, approval: Mapping[str, Any], *, message: bytes
    ) -> Approved:
        assertion = approval["assertion"]
        state = guardian.credential
        if assertion.get("id") != guardian.credential_id or state is None:
            raise self.refuse(guardian.id)
        try:
            sign_count = ceremonies.verify_authentication(
                context.config,
                dict(assertion),
                challenge=webauthn_challenge_for(message),
                public_key=state.public_key,
                sign_count=state.sign_count,
            )
        except VerificationFailed as exc:
            log.info("passkey guardian %s refused: %s", guardian.id, loggable(exc.message))
            raise self.refuse(guardian.id) from exc
        return Approved(
            guardian.id,
            self.name,
            effect={"credential_id": guardian.credential_id, "sign_count": sign_count},
        )

    def apply(
        self,
        tx: Transaction,
        approved: Approved,
        *,
        account_id: str,
        recovery_id: str,
        now: int,
    ) -> None:
        sign_count = approved.effect["sign_count"]
        used = tx.execute(
            "UPDATE credentials SET last_used_at = ?,"
            " sign_count = CASE WHEN sign_count < ? THEN ? ELSE sign_count END"
            " WHERE id = ? AND account_id = ? AND revoked_at IS NULL",
            (now, sign_count, sign_count, approved.effect["credential_id"], account_id),
        )
        if used != 1:
            raise self.refuse(approved.guardian_id)


KIND = Passkey()

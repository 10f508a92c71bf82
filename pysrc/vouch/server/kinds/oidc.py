"""An identity at an OpenID provider (Google, or any other configured one) vouches for the owner.

The owner links it when confirming a change: the entry names the provider and a salt the
page chose, and the change carries an ID token (`links`) whose nonce is
base64url(SHA-256(guardians message)), so a token obtained for anything but this very
change links nothing. From it the server keeps the issuer, the audience and
HMAC-SHA256(salt, sub), never the token, the address or any other claim: a database read
does not say who the guardian is, and the same identity linked to two accounts looks
unrelated.

At recovery the page sends an ID token whose nonce is base64url(SHA-256(recovery message)),
bound to this account, this challenge and this new passkey as a signature would be. It is
checked by `vouch.server.oidc.provider` (signature, algorithms, iss, aud and azp, exp, iat,
nonce), then the sub commitment, then that it was not used before; its hash is written in
the transaction that executes the recovery, so it approves once.

A decoy's OpenID guardian names one of the configured providers (from its decoy stream, so
the same name always shows the same provider) and holds a commitment no sub matches: a
token is checked exactly as for a real account and refused with the same sentence.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar

from vouch.core.b64url import b64url_encode
from vouch.core.kinds import OIDC
from vouch.core.messages import oidc_nonce_for
from vouch.server.errors import IdTokenRefused, ProviderUnavailable
from vouch.server.kinds import _ed25519
from vouch.server.kinds.base import (
    Approved,
    DecoyGuardian,
    DecoyMaker,
    Guardian,
    ServerKind,
    invalid,
)
from vouch.server.oidc.provider import MAX_TOKEN_CHARS, Provider, Providers
from vouch.server.schemas import JSONSchema
from vouch.server.storage import Row, Transaction

if TYPE_CHECKING:
    from vouch.server.context import Context

PROVIDER_SCHEMA: JSONSchema = {
    "type": "string",
    "pattern": "^[a-z0-9][a-z0-9_-]{0,31}$",
    "description": "a configured OpenID provider's name (GET /api/config, oidc_providers)",
}
ID_TOKEN_SCHEMA: JSONSchema = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_TOKEN_CHARS,
    "description": "OpenID Connect ID token (compact JWS)",
}
_COMMITMENT = b"vouch/v1/oidc-sub\n"
_DECOY_COMMITMENT_AT = 32  # after the salt, as the signature kinds' keys start


def commitment(salt: bytes, sub: str) -> str:
    return b64url_encode(hmac.new(salt, _COMMITMENT + sub.encode(), hashlib.sha256).digest())


def token_hash(token: str) -> str:
    return b64url_encode(hashlib.sha256(token.encode()).digest())


class OpenIDConnect(ServerKind):
    kind = OIDC
    config_schema: ClassVar[Mapping[str, JSONSchema]] = {
        "provider": PROVIDER_SCHEMA,
        "salt": _ed25519.SALT_SCHEMA,
    }
    public_schema: ClassVar[Mapping[str, JSONSchema]] = {"provider": PROVIDER_SCHEMA}
    owner_schema: ClassVar[Mapping[str, JSONSchema]] = {
        "issuer": {"type": "string", "description": "the linked identity's issuer"},
        "audience": {"type": "string", "description": "the client ID it was linked with"},
    }
    proof_schema: ClassVar[JSONSchema | None] = ID_TOKEN_SCHEMA
    link_schema: ClassVar[JSONSchema | None] = ID_TOKEN_SCHEMA
    refusal = "That account is not the one linked to this guardian."

    def __init__(self, providers: Providers):
        self.providers = providers

    # A configuration ----------------------------------------------------------------------

    def parse(self, where: str, entry: Mapping[str, Any], guardian: Guardian) -> Guardian:
        name = str(entry["provider"])
        if self.providers.get(name) is None:
            raise invalid(
                f"{where}.provider is {name!r}, expected one of"
                f" {', '.join(self.providers.names()) or 'no provider (none is configured)'}"
            )
        salt = _ed25519.parse_salt(where, entry)
        return replace(guardian, salt=salt, data={"provider": name})

    def entry_values(self, guardian: Guardian) -> dict[str, Any]:
        return {"provider": guardian.data["provider"], "salt": _ed25519.encode_salt(guardian)}

    def owner_values(self, guardian: Guardian) -> dict[str, Any]:
        return {"issuer": guardian.data["issuer"], "audience": guardian.data["audience"]}

    async def link(
        self, context: Context, guardian: Guardian, proof: Any, *, message: bytes
    ) -> Guardian:
        provider = self._provider(guardian)
        claims = await provider.verify(str(proof), nonce=oidc_nonce_for(message))
        assert guardian.salt is not None
        return replace(
            guardian,
            data={
                "provider": provider.name,
                "issuer": provider.settings.issuer,
                "audience": provider.settings.client_id,
                "commitment": commitment(guardian.salt, claims["sub"]),
            },
        )

    def keeps_link(self, guardian: Guardian, stored: Guardian) -> Guardian | None:
        same = (
            stored.kind == guardian.kind
            and stored.salt == guardian.salt
            and stored.data.get("provider") == guardian.data["provider"]
        )
        return replace(guardian, data=dict(stored.data)) if same else None

    def _provider(self, guardian: Guardian) -> Provider:
        provider = self.providers.get(str(guardian.data.get("provider")))
        if provider is None:
            raise ProviderUnavailable(
                f"This guardian signs in with {guardian.data.get('provider')!r}, which this"
                " server no longer accepts: use another guardian.",
                extra={"guardian_id": guardian.id},
            )
        return provider

    # A recovery ---------------------------------------------------------------------------

    def public_values(self, row: Row) -> dict[str, Any]:
        return {"provider": json.loads(row["data"])["provider"]}

    def decoy_maker(self, key: bytes) -> DecoyMaker:
        return functools.partial(self._decoy, self.providers.names())

    def _decoy(self, names: tuple[str, ...], guardian_id: str, material: bytes) -> DecoyGuardian:
        provider = self.providers.get(names[material[-1] % len(names)])
        assert provider is not None
        data = {
            "provider": provider.name,
            "issuer": provider.settings.issuer,
            "audience": provider.settings.client_id,
            "commitment": b64url_encode(material[_DECOY_COMMITMENT_AT : _DECOY_COMMITMENT_AT + 32]),
        }
        salt = _ed25519.decoy_salt(material)
        return self.decoy_guardian(
            guardian_id,
            {"data": json.dumps({"provider": provider.name})},
            salt=salt,
            data=data,
        )

    async def verify(
        self, context: Context, guardian: Guardian, approval: Mapping[str, Any], *, message: bytes
    ) -> Approved:
        token = str(approval["id_token"])
        provider = self._provider(guardian)
        try:
            claims = await provider.verify(token, nonce=oidc_nonce_for(message))
        except (IdTokenRefused, ProviderUnavailable) as exc:
            exc.extra.setdefault("guardian_id", guardian.id)
            raise
        data = guardian.data
        assert guardian.salt is not None
        # Linked through another client ID or issuer (the setting changed since): the
        # provider's checks above were against today's; the guardian holds its own.
        same_client = claims["iss"] == data["issuer"] and _audiences(claims) >= {data["audience"]}
        expected = str(data["commitment"])
        if not hmac.compare_digest(commitment(guardian.salt, claims["sub"]), expected) or (
            not same_client
        ):
            raise self.refuse(guardian.id)
        digest = token_hash(token)
        used = await context.database.run(
            lambda tx: tx.one("SELECT hash FROM used_id_tokens WHERE hash = ?", (digest,))
        )
        if used is not None:
            raise _used(guardian.id)
        return Approved(
            guardian.id, self.name, effect={"token_hash": digest, "expires_at": int(claims["exp"])}
        )

    def hold(self, tx: Transaction, approved: Approved, *, account_id: str) -> None:
        # Used when the recovery is executed, held or not: a held recovery's token is
        # written now, and found again (its own) when the recovery completes.
        self._consume(tx, approved, account_id)

    def apply(
        self,
        tx: Transaction,
        approved: Approved,
        *,
        account_id: str,
        recovery_id: str,
        now: int,
    ) -> None:
        self._consume(tx, approved, account_id)

    def _consume(self, tx: Transaction, approved: Approved, account_id: str) -> None:
        digest = approved.effect["token_hash"]
        added = tx.execute(
            "INSERT INTO used_id_tokens (hash, account_id, guardian_id, expires_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (hash) DO NOTHING",
            (digest, account_id, approved.guardian_id, approved.effect["expires_at"]),
        )
        if added == 1:
            return
        # Already written: by this recovery's hold (a token's nonce binds it to one recovery
        # message, so no other recovery can have used it), or else a replay.
        row = tx.one("SELECT account_id, guardian_id FROM used_id_tokens WHERE hash = ?", (digest,))
        if row is None or (row["account_id"], row["guardian_id"]) != (
            account_id,
            approved.guardian_id,
        ):
            raise _used(approved.guardian_id)
        # (A held recovery completing: its token was written when it was executed.)


def _audiences(claims: Mapping[str, Any]) -> set[str]:
    audience = claims["aud"]
    return {audience} if isinstance(audience, str) else {str(item) for item in audience}


def _used(guardian_id: str) -> IdTokenRefused:
    return IdTokenRefused(
        "This ID token was already used: sign in again to get a new one.",
        code="id_token_used",
        status=409,
        extra={"guardian_id": guardian_id},
    )

"""Signed-in owners read and replace their guardians and threshold.

A new configuration is accepted only with a fresh assertion from one of the account's
sign-in passkeys whose challenge is SHA-256 of `guardians_message(account, challenge,
config)`, the challenge being single-use and issued to this account: an old confirmation
cannot be replayed to roll the configuration back.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from vouch.core.b64url import b64url_encode
from vouch.core.errors import MalformedInput
from vouch.core.messages import GuardiansChange, guardians_message, webauthn_challenge_for
from vouch.server import accounts, audit, ceremonies, challenges, schemas, sessions
from vouch.server import guardians as guardian_store
from vouch.server.api import Endpoint, JSONResponse, body_schema, decode_b64, read_body
from vouch.server.context import Context, context_of
from vouch.server.errors import BadRequest, ChallengeError, Conflict
from vouch.server.kinds import Guardian, KindRegistry
from vouch.server.kinds.base import invalid
from vouch.server.outbox.events import emit
from vouch.server.routes._common import (
    confirmation_options,
    confirmation_response,
    own_signin_passkey,
    record_passkey_use,
)
from vouch.server.storage import Row, Transaction

CHANGE_PURPOSE = "guardians"
PASSKEY_PURPOSE = "guardian_passkey"

ADD_PASSKEY = body_schema(
    {"challenge_id": schemas.CHALLENGE_ID, "credential": schemas.WEBAUTHN_CREDENTIAL}
)


@dataclass(frozen=True)
class KindSchemas:
    """The schemas that depend on the guardian kinds a server runs."""

    config: schemas.JSONSchema
    put: schemas.JSONSchema
    response: schemas.JSONSchema


@functools.cache
def kind_schemas(kinds: KindRegistry) -> KindSchemas:
    """Built once per registry (and kept: read_body compiles a schema once, by identity)."""
    config: schemas.JSONSchema = {
        "type": "object",
        "description": "threshold m of n guardians (1 <= m <= n); {threshold: 0, guardians: []}"
        " removes every guardian",
        "properties": {
            "threshold": {
                "type": "integer",
                "minimum": 0,
                "maximum": guardian_store.MAX_GUARDIANS,
            },
            "guardians": {
                "type": "array",
                "items": kinds.entry_schema,
                "maxItems": guardian_store.MAX_GUARDIANS,
            },
        },
        "required": ["threshold", "guardians"],
        "additionalProperties": False,
    }
    links: dict[str, schemas.JSONSchema] = {}
    if kinds.link_schema is not None:
        links["links"] = {
            "type": "array",
            "items": kinds.link_schema,
            "maxItems": guardian_store.MAX_GUARDIANS,
            "description": "one link per new guardian of a linked kind (an OpenID identity)",
        }
    put = body_schema(
        {
            "challenge_id": schemas.CHALLENGE_ID,
            "config": config,
            "assertion": schemas.WEBAUTHN_CREDENTIAL,
        },
        links,
    )
    response: schemas.JSONSchema = {
        "type": "object",
        "properties": {
            "threshold": {"type": "integer"},
            "guardians": {"type": "array", "items": kinds.owner_schema},
        },
        "required": ["threshold", "guardians"],
    }
    return KindSchemas(config=config, put=put, response=response)


async def change_options(request: Request) -> Response:
    """A single-use challenge for confirming a new configuration, and request options that
    only the account's sign-in passkeys can answer (the page swaps in the message hash)."""
    context = context_of(request)
    token = sessions.bearer_token(request)
    await read_body(request, schemas.EMPTY_OBJECT, context.config.max_body_bytes)

    def work(tx: Transaction) -> JSONResponse:
        account = sessions.session_account(tx, context, token)
        return JSONResponse(confirmation_options(tx, context, account["id"], CHANGE_PURPOSE))

    return await context.database.run(work)


def guardian_user_handle(account_id: str) -> bytes:
    """The WebAuthn user handle of an account's guardian keys: not the account's own, since
    an authenticator replaces a discoverable credential that has the same RP and user handle
    (a passkey made on the guardian key in a recovery would otherwise overwrite it)."""
    return hashlib.sha256(b"vouch/guardian-passkey/v1" + account_id.encode()).digest()


async def passkey_options(request: Request) -> Response:
    """Creation options for a guardian passkey (a security key, another device's passkey).

    Discoverable, so that a recovery can ask for it without naming its credential ID (see
    `vouch.server.kinds.passkey`); the picker shows it as "<name> (recovery)"."""
    context = context_of(request)
    token = sessions.bearer_token(request)
    await read_body(request, schemas.EMPTY_OBJECT, context.config.max_body_bytes)

    def work(tx: Transaction) -> JSONResponse:
        account = sessions.session_account(tx, context, token)
        issued = challenges.issue(tx, context, PASSKEY_PURPOSE, account_id=account["id"])
        exclude = [
            decode_b64(row["id"], what="credential id")
            for row in accounts.active_credentials(tx, account["id"])
        ]
        options = ceremonies.registration_options(
            context.config,
            user_id=guardian_user_handle(account["id"]),
            username=f"{account['username']} (recovery)",
            challenge=issued.challenge,
            exclude=exclude,
        )
        return JSONResponse({"challenge_id": issued.id, "options": options})

    return await context.database.run(work)


def _own_challenge(
    tx: Transaction, context: Context, challenge_id: str, purpose: str, account_id: str
) -> challenges.Challenge:
    challenge = challenges.consume(tx, context, challenge_id, purpose)
    if challenge.account_id != account_id:
        raise ChallengeError("This challenge was issued to another account: start again.")
    return challenge


async def add_passkey(request: Request) -> Response:
    """Register a guardian passkey. It approves nothing until a confirmed configuration
    names it, and it never signs in."""
    context = context_of(request)
    token = sessions.bearer_token(request)
    body = await read_body(request, ADD_PASSKEY, context.config.max_body_bytes)
    user_agent = request.headers.get("user-agent")

    def work(tx: Transaction) -> JSONResponse:
        account = sessions.session_account(tx, context, token)
        challenge = _own_challenge(
            tx, context, body["challenge_id"], PASSKEY_PURPOSE, account["id"]
        )
        credential = ceremonies.verify_registration(
            context.config, body["credential"], challenge=challenge.challenge
        )
        if accounts.credential_exists(tx, b64url_encode(credential.id)):
            raise Conflict("This passkey is already registered.", code="credential_exists")
        credential_id = accounts.add_credential(
            tx,
            account_id=account["id"],
            credential=credential,
            now=context.now(),
            role=accounts.GUARDIAN,
        )
        added = {"passkey": credential_id}  # the audit and event field, not the kind
        audit.record(tx, context, account["id"], "guardian_passkey_added", added)
        emit(
            tx,
            context,
            account_id=account["id"],
            username=account["username"],
            event="passkey.added",
            data={**added, "role": "guardian"},
            user_agent=user_agent,
        )
        return JSONResponse({"credential_id": credential_id})

    return await context.database.run(work)


async def _linked(
    context: Context, token: str, body: Mapping[str, Any]
) -> tuple[bytes | None, dict[str, Guardian]]:
    """The new guardians the change links (`links`), verified over the guardians message,
    and the challenge they were verified with (None without links).

    Their proofs may need the network (an OpenID provider's keys), so they are checked
    before the transaction, against the challenge read but not consumed; the transaction
    then consumes that same challenge, or refuses."""
    links = body.get("links") or []
    if not links:
        return None, {}
    config = body["config"]

    def peek(tx: Transaction) -> tuple[str, bytes]:
        account = sessions.session_account(tx, context, token)
        challenge = challenges.peek(tx, context, body["challenge_id"], CHANGE_PURPOSE)
        if challenge.account_id != account["id"]:
            raise ChallengeError("This challenge was issued to another account: start again.")
        return account["id"], challenge.challenge

    account_id, challenge = await context.database.run(peek)
    try:
        message = guardians_message(GuardiansChange(account_id, challenge, config))
    except MalformedInput as exc:
        raise BadRequest(str(exc), code="invalid_guardians") from exc
    entries = {str(entry.get("id")): (n, entry) for n, entry in enumerate(config["guardians"])}
    linked: dict[str, Guardian] = {}
    for n, link in enumerate(links):
        guardian_id = link["guardian_id"]
        if guardian_id not in entries:
            raise invalid(f"links[{n}] names guardian {guardian_id!r}, not in the configuration")
        if guardian_id in linked:
            raise invalid(f"links[{n}] links guardian {guardian_id!r} twice")
        index, entry = entries[guardian_id]
        guardian = guardian_store.parse_guardian(
            index, entry, now=context.now(), kinds=context.kinds
        )
        kind = context.kinds[guardian.kind]
        proof = link.get(kind.kind.proof_field)
        if kind.link_schema is None or proof is None:
            raise invalid(
                f"links[{n}] has no {kind.kind.proof_field} for guardian {guardian_id!r}"
                f" ({guardian.kind} guardians are not linked that way)"
            )
        linked[guardian_id] = await kind.link(context, guardian, proof, message=message)
    return challenge, linked


async def replace_guardians(request: Request) -> Response:
    context = context_of(request)
    token = sessions.bearer_token(request)
    body = await read_body(request, kind_schemas(context.kinds).put, context.config.max_body_bytes)
    config = body["config"]
    assertion = body["assertion"]
    user_agent = request.headers.get("user-agent")
    linked_with, linked = await _linked(context, token, body)

    def work(tx: Transaction) -> JSONResponse:
        account = sessions.session_account(tx, context, token)
        account_id = account["id"]
        guardian_passkeys = [
            row["id"] for row in accounts.active_credentials(tx, account_id, accounts.GUARDIAN)
        ]
        threshold, guardians = guardian_store.parse_config(
            config, guardian_credentials=guardian_passkeys, now=context.now(), kinds=context.kinds
        )
        challenge = _own_challenge(tx, context, body["challenge_id"], CHANGE_PURPOSE, account_id)
        if linked_with is not None and challenge.challenge != linked_with:
            raise ChallengeError("This challenge changed while the change was checked.")
        guardians = guardian_store.with_links(
            tx, account_id, guardians, linked, kinds=context.kinds
        )
        guardian_store.admit(tx, account_id, guardians, kinds=context.kinds)
        stored = accounts.find_credential(tx, assertion["id"])
        if stored is not None and stored.revoked and stored.account_id == account_id:
            _not_recovered_since(tx, account)  # revoked by a recovery that just committed?
        stored = own_signin_passkey(
            stored, account_id, "Confirm the change with one of this account's sign-in passkeys."
        )
        try:
            message = guardians_message(GuardiansChange(account_id, challenge.challenge, config))
        except MalformedInput as exc:
            raise BadRequest(str(exc), code="invalid_guardians") from exc
        sign_count = ceremonies.verify_authentication(
            context.config,
            assertion,
            challenge=webauthn_challenge_for(message),
            public_key=stored.public_key,
            sign_count=stored.sign_count,
        )
        # The account row is written (and on PostgreSQL locked) before the passkey's: a
        # recovery takes the same order (the account, then its passkeys, guardians and
        # sessions), so when the two race one waits for the other instead of deadlocking.
        saved = guardian_store.save(
            tx,
            account_id,
            threshold=threshold,
            guardians=guardians,
            expected_version=account["guardians_version"],
            kinds=context.kinds,
        )
        _not_recovered_since(tx, account)
        record_passkey_use(tx, context, stored, sign_count)
        audit.record(
            tx,
            context,
            account_id,
            "guardians_changed",
            {
                "threshold": threshold,
                "guardians": [{"id": g.id, "kind": g.kind, "label": g.label} for g in saved],
                "passkey": stored.id,
            },
        )
        emit(
            tx,
            context,
            account_id=account_id,
            username=account["username"],
            event="guardians.changed",
            data={
                "threshold": threshold,
                "guardians": [{"id": g.id, "kind": g.kind, "label": g.label} for g in saved],
            },
            user_agent=user_agent,
        )
        described = [guardian_store.owner_descriptor(g, context.kinds) for g in saved]
        return JSONResponse({"threshold": threshold, "guardians": described})

    return await context.database.run(work)


def _not_recovered_since(tx: Transaction, account: Row) -> None:
    """Conflict if the account was recovered after `account` (its session's row) was read:
    a recovery committed while this change was under way, and replaced the session and the
    passkey confirming it. Read after the account row's lock, it sees that recovery."""
    row = tx.one("SELECT recovered_at FROM accounts WHERE id = ?", (account["id"],))
    if row is not None and row["recovered_at"] == account["recovered_at"]:
        return
    raise Conflict(
        "This account was recovered on another device while the change was being saved:"
        " its passkeys and sessions were replaced. Sign in again.",
        code="account_recovered",
    )


@functools.cache
def endpoints(kinds: KindRegistry) -> tuple[Endpoint, ...]:
    """This module's endpoints, with the schemas of `kinds` (built once per registry)."""
    return (*_ENDPOINTS, _replace_endpoint(kinds))


_ENDPOINTS = [
    Endpoint(
        "POST",
        "/api/guardians/options",
        "A challenge and request options for confirming a new guardian configuration",
        change_options,
        request_schema=schemas.EMPTY_OBJECT,
        response_schema=confirmation_response(
            "guardians message", "guardians_message(account, challenge, config)"
        ),
        errors=("unauthorized",),
        authenticated=True,
        tag="guardians",
    ),
    Endpoint(
        "POST",
        "/api/guardians/passkey/options",
        "Creation options for a guardian passkey or security key",
        passkey_options,
        request_schema=schemas.EMPTY_OBJECT,
        response_schema=schemas.CEREMONY_OPTIONS,
        errors=("unauthorized",),
        authenticated=True,
        tag="guardians",
    ),
    Endpoint(
        "POST",
        "/api/guardians/passkey",
        "Register a guardian passkey (usable once a confirmed configuration names it)",
        add_passkey,
        request_schema=ADD_PASSKEY,
        response_schema={
            "type": "object",
            "properties": {"credential_id": schemas.b64url("credential ID")},
            "required": ["credential_id"],
        },
        errors=(
            "unauthorized",
            "invalid_challenge",
            "challenge_used",
            "challenge_expired",
            "verification_failed",
            "credential_exists",
        ),
        authenticated=True,
        tag="guardians",
    ),
]


def _replace_endpoint(kinds: KindRegistry) -> Endpoint:
    built = kind_schemas(kinds)
    return Endpoint(
        "PUT",
        "/api/guardians",
        "Replace the guardians and threshold, confirmed with a passkey assertion",
        replace_guardians,
        request_schema=built.put,
        response_schema=built.response,
        errors=(
            "unauthorized",
            "invalid_guardians",
            "invalid_challenge",
            "challenge_used",
            "challenge_expired",
            "unknown_credential",
            "verification_failed",
            "guardians_changed",
            "account_recovered",
            *dict.fromkeys(code for kind in kinds for code in kind.admit_errors),
        ),
        authenticated=True,
        tag="guardians",
    )

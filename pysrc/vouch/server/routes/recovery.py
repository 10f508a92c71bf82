"""Account recovery: start, check one approval, execute, complete after a delay, cancel.

Execute reads in one transaction, verifies outside any transaction (the registration and
every approval), then applies in one transaction whose conditional updates re-check what
could have changed meanwhile. A refusal at any step changes nothing of the account; it is
recorded in the audit log afterwards. Approvals recorded out of band for the recovery are
read with it, counted with the page's, and consumed in the transaction that executes it.
The schemas that depend on the guardian kinds are built once per registry (`kind_schemas`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from starlette.requests import Request
from starlette.responses import Response

from vouch.core.errors import MalformedInput
from vouch.core.messages import NewCredential, recovery_message
from vouch.core.usernames import InvalidUsername, normalize_username
from vouch.server import (
    approvals,
    audit,
    ceremonies,
    guesses,
    ratelimit,
    recovery,
    recovery_approvals,
    schemas,
    sessions,
)
from vouch.server.api import (
    Endpoint,
    JSONResponse,
    body_schema,
    client_address,
    decode_b64,
    read_body,
)
from vouch.server.context import Context, context_of
from vouch.server.errors import BadRequest, VouchError
from vouch.server.kinds import GuardianSet, KindRegistry
from vouch.server.recovery import Plan, Recovery
from vouch.server.routes._common import audience_of, signed_in
from vouch.server.storage import Row, Transaction

START = body_schema({"username": schemas.USERNAME})
NEW_CREDENTIAL: schemas.JSONSchema = {
    "type": "object",
    "properties": {
        "id": schemas.b64url("new credential ID", max_length=1400),
        "public_key_sha256": schemas.b64url_bytes(
            "SHA-256 of the new credential's SubjectPublicKeyInfo", 32
        ),
    },
    "required": ["id", "public_key_sha256"],
    "additionalProperties": False,
}
COMPLETE = body_schema({"recovery_id": schemas.RECOVERY_ID}, {"audience": schemas.AUDIENCE})
CANCEL = body_schema({"recovery_id": schemas.RECOVERY_ID})


@dataclass(frozen=True)
class KindSchemas:
    """The schemas that depend on the guardian kinds a server runs."""

    check: schemas.JSONSchema
    execute: schemas.JSONSchema
    start_response: schemas.JSONSchema


@functools.cache
def kind_schemas(kinds: KindRegistry) -> KindSchemas:
    """Built once per registry (and kept: read_body compiles a schema once, by identity)."""
    approval = kinds.approval_schema
    check = body_schema(
        {
            "recovery_id": schemas.RECOVERY_ID,
            "new_credential": NEW_CREDENTIAL,
            "approval": approval,
        }
    )
    execute = body_schema(
        {
            "recovery_id": schemas.RECOVERY_ID,
            "credential": schemas.WEBAUTHN_CREDENTIAL,
            "approvals": {"type": "array", "items": approval, "minItems": 1, "maxItems": 16},
        },
        {"audience": schemas.AUDIENCE},
    )
    start_response: schemas.JSONSchema = {
        "type": "object",
        "properties": {
            "recovery_id": schemas.RECOVERY_ID,
            "account": {"type": "string"},
            "username": {"type": "string"},
            "challenge": schemas.b64url_bytes("recovery challenge", 32),
            "expires": schemas.TIME,
            "rp_id": {"type": "string"},
            "threshold": {"type": "integer", "minimum": 1},
            "guardians": {"type": "array", "items": kinds.public_schema},
            "registration": {
                "type": "object",
                "properties": {"options": {"type": "object"}},
                "required": ["options"],
            },
        },
        "required": [
            "recovery_id",
            "account",
            "username",
            "challenge",
            "expires",
            "rp_id",
            "threshold",
            "guardians",
            "registration",
        ],
    }
    return KindSchemas(check=check, execute=execute, start_response=start_response)


COMPLETE_RESPONSE: schemas.JSONSchema = {
    **schemas.SIGNED_IN,
    "properties": {**schemas.SIGNED_IN["properties"], "status": {"const": "complete"}},
    "required": ["status", *schemas.SIGNED_IN["required"]],
}
PENDING_RESPONSE: schemas.JSONSchema = {
    "type": "object",
    "properties": {
        "status": {"const": "pending"},
        "recovery_id": schemas.RECOVERY_ID,
        "effective_at": schemas.TIME,
    },
    "required": ["status", "recovery_id", "effective_at"],
}


async def start(request: Request) -> Response:
    context = context_of(request)
    body = await read_body(request, START, context.config.max_body_bytes)
    try:
        username = normalize_username(body["username"])
    except InvalidUsername as exc:
        raise BadRequest(str(exc), code="invalid_username") from exc
    address = client_address(request)
    user_agent = request.headers.get("user-agent")

    def work(tx: Transaction) -> JSONResponse:
        pair = ratelimit.account_address(username, address)
        ratelimit.hit(
            tx,
            context,
            [("recovery_start_address", address), ("recovery_start_account_address", pair)],
        )
        return JSONResponse(recovery.start(tx, context, username, user_agent=user_agent))

    return await context.database.run(work)


class Loaded(NamedTuple):
    """The read phase's result."""

    recovery: Recovery
    guardian_set: GuardianSet
    recorded: list[Row]  # the approvals recorded out of band for it
    wait: float  # how long its guessable approvals wait (vouch.server.guesses)


def _read(
    context: Context, recovery_id: str, address: str, limit: str, *, recorded: bool = False
) -> Callable[[Transaction], Loaded]:
    """The read phase: the recovery, its guardians, and the attempt counted (and committed);
    with `recorded`, its out-of-band approvals (read only if a guardian gives one)."""

    def work(tx: Transaction) -> Loaded:
        found = recovery.load(tx, recovery_id)
        pair = ratelimit.account_address(found.username, address)
        ratelimit.hit(
            tx, context, [(f"{limit}_address", address), (f"{limit}_account_address", pair)]
        )
        guardian_set = recovery.guardians_of(tx, context, found)
        stored = recovery_approvals.load(tx, context.kinds, found, guardian_set) if recorded else []
        wait = guesses.delay(tx, context, found.username, guardian_set)
        return Loaded(found, guardian_set, stored, wait)

    return work


async def check(request: Request) -> Response:
    """Does this one approval count? Nothing is consumed; attempts are rate-limited."""
    context = context_of(request)
    body = await read_body(
        request, kind_schemas(context.kinds).check, context.config.max_body_bytes
    )
    address = client_address(request)
    found, guardian_set, _, wait = await context.database.run(
        _read(context, body["recovery_id"], address, "recovery_check")
    )
    recovery.check_open(found, context.now())
    ((guardian, approval),) = approvals.match(context.kinds, guardian_set, [body["approval"]])
    new_credential = NewCredential(
        id=decode_b64(body["new_credential"]["id"], what="new_credential.id"),
        public_key_sha256=decode_b64(
            body["new_credential"]["public_key_sha256"], what="new_credential.public_key_sha256"
        ),
    )
    message = _message(context, found, guardian_set, new_credential)
    try:
        await guesses.verify(
            context, guardian, approval, message=message, account=found.username, wait=wait
        )
    except VouchError as exc:
        detail = {"recovery_id": found.id, "guardian": guardian.id, "reason": exc.code}
        audit.record_soon(context, found.account_id, "recovery_check_failed", detail)
        raise
    return JSONResponse({"ok": True, "guardian_id": guardian.id})


def _message(
    context: Context, found: Recovery, guardian_set: GuardianSet, new_credential: NewCredential
) -> bytes:
    try:
        return recovery_message(recovery.request_for(context, found, guardian_set, new_credential))
    except MalformedInput as exc:
        raise BadRequest(str(exc), code="invalid_body") from exc


async def execute(request: Request) -> Response:
    context = context_of(request)
    body = await read_body(
        request, kind_schemas(context.kinds).execute, context.config.max_body_bytes
    )
    audience = audience_of(context, body)
    address = client_address(request)
    found, guardian_set, stored, wait = await context.database.run(
        _read(context, body["recovery_id"], address, "recovery_execute", recorded=True)
    )
    attempted = [approval["guardian_id"] for approval in body["approvals"]]
    try:
        recovery.check_open(found, context.now())
        pairs = approvals.match(context.kinds, guardian_set, body["approvals"])
        recorded = recovery_approvals.usable(
            context.kinds, guardian_set, stored, sent=[guardian.id for guardian, _ in pairs]
        )
        approvals.require_threshold(
            context.kinds, guardian_set, sent=len(pairs), recorded=len(recorded)
        )
        credential = ceremonies.verify_registration(
            context.config, body["credential"], challenge=found.registration_challenge
        )
        message = _message(
            context,
            found,
            guardian_set,
            NewCredential(id=credential.id, public_key_sha256=credential.public_key_sha256),
        )
        recovery_approvals.check_bound(context.kinds, recorded, message)
        approved = [
            await guesses.verify(
                context, guardian, approval, message=message, account=found.username, wait=wait
            )
            for guardian, approval in pairs
        ]
        plan = Plan(credential=credential, approved=(*approved, *recorded))
        user_agent = request.headers.get("user-agent")

        def apply(tx: Transaction) -> dict[str, Any]:
            effective = recovery.mark_executed(tx, context, found, plan)
            # Held or applied now, the recovery is executed: what it used is used.
            recovery_approvals.consume(tx, context, found, plan.approved)
            if effective is not None:
                recovery.hold(
                    tx, context, found, plan, effective_at=effective, user_agent=user_agent
                )
                recovery_id = body["recovery_id"]  # the bearer id, not the stored reference
                return {"status": "pending", "recovery_id": recovery_id, "effective_at": effective}
            session = recovery.apply_plan(tx, context, found, plan, user_agent=user_agent)
            return _complete_body(tx, context, found, session, audience)

        result = await context.database.run(apply)
    except VouchError as exc:
        detail = {"recovery_id": found.id, "guardians": attempted, "reason": exc.code}
        audit.record_soon(context, found.account_id, "recovery_failed", detail)
        raise
    return JSONResponse(result, status_code=202 if result["status"] == "pending" else 200)


def _complete_body(
    tx: Transaction, context: Context, found: Recovery, session: str, audience: str
) -> dict[str, Any]:
    # A recovery's username is the account's (looked up by it at start; never renamed).
    assert found.account_id is not None
    body = signed_in(
        tx,
        context,
        account_id=found.account_id,
        username=found.username,
        audience=audience,
        session=session,
    )
    return {"status": "complete", **body}


async def complete(request: Request) -> Response:
    """Apply a recovery held by --recovery-delay, once the delay has passed."""
    context = context_of(request)
    body = await read_body(request, COMPLETE, context.config.max_body_bytes)
    audience = audience_of(context, body)
    address = client_address(request)
    await ratelimit.enforce(context, [("recovery_execute_address", address)])
    user_agent = request.headers.get("user-agent")

    def work(tx: Transaction) -> dict[str, Any]:
        found, session = recovery.complete(tx, context, body["recovery_id"], user_agent=user_agent)
        return _complete_body(tx, context, found, session, audience)

    return JSONResponse(await context.database.run(work))


async def cancel(request: Request) -> Response:
    """The owner, signed in with an old passkey, stops a pending recovery."""
    context = context_of(request)
    token = sessions.bearer_token(request)
    body = await read_body(request, CANCEL, context.config.max_body_bytes)
    user_agent = request.headers.get("user-agent")

    def work(tx: Transaction) -> dict[str, Any]:
        account = sessions.session_account(tx, context, token)
        recovery.cancel(tx, context, account["id"], body["recovery_id"], user_agent=user_agent)
        return {"status": "cancelled"}

    return JSONResponse(await context.database.run(work))


@functools.cache
def endpoints(kinds: KindRegistry) -> tuple[Endpoint, ...]:
    """This module's endpoints, with the schemas of `kinds` (built once per registry)."""
    built = kind_schemas(kinds)
    return (
        Endpoint(
            "POST",
            "/api/recovery/start",
            "Start recovering an account: a challenge, the guardians (no public keys), and"
            " creation options for the new passkey. Unknown accounts get a stable decoy.",
            start,
            request_schema=START,
            response_schema=built.start_response,
            errors=("invalid_username", "rate_limited"),
            tag="recovery",
        ),
        Endpoint(
            "POST",
            "/api/recovery/check",
            "Check one guardian approval without consuming anything",
            check,
            request_schema=built.check,
            response_schema={
                "type": "object",
                "properties": {"ok": {"const": True}, "guardian_id": {"type": "string"}},
                "required": ["ok", "guardian_id"],
            },
            errors=(
                "unknown_recovery",
                "challenge_used",
                "challenge_expired",
                "unknown_guardian",
                "out_of_band_approval",
                "approval_invalid",
                "guardians_changed",
                "rate_limited",
            ),
            tag="recovery",
        ),
        Endpoint(
            "POST",
            "/api/recovery/execute",
            "Register the new passkey with enough guardian approvals: revokes the old passkeys"
            " and sessions (202 and pending when the server holds recoveries for a delay)",
            execute,
            request_schema=built.execute,
            response_schema=COMPLETE_RESPONSE,
            other_responses={"202": PENDING_RESPONSE},
            errors=(
                "unknown_recovery",
                "challenge_used",
                "challenge_expired",
                "unknown_guardian",
                "duplicate_guardian",
                "out_of_band_approval",
                "not_enough_approvals",
                "verification_failed",
                "new_credential_mismatch",
                "approval_invalid",
                "audience_not_allowed",
                "guardians_changed",
                "credential_exists",
                "rate_limited",
            ),
            tag="recovery",
        ),
        Endpoint(
            "POST",
            "/api/recovery/complete",
            "Apply a pending recovery once its delay has passed",
            complete,
            request_schema=COMPLETE,
            response_schema=COMPLETE_RESPONSE,
            errors=(
                "unknown_recovery",
                "recovery_not_pending",
                "recovery_not_ready",
                "recovery_cancelled",
                "recovery_finished",
                "approval_invalid",
                "guardians_changed",
                "credential_exists",
                "audience_not_allowed",
                "rate_limited",
            ),
            tag="recovery",
        ),
        Endpoint(
            "POST",
            "/api/recovery/cancel",
            "Cancel a pending recovery of the signed-in account",
            cancel,
            request_schema=CANCEL,
            response_schema={
                "type": "object",
                "properties": {"status": {"const": "cancelled"}},
                "required": ["status"],
            },
            errors=("unauthorized", "unknown_recovery", "recovery_not_pending"),
            authenticated=True,
            tag="recovery",
        ),
    )

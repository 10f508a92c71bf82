"""Account recovery: start, check one approval, execute, complete after a delay, cancel.

Execute reads in one transaction, verifies outside any transaction (the registration and
every approval), then applies in one transaction whose conditional updates re-check what
could have changed meanwhile. A refusal at any step changes nothing of the account; it is
recorded in the audit log afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from vouch.core.errors import MalformedInput
from vouch.core.messages import NewCredential, recovery_message
from vouch.core.usernames import InvalidUsername, normalize_username
from vouch.server import approvals, audit, ceremonies, ratelimit, recovery, sessions
from vouch.server.api import (
    Endpoint,
    JSONResponse,
    body_schema,
    client_address,
    decode_b64,
    read_body,
)
from vouch.server.approvals import PasskeyState
from vouch.server.context import Context, context_of
from vouch.server.errors import BadRequest, VouchError
from vouch.server.guardians import GuardianSet
from vouch.server.recovery import Plan, Recovery
from vouch.server.routes import schemas
from vouch.server.routes._common import audience_of, signed_in
from vouch.server.storage import Transaction

APPROVAL: schemas.JSONSchema = {
    "type": "object",
    "description": "{guardian_id, signature} for a passphrase, recovery code or backup code"
    " (Ed25519 over the recovery message); {guardian_id, assertion} for a passkey (WebAuthn,"
    " challenge = SHA-256 of the recovery message)",
    "properties": {
        "guardian_id": {"type": "string", "minLength": 1, "maxLength": 64},
        "signature": schemas.b64url_bytes("Ed25519 signature", 64),
        "assertion": schemas.WEBAUTHN_CREDENTIAL,
    },
    "required": ["guardian_id"],
    "additionalProperties": False,
}
START = body_schema({"username": schemas.USERNAME})
CHECK = body_schema(
    {
        "recovery_id": schemas.RECOVERY_ID,
        "new_credential": {
            "type": "object",
            "properties": {
                "id": schemas.b64url("new credential ID", max_length=1400),
                "public_key_sha256": schemas.b64url_bytes(
                    "SHA-256 of the new credential's SubjectPublicKeyInfo", 32
                ),
            },
            "required": ["id", "public_key_sha256"],
            "additionalProperties": False,
        },
        "approval": APPROVAL,
    }
)
EXECUTE = body_schema(
    {
        "recovery_id": schemas.RECOVERY_ID,
        "credential": schemas.WEBAUTHN_CREDENTIAL,
        "approvals": {"type": "array", "items": APPROVAL, "minItems": 1, "maxItems": 16},
    },
    {"audience": schemas.AUDIENCE},
)
COMPLETE = body_schema({"recovery_id": schemas.RECOVERY_ID}, {"audience": schemas.AUDIENCE})
CANCEL = body_schema({"recovery_id": schemas.RECOVERY_ID})

PUBLIC_GUARDIAN: schemas.JSONSchema = {
    "type": "object",
    "description": "A guardian as a recovering user sees it: never a public key",
    "properties": {
        "id": {"type": "string"},
        "kind": {"enum": ["passphrase", "recovery_code", "backup_codes", "passkey"]},
        "label": {"type": "string"},
        "salt": schemas.b64url_bytes("salt", 16),
        "kdf": {"type": "object"},
        "credential_id": schemas.b64url("credential ID"),
        "codes_remaining": {"type": "integer"},
    },
    "required": ["id", "kind", "label"],
    "additionalProperties": False,
}
START_RESPONSE: schemas.JSONSchema = {
    "type": "object",
    "properties": {
        "recovery_id": schemas.RECOVERY_ID,
        "account": {"type": "string"},
        "username": {"type": "string"},
        "challenge": schemas.b64url_bytes("recovery challenge", 32),
        "expires": schemas.TIME,
        "rp_id": {"type": "string"},
        "threshold": {"type": "integer", "minimum": 1},
        "guardians": {"type": "array", "items": PUBLIC_GUARDIAN},
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

    def work(tx: Transaction) -> JSONResponse:
        ratelimit.hit(
            tx,
            context,
            [("recovery_start_address", address), ("recovery_start_account", username)],
        )
        return JSONResponse(recovery.start(tx, context, context.decoys, username))

    return await context.database.run(work)


Loaded = tuple[Recovery, GuardianSet, dict[str, PasskeyState]]


def _read(
    context: Context, recovery_id: str, address: str, limit: str
) -> Callable[[Transaction], Loaded]:
    """The read phase: the recovery, its guardians, and the attempt counted (and committed)."""

    def work(tx: Transaction) -> Loaded:
        found = recovery.load(tx, recovery_id)
        ratelimit.hit(
            tx, context, [(f"{limit}_address", address), (f"{limit}_account", found.username)]
        )
        guardian_set, passkeys = recovery.guardians_of(tx, context.decoys, found)
        return found, guardian_set, passkeys

    return work


async def check(request: Request) -> Response:
    """Does this one approval count? Nothing is consumed; attempts are rate-limited."""
    context = context_of(request)
    body = await read_body(request, CHECK, context.config.max_body_bytes)
    address = client_address(request)
    found, guardian_set, passkeys = await context.database.run(
        _read(context, body["recovery_id"], address, "recovery_check")
    )
    recovery.check_open(found, context.now())
    ((guardian, approval),) = approvals.match(
        guardian_set, [body["approval"]], need_threshold=False
    )
    new_credential = NewCredential(
        id=decode_b64(body["new_credential"]["id"], what="new_credential.id"),
        public_key_sha256=decode_b64(
            body["new_credential"]["public_key_sha256"], what="new_credential.public_key_sha256"
        ),
    )
    message = _message(context, found, guardian_set, new_credential)
    try:
        await approvals.verify(
            context.provider, context.config, guardian, approval, message=message, passkeys=passkeys
        )
    except VouchError as exc:
        detail = {"recovery_id": found.id, "guardian": guardian.id, "reason": exc.code}
        await audit.record_failure(context, found.account_id, "recovery_check_failed", detail)
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
    body = await read_body(request, EXECUTE, context.config.max_body_bytes)
    audience = audience_of(context, body)
    address = client_address(request)
    found, guardian_set, passkeys = await context.database.run(
        _read(context, body["recovery_id"], address, "recovery_execute")
    )
    attempted = [approval["guardian_id"] for approval in body["approvals"]]
    try:
        recovery.check_open(found, context.now())
        pairs = approvals.match(guardian_set, body["approvals"], need_threshold=True)
        credential = ceremonies.verify_registration(
            context.config, body["credential"], challenge=found.registration_challenge
        )
        message = _message(
            context,
            found,
            guardian_set,
            NewCredential(id=credential.id, public_key_sha256=credential.public_key_sha256),
        )
        approved = [
            await approvals.verify(
                context.provider,
                context.config,
                guardian,
                approval,
                message=message,
                passkeys=passkeys,
            )
            for guardian, approval in pairs
        ]
        plan = Plan(credential=credential, approved=tuple(approved))

        def apply(tx: Transaction) -> dict[str, Any]:
            effective = recovery.mark_executed(tx, context, found, plan)
            if effective is not None:
                recovery.hold(tx, context, found, plan)
                return {"status": "pending", "recovery_id": found.id, "effective_at": effective}
            session = recovery.apply_plan(tx, context, found, plan)
            return _complete_body(tx, context, found, session, audience)

        result = await context.database.run(apply)
    except VouchError as exc:
        detail = {"recovery_id": found.id, "guardians": attempted, "reason": exc.code}
        await audit.record_failure(context, found.account_id, "recovery_failed", detail)
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

    def work(tx: Transaction) -> dict[str, Any]:
        found, session = recovery.complete(tx, context, body["recovery_id"])
        return _complete_body(tx, context, found, session, audience)

    return JSONResponse(await context.database.run(work))


async def cancel(request: Request) -> Response:
    """The owner, signed in with an old passkey, stops a pending recovery."""
    context = context_of(request)
    token = sessions.bearer_token(request)
    body = await read_body(request, CANCEL, context.config.max_body_bytes)

    def work(tx: Transaction) -> dict[str, Any]:
        account = sessions.session_account(tx, context, token)
        recovery.cancel(tx, context, account["id"], body["recovery_id"])
        return {"status": "cancelled"}

    return JSONResponse(await context.database.run(work))


ENDPOINTS = [
    Endpoint(
        "POST",
        "/api/recovery/start",
        "Start recovering an account: a challenge, the guardians (no public keys), and"
        " creation options for the new passkey. Unknown accounts get a stable decoy.",
        start,
        request_schema=START,
        response_schema=START_RESPONSE,
        errors=("invalid_username", "rate_limited"),
        tag="recovery",
    ),
    Endpoint(
        "POST",
        "/api/recovery/check",
        "Check one guardian approval without consuming anything",
        check,
        request_schema=CHECK,
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
        request_schema=EXECUTE,
        response_schema=COMPLETE_RESPONSE,
        other_responses={"202": PENDING_RESPONSE},
        errors=(
            "unknown_recovery",
            "challenge_used",
            "challenge_expired",
            "unknown_guardian",
            "duplicate_guardian",
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
]

"""The signed-in owner's view: the account, its guardians and passkeys, and its audit log."""

from __future__ import annotations

import functools

from starlette.requests import Request
from starlette.responses import Response

from vouch.server import accounts, audit, email_addresses, recovery, schemas, sessions
from vouch.server import guardians as guardian_store
from vouch.server.api import Endpoint, JSONResponse, body_schema, read_body
from vouch.server.context import context_of
from vouch.server.kinds import KindRegistry
from vouch.server.routes._common import audience_of, signed_in
from vouch.server.storage import Transaction

PASSKEYS: schemas.JSONSchema = {
    "type": "array",
    "description": "The account's sign-in passkeys",
    "items": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "created_at": schemas.TIME,
            "last_used_at": {"type": ["integer", "null"]},
        },
        "required": ["id", "created_at", "last_used_at"],
    },
}
PENDING_RECOVERIES: schemas.JSONSchema = {
    "type": "array",
    "description": "Recoveries held by the delay: cancel them if they are not yours",
    "items": {
        "type": "object",
        "properties": {
            "recovery_id": schemas.RECOVERY_ID,
            "effective_at": schemas.TIME,
            "created_at": schemas.TIME,
            "executed_at": {
                "type": ["integer", "null"],
                "description": "When its guardians approved it and it began to wait",
            },
            "device": {
                "type": ["string", "null"],
                "description": 'Coarse browser and OS it came from ("Chrome on Android")',
            },
        },
        "required": ["recovery_id", "effective_at", "created_at", "executed_at", "device"],
    },
}
EMAIL: schemas.JSONSchema = {
    "description": "The verified address notifications go to (null: none)",
    "oneOf": [
        {"type": "null"},
        {
            "type": "object",
            "properties": {"address": {"type": "string"}, "verified_at": schemas.TIME},
            "required": ["address", "verified_at"],
        },
    ],
}
EMAIL_PENDING: schemas.JSONSchema = {
    "description": "An address whose mailed code has not been entered yet (null: none)",
    "oneOf": [
        {"type": "null"},
        {
            "type": "object",
            "properties": {
                "verification_id": {"type": "string"},
                "address": {"type": "string"},
                "expires_at": schemas.TIME,
            },
            "required": ["verification_id", "address", "expires_at"],
        },
    ],
}


@functools.cache
def account_response(kinds: KindRegistry) -> schemas.JSONSchema:
    """The answer of GET /api/account, whose guardians are described by `kinds`."""
    return {
        "type": "object",
        "properties": {
            "account": {"type": "string"},
            "username": {"type": "string"},
            "threshold": {"type": "integer"},
            "guardians": {"type": "array", "items": kinds.owner_schema},
            "passkeys": PASSKEYS,
            "pending_recoveries": PENDING_RECOVERIES,
            "email": EMAIL,
            "email_pending": EMAIL_PENDING,
        },
        "required": [
            "account",
            "username",
            "threshold",
            "guardians",
            "passkeys",
            "pending_recoveries",
            "email",
            "email_pending",
        ],
    }


AUDIT_RESPONSE: schemas.JSONSchema = {
    "type": "object",
    "properties": {
        "events": {
            "type": "array",
            "description": "Newest first",
            "items": {
                "type": "object",
                "properties": {
                    "at": schemas.TIME,
                    "kind": {"type": "string"},
                    "detail": {"type": "object"},
                },
                "required": ["at", "kind", "detail"],
            },
        }
    },
    "required": ["events"],
}


async def account_info(request: Request) -> Response:
    context = context_of(request)
    token = sessions.bearer_token(request)

    def work(tx: Transaction) -> JSONResponse:
        account = sessions.session_account(tx, context, token)
        account_id = account["id"]
        return JSONResponse(
            {
                "account": account_id,
                "username": account["username"],
                "threshold": account["threshold"],
                "guardians": [
                    guardian_store.owner_descriptor(guardian, context.kinds)
                    for guardian in guardian_store.load(tx, account_id, context.kinds)
                ],
                "passkeys": accounts.passkey_summaries(tx, account_id),
                "pending_recoveries": recovery.pending_of(tx, account_id),
                **email_addresses.summary(tx, account_id, context.now()),
            }
        )

    return await context.database.run(work)


async def audit_log(request: Request) -> Response:
    context = context_of(request)
    token = sessions.bearer_token(request)

    def work(tx: Transaction) -> JSONResponse:
        account = sessions.session_account(tx, context, token)
        return JSONResponse({"events": audit.events(tx, account["id"])})

    return await context.database.run(work)


RESUME = body_schema({}, {"audience": schemas.AUDIENCE})


async def resume(request: Request) -> Response:
    """A fresh host token for a live session, which the answer keeps: a dialog reopened by
    the same host page ("Manage account" right after signing in) carries on without asking
    for the passkey again. Only the session's own account; no new session."""
    context = context_of(request)
    token = sessions.bearer_token(request)
    body = await read_body(request, RESUME, context.config.max_body_bytes)
    audience = audience_of(context, body)

    def work(tx: Transaction) -> JSONResponse:
        account = sessions.session_account(tx, context, token)
        return JSONResponse(
            signed_in(
                tx,
                context,
                account_id=account["id"],
                username=account["username"],
                audience=audience,
                session=token,
            )
        )

    return await context.database.run(work)


@functools.cache
def endpoints(kinds: KindRegistry) -> tuple[Endpoint, ...]:
    """This module's endpoints, with the schemas of `kinds` (built once per registry)."""
    account = Endpoint(
        "GET",
        "/api/account",
        "The signed-in account: guardians, sign-in passkeys, pending recoveries",
        account_info,
        response_schema=account_response(kinds),
        errors=("unauthorized",),
        authenticated=True,
        tag="account",
    )
    return (account, *_ENDPOINTS)


_ENDPOINTS = [
    Endpoint(
        "POST",
        "/api/session/resume",
        "A fresh host token for the session (a dialog reopened by the same host page)",
        resume,
        request_schema=RESUME,
        response_schema=schemas.SIGNED_IN,
        errors=("unauthorized", "audience_not_allowed"),
        authenticated=True,
        tag="account",
    ),
    Endpoint(
        "GET",
        "/api/audit",
        "The signed-in account's audit log (sign-ins, guardian changes, recoveries)",
        audit_log,
        response_schema=AUDIT_RESPONSE,
        errors=("unauthorized",),
        authenticated=True,
        tag="account",
    ),
]

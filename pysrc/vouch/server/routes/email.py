"""The signed-in owner's email address: ask for a code to be mailed to an address, then
prove the mailbox with it (vouch.server.email_addresses)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from vouch.server import audit, email_addresses, ratelimit, sessions
from vouch.server.api import Endpoint, JSONResponse, body_schema, read_body
from vouch.server.context import context_of
from vouch.server.outbox import messages
from vouch.server.outbox.events import emit
from vouch.server.outbox.user_agent import describe
from vouch.server.storage import Transaction

KEY_PURPOSE = "email-code"
ADDRESS: dict[str, Any] = {"type": "string", "minLength": 3, "maxLength": 254}
ADD = body_schema({"address": ADDRESS})
VERIFY = body_schema(
    {
        "verification_id": {"type": "string", "minLength": 1, "maxLength": 64},
        "code": {"type": "string", "minLength": 1, "maxLength": 32},
    }
)
ADD_RESPONSE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "verification_id": {"type": "string"},
        "address": {"type": "string"},
        "expires_at": {"type": "integer"},
    },
    "required": ["verification_id", "address", "expires_at"],
}
VERIFY_RESPONSE: dict[str, Any] = {
    "type": "object",
    "properties": {"address": {"type": "string"}, "verified_at": {"type": "integer"}},
    "required": ["address", "verified_at"],
}


async def add(request: Request) -> Response:
    """Mail a code to `address`: it becomes the account's once the code comes back."""
    context = context_of(request)
    token = sessions.bearer_token(request)
    body = await read_body(request, ADD, context.config.max_body_bytes)
    address = email_addresses.normalize_address(body["address"])
    key = context.secrets.derive(KEY_PURPOSE)
    now = context.now()

    def work(tx: Transaction) -> tuple[str, email_addresses.Started]:
        account = sessions.session_account(tx, context, token)
        ratelimit.hit(tx, context, [("email_code_account", account["id"])])
        started = email_addresses.start(
            tx, key=key, account_id=account["id"], address=address, now=now
        )
        audit.record(tx, context, account["id"], "email_code_sent", {"address": address})
        return account["username"], started

    username, started = await context.database.run(work)
    message = messages.verification_mail(
        site=context.outbox.site,
        sender=context.config.outbox.mail_from,
        to=address,
        username=username,
        code=started.code,
        message_id=started.verification_id,
        at=now,
        expires_at=started.expires_at,
        device=describe(request.headers.get("user-agent")),
    )
    context.outbox.send_soon(
        message, what=f"verification code {started.verification_id}", until=started.expires_at
    )
    return JSONResponse(
        {
            "verification_id": started.verification_id,
            "address": address,
            "expires_at": started.expires_at,
        }
    )


async def verify(request: Request) -> Response:
    context = context_of(request)
    token = sessions.bearer_token(request)
    body = await read_body(request, VERIFY, context.config.max_body_bytes)
    code = email_addresses.normalize_code(body["code"])
    key = context.secrets.derive(KEY_PURPOSE)

    def work(tx: Transaction) -> dict[str, Any] | email_addresses.Wrong:
        account = sessions.session_account(tx, context, token)
        before = email_addresses.verified_address(tx, account["id"])
        outcome = email_addresses.verify(
            tx,
            key=key,
            account_id=account["id"],
            verification_id=body["verification_id"],
            code=code,
            now=context.now(),
        )
        if isinstance(outcome, email_addresses.Wrong):
            return outcome  # committed: the wrong try counts
        audit.record(tx, context, account["id"], "email_verified", {"address": outcome["address"]})
        if before is not None and before != outcome["address"]:
            # The address it replaces is told, in case someone else took the account's mail.
            emit(
                tx,
                context,
                account_id=account["id"],
                username=account["username"],
                event="email.changed",
                data={"address": email_addresses.masked(outcome["address"])},
                user_agent=request.headers.get("user-agent"),
                mail_to=before,
            )
        return outcome

    outcome = await context.database.run(work)
    if isinstance(outcome, email_addresses.Wrong):
        raise outcome.error()
    return JSONResponse(outcome)


ENDPOINTS = [
    Endpoint(
        "POST",
        "/api/account/email",
        "Mail a one-time code to an address; verified with it, the address receives the"
        " account's notifications",
        add,
        request_schema=ADD,
        response_schema=ADD_RESPONSE,
        errors=("unauthorized", "invalid_email", "rate_limited"),
        authenticated=True,
        tag="account",
    ),
    Endpoint(
        "POST",
        "/api/account/email/verify",
        "Verify the address with the code mailed to it",
        verify,
        request_schema=VERIFY,
        response_schema=VERIFY_RESPONSE,
        errors=(
            "unauthorized",
            "email_code_malformed",
            "unknown_verification",
            "email_code_wrong",
            "email_code_expired",
            "email_code_attempts",
            "email_code_used",
        ),
        authenticated=True,
        tag="account",
    ),
]

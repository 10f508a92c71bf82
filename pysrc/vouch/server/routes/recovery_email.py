"""An email guardian's approval: mail its code for a recovery, then take the code back.

`send` mails a fresh code to the guardian's address; `verify` checks it and records the
approval for that recovery (vouch.server.recovery_approvals), which execute counts. The
page never sends an approval for the guardian.

An unknown name's recovery (a decoy) is answered by the same code: its email guardian comes
from the decoy, a code is made, hashed and stored, and a mail is built, but none is sent.
What differs comes after the answer: the mail goes out as the response's background task.
Both endpoints are rate-limited per client address (and per address and account name), like
the other recovery endpoints; no limit is per account alone, which a stranger could spend.
"""

from __future__ import annotations

import secrets
from typing import Any, NamedTuple

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response

from vouch.core.kinds import EMAIL
from vouch.server import audit, recovery_approvals, schemas
from vouch.server import recovery_email_codes as codes
from vouch.server.api import Endpoint, JSONResponse, body_schema, client_address, read_body
from vouch.server.context import Context, context_of
from vouch.server.kinds import Guardian
from vouch.server.kinds.email import Email, address_of
from vouch.server.outbox import messages
from vouch.server.outbox.events import emit
from vouch.server.outbox.user_agent import describe
from vouch.server.recovery import Recovery
from vouch.server.routes._common import out_of_band_guardian
from vouch.server.storage import Transaction

GUARDIAN_ID: schemas.JSONSchema = {"type": "string", "minLength": 1, "maxLength": 64}
SEND = body_schema({"recovery_id": schemas.RECOVERY_ID, "guardian_id": GUARDIAN_ID})
VERIFY = body_schema(
    {
        "recovery_id": schemas.RECOVERY_ID,
        "guardian_id": GUARDIAN_ID,
        "code": {"type": "string", "minLength": 1, "maxLength": 40},
    }
)
SEND_RESPONSE: schemas.JSONSchema = {
    "type": "object",
    "properties": {"sent": {"const": True}, "expires_at": schemas.TIME},
    "required": ["sent", "expires_at"],
}
VERIFY_RESPONSE: schemas.JSONSchema = {
    "type": "object",
    "properties": {"ok": {"const": True}, "guardian_id": {"type": "string"}},
    "required": ["ok", "guardian_id"],
}


class Opened(NamedTuple):
    recovery: Recovery
    guardian: Guardian


def _open(
    tx: Transaction, context: Context, body: dict[str, Any], address: str, limit: str
) -> Opened:
    """The open recovery and its email guardian named in `body`, the attempt counted."""
    found, guardian, _ = out_of_band_guardian(
        tx,
        context,
        body,
        address,
        limit=limit,
        kind=EMAIL.name,
        refusal=("not_an_email_guardian", "an email guardian"),
    )
    return Opened(found, guardian)


def _key(context: Context) -> bytes:
    return context.secrets.derive(codes.KEY_PURPOSE)


async def send(request: Request) -> Response:
    """Mail a fresh code to the guardian (a decoy's is made and stored, and mailed to no one)."""
    context = context_of(request)
    body = await read_body(request, SEND, context.config.max_body_bytes)
    address = client_address(request)
    key = _key(context)
    now = context.now()

    def work(tx: Transaction) -> tuple[Opened, codes.Issued]:
        opened = _open(tx, context, body, address, "recovery_email_send")
        issued = codes.issue(
            tx, key=key, recovery=opened.recovery, guardian_id=opened.guardian.id, now=now
        )
        return opened, issued

    (found, guardian), issued = await context.database.run(work)
    message = messages.recovery_code_mail(
        site=context.outbox.site,
        sender=context.config.outbox.mail_from,
        to=address_of(guardian),
        username=found.username,
        code=codes.grouped(issued.code),
        message_id="rec_" + secrets.token_urlsafe(12),
        at=now,
        expires_at=issued.expires_at,
        device=describe(request.headers.get("user-agent")),
    )
    what = f"recovery code for guardian {guardian.id} of recovery {found.id}"

    async def mail() -> None:  # (async: on the event loop, which send_soon schedules on)
        if found.account_id is not None:  # a decoy's mail goes nowhere
            context.outbox.send_soon(message, what=what, until=issued.expires_at)

    return JSONResponse(
        {"sent": True, "expires_at": issued.expires_at}, background=BackgroundTask(mail)
    )


async def verify(request: Request) -> Response:
    """Take the mailed code back: the guardian's approval of this recovery is recorded."""
    context = context_of(request)
    body = await read_body(request, VERIFY, context.config.max_body_bytes)
    code = codes.parse_code(body["code"])
    address = client_address(request)
    key = _key(context)
    user_agent = request.headers.get("user-agent")

    def work(tx: Transaction) -> tuple[Opened, codes.Wrong | None]:
        opened = _open(tx, context, body, address, "recovery_email_verify")
        found, guardian = opened
        outcome = codes.verify(
            tx, key=key, recovery=found, guardian_id=guardian.id, code=code, now=context.now()
        )
        if outcome is not None:
            return opened, outcome  # committed: the wrong try counts
        added = recovery_approvals.record(tx, context, found, guardian.id, {"via": EMAIL.name})
        if added and found.account_id is not None:  # (a decoy's code is never right)
            detail = {"recovery_id": found.id, "guardian": guardian.id}
            audit.record(tx, context, found.account_id, "recovery_email_approved", detail)
            emit(
                tx,
                context,
                account_id=found.account_id,
                username=found.username,
                event="recovery.approved",
                data={
                    "recovery": found.id,
                    "guardian": guardian.label,
                    "kind": EMAIL.label,
                    "how": "a code mailed to it was entered",
                },
                user_agent=user_agent,
            )
        return opened, None

    (found, guardian), wrong = await context.database.run(work)
    if wrong is not None:
        detail = {"recovery_id": found.id, "guardian": guardian.id, "reason": "email_code_wrong"}
        audit.record_soon(context, found.account_id, "recovery_email_failed", detail)
        raise wrong.error(Email.refusal)
    return JSONResponse({"ok": True, "guardian_id": guardian.id})


ENDPOINTS = [
    Endpoint(
        "POST",
        "/api/recovery/email/send",
        "Mail a one-time code for this recovery to an email guardian (a new one replaces the"
        " last, at most 5 per guardian and recovery); valid 15 minutes",
        send,
        request_schema=SEND,
        response_schema=SEND_RESPONSE,
        errors=(
            "unknown_recovery",
            "challenge_used",
            "challenge_expired",
            "guardians_changed",
            "not_an_email_guardian",
            "email_code_sends",
            "rate_limited",
        ),
        tag="recovery",
    ),
    Endpoint(
        "POST",
        "/api/recovery/email/verify",
        "Enter the code mailed to an email guardian: its approval of this recovery is recorded"
        " and counted at execute (the page sends no approval for it)",
        verify,
        request_schema=VERIFY,
        response_schema=VERIFY_RESPONSE,
        errors=(
            "unknown_recovery",
            "challenge_used",
            "challenge_expired",
            "guardians_changed",
            "not_an_email_guardian",
            "email_code_malformed",
            "approval_invalid",
            "email_code_expired",
            "email_code_missing",
            "email_code_attempts",
            "rate_limited",
        ),
        tag="recovery",
    ),
]

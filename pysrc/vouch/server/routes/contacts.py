"""Trusted contacts between two signed-in people: invite, answer, list, give up.

An owner invites another account by name; the person invited answers in their own dialog
with an assertion of one of their own sign-in passkeys whose challenge is SHA-256 of
`vouch.core.contacts.answer_message` (single-use server challenge), so an answer cannot be
made for them or replayed. Each step is in both accounts' audit logs. The help requests of
a recovery are `vouch.server.routes.contact_requests`.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from vouch.core.contacts import ANSWERS, answer_message, fingerprint
from vouch.core.errors import MalformedInput
from vouch.core.messages import webauthn_challenge_for
from vouch.core.usernames import InvalidUsername, normalize_username
from vouch.server import (
    accounts,
    audit,
    challenges,
    contacts,
    ratelimit,
    schemas,
    sessions,
)
from vouch.server.api import Endpoint, JSONResponse, body_schema, read_body
from vouch.server.context import Context, context_of
from vouch.server.errors import BadRequest, ChallengeError
from vouch.server.outbox.events import emit
from vouch.server.routes._common import (
    confirmation_options,
    confirmation_response,
    verify_signin_assertion,
)
from vouch.server.storage import Row, Transaction

ANSWER_PURPOSE = "contact_answer"
STATUS_FOR = {"accept": contacts.ACCEPTED, "decline": contacts.DECLINED, "remove": contacts.REMOVED}
ACCOUNT_ID: schemas.JSONSchema = {"type": "string", "minLength": 1, "maxLength": 64}

INVITE = body_schema({"username": schemas.USERNAME})
WITHDRAW = body_schema({"account": ACCOUNT_ID})
ANSWER = body_schema(
    {
        "challenge_id": schemas.CHALLENGE_ID,
        "owner": ACCOUNT_ID,
        "answer": {"enum": list(ANSWERS)},
        "assertion": schemas.WEBAUTHN_CREDENTIAL,
    }
)

CONTACT: schemas.JSONSchema = {
    "type": "object",
    "description": "someone this account invited, and what became of it",
    "properties": {
        "account": {"type": "string"},
        "username": {"type": "string"},
        "fingerprint": {"type": "string", "description": "to compare before confirming"},
        "status": {"enum": [contacts.PENDING, contacts.ACCEPTED, contacts.DECLINED, "removed"]},
        "created_at": schemas.TIME,
        "answered_at": {"type": ["integer", "null"]},
    },
    "required": ["account", "username", "fingerprint", "status", "created_at", "answered_at"],
}
OWNER: schemas.JSONSchema = {
    "type": "object",
    "description": "someone who invited this account: a name and a status, nothing more",
    "properties": {
        "account": {"type": "string"},
        "username": {"type": "string"},
        "status": {"enum": [contacts.PENDING, contacts.ACCEPTED]},
        "created_at": schemas.TIME,
    },
    "required": ["account", "username", "status", "created_at"],
}
HELP_REQUEST: schemas.JSONSchema = {
    "type": "object",
    "description": "an open request for this account's approval of someone's recovery",
    "properties": {
        "request_id": {"type": "string"},
        "username": {"type": "string"},
        "created_at": schemas.TIME,
        "expires_at": schemas.TIME,
        "device": {"type": "string"},
        "authenticator": {"type": ["string", "null"]},
        "status": {"type": "string"},
    },
    "required": ["request_id", "username", "created_at", "expires_at", "device", "status"],
}
LISTING: schemas.JSONSchema = {
    "type": "object",
    "properties": {
        "fingerprint": {"type": "string", "description": "this account's, to read out"},
        "invited": {"type": "array", "items": CONTACT},
        "vouching_for": {"type": "array", "items": OWNER},
        "requests": {"type": "array", "items": HELP_REQUEST},
    },
    "required": ["fingerprint", "invited", "vouching_for", "requests"],
}


def _session_account(tx: Transaction, context: Context, request: Request) -> Row:
    return sessions.session_account(tx, context, sessions.bearer_token(request))


def _contact_entry(tx: Transaction, owner_id: str, contact_id: str) -> dict[str, Any]:
    (entry,) = [e for e in contacts.invited_by(tx, owner_id) if e["account"] == contact_id]
    return entry


async def invite(request: Request) -> Response:
    """Invite an account by its name; it answers in its own dialog."""
    context = context_of(request)
    body = await read_body(request, INVITE, context.config.max_body_bytes)
    try:
        username = normalize_username(body["username"])
    except InvalidUsername as exc:
        raise BadRequest(str(exc), code="invalid_username") from exc
    user_agent = request.headers.get("user-agent")

    def work(tx: Transaction) -> JSONResponse:
        owner = _session_account(tx, context, request)
        invited = accounts.find_account_by_username(tx, username)
        if invited is None:
            raise BadRequest(f"No account is named {username!r}.", code="unknown_contact")
        if invited["id"] == owner["id"]:
            raise BadRequest(
                "That is your own account: a trusted contact is someone else.",
                code="contact_is_you",
            )
        ratelimit.hit(tx, context, [("contact_invite_account", owner["id"])])
        if contacts.invite(tx, owner["id"], invited["id"], context.now()):
            audit.record(tx, context, owner["id"], "contact_invited", {"contact": username})
            audit.record(
                tx,
                context,
                invited["id"],
                "contact_invitation_received",
                {"owner": owner["username"]},
            )
            emit(
                tx,
                context,
                account_id=invited["id"],
                username=invited["username"],
                event="contact.invited",
                data={"owner": owner["username"]},
                user_agent=user_agent,
            )
        return JSONResponse({"contact": _contact_entry(tx, owner["id"], invited["id"])})

    return await context.database.run(work)


async def withdraw(request: Request) -> Response:
    """The owner ends an invitation (pending or accepted): that contact approves no more."""
    context = context_of(request)
    body = await read_body(request, WITHDRAW, context.config.max_body_bytes)

    def work(tx: Transaction) -> JSONResponse:
        owner = _session_account(tx, context, request)
        contact = accounts.find_account(tx, body["account"])
        if contact is None or not contacts.answer(
            tx, owner["id"], contact["id"], contacts.REMOVED, context.now()
        ):
            raise BadRequest("There is no such invitation to withdraw.", code="no_invitation")
        audit.record(
            tx, context, owner["id"], "contact_withdrawn", {"contact": contact["username"]}
        )
        audit.record(
            tx, context, contact["id"], "contact_withdrawn_by_owner", {"owner": owner["username"]}
        )
        return JSONResponse({"ok": True})

    return await context.database.run(work)


async def listing(request: Request) -> Response:
    """Whom this account invited, who invited it, and who asks it for help now."""
    context = context_of(request)

    def work(tx: Transaction) -> JSONResponse:
        account = _session_account(tx, context, request)
        account_id = account["id"]
        return JSONResponse(
            {
                "fingerprint": fingerprint(account_id),
                "invited": contacts.invited_by(tx, account_id),
                "vouching_for": contacts.vouching_for(tx, account_id),
                "requests": contacts.open_requests_for(tx, account_id, context.now()),
            }
        )

    return await context.database.run(work)


async def answer_options(request: Request) -> Response:
    """A single-use challenge for an answer, and request options only this account's
    sign-in passkeys can answer (the page swaps in the answer message's hash)."""
    context = context_of(request)
    await read_body(request, schemas.EMPTY_OBJECT, context.config.max_body_bytes)

    def work(tx: Transaction) -> JSONResponse:
        account = _session_account(tx, context, request)
        return JSONResponse(confirmation_options(tx, context, account["id"], ANSWER_PURPOSE))

    return await context.database.run(work)


async def answer(request: Request) -> Response:
    """The person invited accepts, declines, or gives up being a contact, with a passkey."""
    context = context_of(request)
    body = await read_body(request, ANSWER, context.config.max_body_bytes)
    status = STATUS_FOR[body["answer"]]

    def work(tx: Transaction) -> JSONResponse:
        account = _session_account(tx, context, request)
        me = account["id"]
        ratelimit.hit(tx, context, [("contact_answer_account", me)])
        challenge = challenges.consume(tx, context, body["challenge_id"], ANSWER_PURPOSE)
        if challenge.account_id != me:
            raise ChallengeError("This challenge was issued to another account: start again.")
        owner = accounts.find_account(tx, body["owner"])
        if owner is None or not contacts.answer(tx, owner["id"], me, status, context.now()):
            raise BadRequest(
                "There is no such invitation to answer (it was withdrawn, or answered).",
                code="no_invitation",
            )
        try:
            message = answer_message(me, owner["id"], body["answer"], challenge.challenge)
        except MalformedInput as exc:
            raise BadRequest(str(exc), code="invalid_body") from exc
        passkey = verify_signin_assertion(
            tx, context, me, body["assertion"], webauthn_challenge_for(message)
        )
        event = {"accept": "contact_accepted", "decline": "contact_declined"}.get(
            body["answer"], "contact_removed"
        )
        audit.record(tx, context, me, event, {"owner": owner["username"], "passkey": passkey})
        audit.record(tx, context, owner["id"], event, {"contact": account["username"]})
        still = [o for o in contacts.vouching_for(tx, me) if o["account"] == owner["id"]]
        return JSONResponse({"owner": still[0] if still else None})

    return await context.database.run(work)


ENDPOINTS = [
    Endpoint(
        "GET",
        "/api/contacts",
        "Whom this account invited as trusted contacts, who invited it, and the help"
        " requests waiting for its answer",
        listing,
        response_schema=LISTING,
        errors=("unauthorized",),
        authenticated=True,
        tag="contacts",
    ),
    Endpoint(
        "POST",
        "/api/contacts/invite",
        "Invite another account, by name, to be a trusted contact (it answers in its own"
        " dialog; once it accepts, a guardians change can add it)",
        invite,
        request_schema=INVITE,
        response_schema={
            "type": "object",
            "properties": {"contact": CONTACT},
            "required": ["contact"],
        },
        errors=(
            "unauthorized",
            "invalid_username",
            "unknown_contact",
            "contact_is_you",
            "rate_limited",
        ),
        authenticated=True,
        tag="contacts",
    ),
    Endpoint(
        "POST",
        "/api/contacts/withdraw",
        "End an invitation this account sent (pending or accepted): that contact's approvals"
        " no longer count",
        withdraw,
        request_schema=WITHDRAW,
        response_schema={"type": "object", "properties": {"ok": {"const": True}}},
        errors=("unauthorized", "no_invitation"),
        authenticated=True,
        tag="contacts",
    ),
    Endpoint(
        "POST",
        "/api/contacts/options",
        "A challenge and request options for answering an invitation with a passkey",
        answer_options,
        request_schema=schemas.EMPTY_OBJECT,
        response_schema=confirmation_response(
            "answer message", "answer_message(account, owner, answer, challenge)"
        ),
        errors=("unauthorized",),
        authenticated=True,
        tag="contacts",
    ),
    Endpoint(
        "POST",
        "/api/contacts/answer",
        "Accept or decline an invitation, or stop being someone's contact, confirmed with one"
        " of this account's passkeys",
        answer,
        request_schema=ANSWER,
        response_schema={
            "type": "object",
            "properties": {"owner": {"anyOf": [OWNER, {"type": "null"}]}},
            "required": ["owner"],
        },
        errors=(
            "unauthorized",
            "invalid_challenge",
            "challenge_used",
            "challenge_expired",
            "no_invitation",
            "unknown_credential",
            "verification_failed",
            "rate_limited",
        ),
        authenticated=True,
        tag="contacts",
    ),
]

"""A recovery asks a trusted contact for help, and the contact answers in their own dialog.

The locked-out requester (no session: only the recovery's bearer id) asks for a request
(`ask`) and gets a link for the contact; their page shows the verification code it derives
from the recovery message (`vouch.core.contacts.verification_code`), which the server never
sends. It then polls `status`. The contact, signed in, opens the link (`open_request`: who
asks, when, from what, and the message), types the code the requester reads to them, and
approves with an assertion of one of their own sign-in passkeys whose challenge is SHA-256
of the message (`approve`), or declines. The approval is recorded for that recovery only
(recovery_approvals), bound to the message, and counted at execute.

A request for an unknown name's recovery (a decoy) is stored the same way, with no
contact; the requester's answers are the same, and nothing ever answers it. What differs
is written after the answer has gone out (the audit rows), as for the other recovery
endpoints. No limit is per account alone: a stranger could spend it.
"""

from __future__ import annotations

import datetime
from typing import NamedTuple

from starlette.requests import Request
from starlette.responses import Response

from vouch.core.b64url import b64url_encode
from vouch.core.contacts import same_code, verification_code
from vouch.core.errors import MalformedInput
from vouch.core.kinds import CONTACT
from vouch.core.messages import NewCredential, recovery_message, webauthn_challenge_for
from vouch.server import (
    accounts,
    audit,
    ceremonies,
    contacts,
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
from vouch.server.kinds import GuardianSet
from vouch.server.kinds.contact import contact_of, message_digest
from vouch.server.outbox.events import emit
from vouch.server.outbox.user_agent import describe
from vouch.server.recovery import Recovery
from vouch.server.routes._common import (
    OutOfBand,
    out_of_band_guardian,
    signin_keys,
    verify_signin_assertion,
)
from vouch.server.routes.recovery import NEW_CREDENTIAL
from vouch.server.storage import Row, Transaction

GUARDIAN_ID: schemas.JSONSchema = {"type": "string", "minLength": 1, "maxLength": 64}
REQUEST_ID: schemas.JSONSchema = {"type": "string", "minLength": 1, "maxLength": 128}
ASK = body_schema(
    {
        "recovery_id": schemas.RECOVERY_ID,
        "guardian_id": GUARDIAN_ID,
        "new_credential": NEW_CREDENTIAL,
    },
    {"authenticator": {"enum": ["platform", "cross-platform"]}},
)
STATUS = body_schema({"recovery_id": schemas.RECOVERY_ID, "guardian_id": GUARDIAN_ID})
OPEN = body_schema({"request_id": REQUEST_ID})
APPROVE = body_schema(
    {
        "request_id": REQUEST_ID,
        "code": {"type": "string", "minLength": 1, "maxLength": 40},
        "assertion": schemas.WEBAUTHN_CREDENTIAL,
    }
)
STATUSES = [contacts.WAITING, contacts.OPENED, contacts.APPROVED, contacts.REFUSED]


# The requester ----------------------------------------------------------------------------


async def ask(request: Request) -> Response:
    """A link for the contact to open; asked again, a new link replaces the last."""
    context = context_of(request)
    body = await read_body(request, ASK, context.config.max_body_bytes)
    address = client_address(request)
    device = describe(request.headers.get("user-agent"))
    new_credential = NewCredential(
        id=decode_b64(body["new_credential"]["id"], what="new_credential.id"),
        public_key_sha256=decode_b64(
            body["new_credential"]["public_key_sha256"], what="new_credential.public_key_sha256"
        ),
    )

    def work(tx: Transaction) -> tuple[OutOfBand, str]:
        asked = out_of_band_guardian(
            tx,
            context,
            body,
            address,
            limit="recovery_contact_request",
            kind=CONTACT.name,
            refusal=("not_a_contact_guardian", "a trusted contact"),
        )
        found, guardian, guardian_set = asked
        try:
            message = recovery_message(
                recovery.request_for(context, found, guardian_set, new_credential)
            )
        except MalformedInput as exc:
            raise BadRequest(str(exc), code="invalid_body") from exc
        token = contacts.ask(
            tx,
            recovery_id=found.id,
            guardian_id=guardian.id,
            owner_id=found.account_id,
            contact_id=None if found.account_id is None else contact_of(guardian),
            message=message,
            device=device,
            authenticator=body.get("authenticator"),
            now=context.now(),
            expires_at=found.expires_at,
        )
        return asked, token

    (found, guardian, _), token = await context.database.run(work)
    if found.account_id is not None:
        detail = {"recovery_id": found.id, "guardian": guardian.id, "device": device}
        audit.record_soon(context, found.account_id, "contact_help_requested", detail)
        audit.record_soon(
            context, contact_of(guardian), "contact_help_requested", {"owner": found.username}
        )
    return JSONResponse(
        {
            "request_id": token,
            "link": f"{context.config.origin}/dialog.html#help={token}",
            "expires_at": found.expires_at,
        }
    )


async def status(request: Request) -> Response:
    """Where the contact is with this recovery's request: waiting, opened, answered."""
    context = context_of(request)
    body = await read_body(request, STATUS, context.config.max_body_bytes)
    address = client_address(request)

    def work(tx: Transaction) -> str:
        ratelimit.hit(tx, context, [("recovery_contact_status_address", address)])
        found = recovery.load(tx, body["recovery_id"])
        return contacts.status_of(tx, found.id, body["guardian_id"])

    return JSONResponse({"status": await context.database.run(work)})


# The contact ------------------------------------------------------------------------------


class Opened(NamedTuple):
    help: contacts.HelpRequest
    recovery: Recovery
    guardian_set: GuardianSet
    contact: Row  # the signed-in contact's account
    owner: str  # the requester's account name


def _own_request(
    tx: Transaction, context: Context, request: Request, request_id: str
) -> tuple[Row, contacts.HelpRequest]:
    """The signed-in contact and the request `request_id` names, which must be theirs (a
    decoy's has no contact: it is no one's)."""
    contact = sessions.session_account(tx, context, sessions.bearer_token(request))
    help_request = contacts.find_request(tx, request_id)
    if help_request.contact_id != contact["id"] or help_request.owner_id is None:
        raise VouchError(
            "This help request is for another account: sign in with the account that was asked.",
            code="not_your_request",
            status=403,
        )
    return contact, help_request


def _opened(tx: Transaction, context: Context, request: Request, request_id: str) -> Opened:
    """The request, answerable by the signed-in contact now, or the reason it is not."""
    contact, help_request = _own_request(tx, context, request, request_id)
    owner_id = help_request.owner_id
    assert owner_id is not None  # (a decoy's request is no one's: refused above)
    now = context.now()
    if help_request.answered:
        raise contacts.closed(f"It was {help_request.status} already.")
    found = recovery.load_reference(tx, help_request.recovery_id)
    try:
        recovery.check_open(found, now)
        guardian_set = recovery.guardians_of(tx, context, found)
    except VouchError as exc:
        raise contacts.closed(
            "The recovery it was for has ended, expired or changed: ask for a new link."
        ) from exc
    if not contacts.is_accepted(tx, owner_id, contact["id"]):
        raise VouchError(
            "You are not this person's trusted contact any more.",
            code="not_a_contact",
            status=403,
        )
    _not_recently_recovered(context, contact, now)
    owner = accounts.find_account(tx, owner_id)
    assert owner is not None
    return Opened(help_request, found, guardian_set, contact, owner["username"])


def _not_recently_recovered(context: Context, contact: Row, now: int) -> None:
    recovered = contact["recovered_at"]
    cooldown = context.config.contact_cooldown_seconds
    if recovered is None or now - recovered >= cooldown:
        return
    until = datetime.datetime.fromtimestamp(recovered + cooldown, datetime.UTC)
    raise VouchError(
        "Your own account was recovered recently, so you cannot approve recoveries of"
        f" others until {until:%Y-%m-%d %H:%M} UTC. Tell the person asking.",
        code="contact_recently_recovered",
        status=403,
        extra={"until": recovered + cooldown},
    )


async def open_request(request: Request) -> Response:
    """What the contact is shown before answering, and the options to approve with."""
    context = context_of(request)
    body = await read_body(request, OPEN, context.config.max_body_bytes)

    def work(tx: Transaction) -> JSONResponse:
        opened = _opened(tx, context, request, body["request_id"])
        help_request = opened.help
        if help_request.status == contacts.WAITING:
            contacts.mark(tx, help_request, contacts.OPENED, context.now())
        options = ceremonies.authentication_options(
            context.config,
            challenge=webauthn_challenge_for(help_request.message),
            allow=signin_keys(tx, opened.contact["id"]),
        )
        shown = contacts.shown(help_request, opened.owner)
        return JSONResponse(
            {
                "request_id": body["request_id"],
                **shown,
                "status": contacts.OPENED,
                "message": b64url_encode(help_request.message),
                "options": options,
            }
        )

    return await context.database.run(work)


class Outcome(NamedTuple):
    opened: Opened
    attempts_left: int | None  # a wrong code: how many more may be tried


async def approve(request: Request) -> Response:
    """The contact's approval: the code the requester read to them, then their passkey."""
    context = context_of(request)
    body = await read_body(request, APPROVE, context.config.max_body_bytes)
    user_agent = request.headers.get("user-agent")

    def work(tx: Transaction) -> Outcome:
        opened = _opened(tx, context, request, body["request_id"])
        help_request, found, contact = opened.help, opened.recovery, opened.contact
        now = context.now()
        if not same_code(body["code"], verification_code(help_request.message)):
            # Committed: a wrong code counts, and the last one allowed declines the request.
            return Outcome(opened, contacts.count_wrong_code(tx, help_request, now))
        passkey = verify_signin_assertion(
            tx,
            context,
            contact["id"],
            body["assertion"],
            webauthn_challenge_for(help_request.message),
        )
        detail = {"contact": contact["id"], "message_sha256": message_digest(help_request.message)}
        recovery_approvals.record(tx, context, found, help_request.guardian_id, detail)
        contacts.mark(tx, help_request, contacts.APPROVED, now)
        owner_id = help_request.owner_id
        assert owner_id is not None
        audit.record(
            tx,
            context,
            owner_id,
            "contact_help_approved",
            {
                "recovery_id": found.id,
                "guardian": help_request.guardian_id,
                "contact": contact["username"],
            },
        )
        audit.record(
            tx,
            context,
            contact["id"],
            "contact_help_approved",
            {"owner": opened.owner, "passkey": passkey},
        )
        guardian = recovery.guardians_of(tx, context, found).by_id(help_request.guardian_id)
        emit(
            tx,
            context,
            account_id=owner_id,
            username=opened.owner,
            event="recovery.approved",
            data={
                "recovery": found.id,
                "guardian": guardian.label if guardian is not None else CONTACT.label,
                "kind": CONTACT.label,
                "how": f"{contact['username']} approved it with their passkey",
            },
            user_agent=user_agent,
        )
        return Outcome(opened, None)

    try:
        opened, attempts_left = await context.database.run(work)
    except VouchError as exc:
        if exc.code not in ("no_help_request", "not_your_request", "unauthorized"):
            _refused_soon(context, request, body["request_id"], exc.code)
        raise
    if attempts_left is not None:
        _refusal_audit(context, opened.help, opened.contact, opened.owner, "contact_code_wrong")
        if attempts_left <= 0:
            raise contacts.closed("Too many wrong codes were typed: ask for a new link.")
        raise BadRequest(
            "That is not the code on the screen of the person asking. Ask them to read it"
            f" again ({attempts_left} {'try' if attempts_left == 1 else 'tries'} left).",
            code="contact_code_wrong",
            extra={"attempts_left": attempts_left},
        )
    return JSONResponse({"ok": True, "username": opened.owner})


def _refusal_audit(
    context: Context, help_request: contacts.HelpRequest, contact: Row, owner: str, reason: str
) -> None:
    """A refused approval in both accounts' logs, once the refusal has been sent."""
    detail = {"recovery_id": help_request.recovery_id, "reason": reason}
    audit.record_soon(context, help_request.owner_id, "contact_help_refused", detail)
    audit.record_soon(
        context, contact["id"], "contact_help_refused", {"owner": owner, "reason": reason}
    )


def _refused_soon(context: Context, request: Request, request_id: str, reason: str) -> None:
    """Audit a refused approval (a bad assertion, a closed request) once it has been sent."""

    def read(tx: Transaction) -> tuple[contacts.HelpRequest, Row, str] | None:
        try:
            contact, help_request = _own_request(tx, context, request, request_id)
        except VouchError:
            return None
        owner = accounts.find_account(tx, str(help_request.owner_id))
        assert owner is not None
        return help_request, contact, owner["username"]

    async def later() -> None:
        found = await context.database.run(read)
        if found is not None:
            _refusal_audit(context, *found, reason)

    audit.soon(later())


async def decline(request: Request) -> Response:
    """The contact says no: the requester's page shows it."""
    context = context_of(request)
    body = await read_body(request, OPEN, context.config.max_body_bytes)

    def work(tx: Transaction) -> JSONResponse:
        contact = sessions.session_account(tx, context, sessions.bearer_token(request))
        help_request = contacts.find_request(tx, body["request_id"])
        if help_request.contact_id != contact["id"] or help_request.owner_id is None:
            raise VouchError(
                "This help request is for another account.", code="not_your_request", status=403
            )
        if help_request.answered:
            raise contacts.closed(f"It was {help_request.status} already.")
        contacts.mark(tx, help_request, contacts.REFUSED, context.now())
        owner = accounts.find_account(tx, help_request.owner_id)
        assert owner is not None
        detail = {"recovery_id": help_request.recovery_id, "contact": contact["username"]}
        audit.record(tx, context, help_request.owner_id, "contact_help_declined", detail)
        audit.record(
            tx, context, contact["id"], "contact_help_declined", {"owner": owner["username"]}
        )
        return JSONResponse({"ok": True})

    return await context.database.run(work)


_RECOVERY_ERRORS = (
    "unknown_recovery",
    "challenge_used",
    "challenge_expired",
    "guardians_changed",
    "not_a_contact_guardian",
    "rate_limited",
)
_CONTACT_ERRORS = (
    "unauthorized",
    "no_help_request",
    "not_your_request",
    "help_request_closed",
    "not_a_contact",
    "contact_recently_recovered",
)
_SHOWN: dict[str, schemas.JSONSchema] = {
    "request_id": {"type": "string"},
    "username": {"type": "string", "description": "who asks"},
    "created_at": schemas.TIME,
    "expires_at": schemas.TIME,
    "device": {"type": "string", "description": "the requester's browser, coarsely"},
    "authenticator": {"type": ["string", "null"]},
    "status": {"const": contacts.OPENED},
    "message": schemas.b64url("the recovery message the contact's assertion signs"),
    "options": {
        "type": "object",
        "description": "WebAuthn request options, challenge = SHA-256(message)",
    },
}

ENDPOINTS = [
    Endpoint(
        "POST",
        "/api/recovery/contact/request",
        "Ask a trusted-contact guardian for help with this recovery: a link for the contact"
        " (asked again, a new link replaces the last)",
        ask,
        request_schema=ASK,
        response_schema={
            "type": "object",
            "properties": {
                "request_id": {"type": "string"},
                "link": {"type": "string"},
                "expires_at": schemas.TIME,
            },
            "required": ["request_id", "link", "expires_at"],
        },
        errors=(*_RECOVERY_ERRORS, "invalid_body"),
        tag="recovery",
    ),
    Endpoint(
        "POST",
        "/api/recovery/contact/status",
        "Where the contact is with this recovery's request (the page polls it)",
        status,
        request_schema=STATUS,
        response_schema={
            "type": "object",
            "properties": {"status": {"enum": STATUSES}},
            "required": ["status"],
        },
        errors=("unknown_recovery", "no_help_request", "rate_limited"),
        tag="recovery",
    ),
    Endpoint(
        "POST",
        "/api/contact-requests/open",
        "The signed-in contact opens a help request: who asks, when, from what, and the"
        " options to approve it with",
        open_request,
        request_schema=OPEN,
        response_schema={"type": "object", "properties": _SHOWN, "required": sorted(_SHOWN)},
        errors=_CONTACT_ERRORS,
        authenticated=True,
        tag="contacts",
    ),
    Endpoint(
        "POST",
        "/api/contact-requests/approve",
        "The contact approves: the verification code the requester read to them, and an"
        " assertion of their passkey over the recovery message",
        approve,
        request_schema=APPROVE,
        response_schema={
            "type": "object",
            "properties": {"ok": {"const": True}, "username": {"type": "string"}},
            "required": ["ok", "username"],
        },
        errors=(
            *_CONTACT_ERRORS,
            "contact_code_wrong",
            "unknown_credential",
            "verification_failed",
        ),
        authenticated=True,
        tag="contacts",
    ),
    Endpoint(
        "POST",
        "/api/contact-requests/decline",
        "The contact declines a help request",
        decline,
        request_schema=OPEN,
        response_schema={"type": "object", "properties": {"ok": {"const": True}}},
        errors=("unauthorized", "no_help_request", "not_your_request", "help_request_closed"),
        authenticated=True,
        tag="contacts",
    ),
]

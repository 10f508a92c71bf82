"""Create an account with a passkey, and sign in with one (username-less, discoverable)."""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import Response

from vouch.core.b64url import b64url_encode
from vouch.core.usernames import InvalidUsername, normalize_username
from vouch.server import accounts, audit, ceremonies, challenges, ratelimit, schemas, sessions
from vouch.server.api import (
    Endpoint,
    JSONResponse,
    body_schema,
    client_address,
    decode_b64,
    read_body,
)
from vouch.server.context import context_of
from vouch.server.errors import BadRequest, Conflict, VerificationFailed, VouchError
from vouch.server.outbox.events import emit
from vouch.server.routes._common import audience_of, signed_in
from vouch.server.storage import Transaction

REGISTER_PURPOSE = "register"
SIGNIN_PURPOSE = "signin"
PLACEHOLDER_NAME = "new account"

REGISTER_VERIFY = body_schema(
    {
        "challenge_id": schemas.CHALLENGE_ID,
        "username": schemas.USERNAME,
        "credential": schemas.WEBAUTHN_CREDENTIAL,
    },
    {"audience": schemas.AUDIENCE},
)
SIGNIN_VERIFY = body_schema(
    {"challenge_id": schemas.CHALLENGE_ID, "credential": schemas.WEBAUTHN_CREDENTIAL},
    {"audience": schemas.AUDIENCE},
)


async def register_options(request: Request) -> Response:
    """Options for a new account's passkey, fetched before the user clicks.

    The account name is not known yet: the page writes it into `user.name` when the user
    submits, and sends it with the response. It is only a label on the authenticator.
    """
    context = context_of(request)
    await read_body(request, schemas.EMPTY_OBJECT, context.config.max_body_bytes)
    user_id = secrets.token_bytes(16)

    def work(tx: Transaction) -> JSONResponse:
        issued = challenges.issue(
            tx, context, REGISTER_PURPOSE, data={"user_id": b64url_encode(user_id)}
        )
        options = ceremonies.registration_options(
            context.config,
            user_id=user_id,
            username=PLACEHOLDER_NAME,
            challenge=issued.challenge,
            exclude=[],
        )
        return JSONResponse({"challenge_id": issued.id, "options": options})

    return await context.database.run(work)


async def register_verify(request: Request) -> Response:
    context = context_of(request)
    body = await read_body(request, REGISTER_VERIFY, context.config.max_body_bytes)
    audience = audience_of(context, body)
    try:
        username = normalize_username(body["username"])
    except InvalidUsername as exc:
        raise BadRequest(str(exc), code="invalid_username") from exc

    address = client_address(request)
    user_agent = request.headers.get("user-agent")

    def take(tx: Transaction) -> challenges.Challenge:
        """Count the attempt and use up its challenge, committed whatever happens next: one
        challenge is one try, so a taken name cannot be probed many times with it."""
        ratelimit.hit(tx, context, [("register_address", address)])
        return challenges.consume(tx, context, body["challenge_id"], REGISTER_PURPOSE)

    challenge = await context.database.run(take)
    # Verified before the name is looked at: whether a name is taken is told only to someone
    # who has just made a real passkey for this site (see README, "Sign-up and names").
    credential = ceremonies.verify_registration(
        context.config, body["credential"], challenge=challenge.challenge
    )

    def work(tx: Transaction) -> JSONResponse:
        if accounts.find_account_by_username(tx, username) is not None:
            raise Conflict(f'The account name "{username}" is taken.', code="username_taken")
        if accounts.credential_exists(tx, b64url_encode(credential.id)):
            raise Conflict("This passkey is already registered.", code="credential_exists")
        user_id = decode_b64(challenge.data["user_id"], what="user_id")
        account_id = b64url_encode(user_id)
        now = context.now()
        accounts.create_account(tx, account_id=account_id, username=username, now=now)
        passkey = accounts.add_credential(tx, account_id=account_id, credential=credential, now=now)
        audit.record(tx, context, account_id, "account_created", {"passkey": passkey})
        emit(
            tx,
            context,
            account_id=account_id,
            username=username,
            event="account.created",
            data={},
            user_agent=user_agent,
        )
        return JSONResponse(
            signed_in(tx, context, account_id=account_id, username=username, audience=audience)
        )

    return await context.database.run(work)


async def signin_options(request: Request) -> Response:
    context = context_of(request)
    await read_body(request, schemas.EMPTY_OBJECT, context.config.max_body_bytes)

    def work(tx: Transaction) -> JSONResponse:
        issued = challenges.issue(tx, context, SIGNIN_PURPOSE)
        options = ceremonies.authentication_options(context.config, challenge=issued.challenge)
        return JSONResponse({"challenge_id": issued.id, "options": options})

    return await context.database.run(work)


async def signin_verify(request: Request) -> Response:
    context = context_of(request)
    body = await read_body(request, SIGNIN_VERIFY, context.config.max_body_bytes)
    audience = audience_of(context, body)
    credential_id = body["credential"]["id"]
    address = client_address(request)

    def count(tx: Transaction) -> tuple[str | None, challenges.Challenge]:
        """Count the attempt against the address and use up its challenge, both committed
        even if the sign-in then fails: a failed assertion cannot be retried. Nothing is
        counted against the account: an assertion cannot be guessed, and a count anyone
        could run up by naming a credential ID would lock its owner out."""
        ratelimit.hit(tx, context, [("signin_address", address)])
        challenge = challenges.consume(tx, context, body["challenge_id"], SIGNIN_PURPOSE)
        stored = accounts.find_credential(tx, credential_id)  # for the audit of a failure
        return None if stored is None else stored.account_id, challenge

    account_id, challenge = await context.database.run(count)

    def work(tx: Transaction) -> JSONResponse:
        stored = accounts.find_credential(tx, credential_id)
        if stored is None or stored.revoked:
            raise VerificationFailed(
                "This passkey is not registered here, or was replaced by an account recovery.",
                code="unknown_credential",
            )
        if stored.role != accounts.SIGNIN:
            raise VerificationFailed(
                "This passkey is a recovery guardian of its account: it approves recoveries"
                " but does not sign in.",
                code="not_a_signin_passkey",
            )
        sign_count = ceremonies.verify_authentication(
            context.config,
            body["credential"],
            challenge=challenge.challenge,
            public_key=stored.public_key,
            sign_count=stored.sign_count,
        )
        if not accounts.record_use(tx, stored.id, sign_count=sign_count, now=context.now()):
            raise VerificationFailed(
                "This passkey was replaced by an account recovery.", code="unknown_credential"
            )
        account = accounts.find_account(tx, stored.account_id)
        assert account is not None
        audit.record(tx, context, account["id"], "signin", {"passkey": stored.id})
        return JSONResponse(
            signed_in(
                tx,
                context,
                account_id=account["id"],
                username=account["username"],
                audience=audience,
            )
        )

    try:
        return await context.database.run(work)
    except VouchError as exc:
        detail = {"passkey": credential_id, "reason": exc.code}
        await audit.record_failure(context, account_id, "signin_failed", detail)
        raise


async def session_info(request: Request) -> Response:
    context = context_of(request)
    token = sessions.bearer_token(request)

    def work(tx: Transaction) -> JSONResponse:
        account = sessions.session_account(tx, context, token)
        return JSONResponse({"account": account["id"], "username": account["username"]})

    return await context.database.run(work)


ENDPOINTS = [
    Endpoint(
        "POST",
        "/api/register/options",
        "Options for creating an account's first passkey",
        register_options,
        request_schema=schemas.EMPTY_OBJECT,
        response_schema=schemas.CEREMONY_OPTIONS,
        tag="passkeys",
    ),
    Endpoint(
        "POST",
        "/api/register/verify",
        "Create the account with the new passkey and sign in",
        register_verify,
        request_schema=REGISTER_VERIFY,
        response_schema=schemas.SIGNED_IN,
        errors=(
            "invalid_challenge",
            "challenge_used",
            "challenge_expired",
            "verification_failed",
            "invalid_username",
            "audience_not_allowed",
            "username_taken",
            "credential_exists",
            "rate_limited",
        ),
        tag="passkeys",
    ),
    Endpoint(
        "POST",
        "/api/signin/options",
        "Options for signing in with a discoverable passkey",
        signin_options,
        request_schema=schemas.EMPTY_OBJECT,
        response_schema=schemas.CEREMONY_OPTIONS,
        tag="passkeys",
    ),
    Endpoint(
        "POST",
        "/api/signin/verify",
        "Verify a passkey assertion and sign in",
        signin_verify,
        request_schema=SIGNIN_VERIFY,
        response_schema=schemas.SIGNED_IN,
        errors=(
            "invalid_challenge",
            "challenge_used",
            "challenge_expired",
            "verification_failed",
            "unknown_credential",
            "not_a_signin_passkey",
            "audience_not_allowed",
            "rate_limited",
        ),
        tag="passkeys",
    ),
    Endpoint(
        "GET",
        "/api/session",
        "The account a session token belongs to",
        session_info,
        response_schema={
            "type": "object",
            "properties": {"account": {"type": "string"}, "username": {"type": "string"}},
            "required": ["account", "username"],
        },
        errors=("unauthorized",),
        authenticated=True,
        tag="passkeys",
    ),
]

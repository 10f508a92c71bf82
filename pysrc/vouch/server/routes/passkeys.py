"""Create an account with a passkey, and sign in with one (username-less, discoverable)."""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vouch.core.usernames import InvalidUsername, normalize_username
from vouch.server import accounts, ceremonies, challenges, sessions
from vouch.server.api import Endpoint, body_schema, read_body
from vouch.server.context import context_of
from vouch.server.errors import BadRequest, Conflict, VerificationFailed
from vouch.server.routes import schemas
from vouch.server.storage import Row, Transaction
from vouch.server.wire import b64decode, b64encode

REGISTER_PURPOSE = "register"
SIGNIN_PURPOSE = "signin"
PLACEHOLDER_NAME = "new account"

REGISTER_VERIFY = body_schema(
    {
        "challenge_id": schemas.CHALLENGE_ID,
        "username": schemas.USERNAME,
        "credential": schemas.WEBAUTHN_CREDENTIAL,
    }
)
SIGNIN_VERIFY = body_schema(
    {"challenge_id": schemas.CHALLENGE_ID, "credential": schemas.WEBAUTHN_CREDENTIAL}
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
            tx, context, REGISTER_PURPOSE, data={"user_id": b64encode(user_id)}
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
    try:
        username = normalize_username(body["username"])
    except InvalidUsername as exc:
        raise BadRequest(str(exc), code="invalid_username") from exc

    def work(tx: Transaction) -> JSONResponse:
        challenge = challenges.consume(tx, context, body["challenge_id"], REGISTER_PURPOSE)
        if accounts.find_account_by_username(tx, username) is not None:
            raise Conflict(f'The account name "{username}" is taken.', code="username_taken")
        credential = ceremonies.verify_registration(
            context.config, body["credential"], challenge=challenge.challenge
        )
        if accounts.find_credential(tx, b64encode(credential.id)) is not None:
            raise Conflict("This passkey is already registered.", code="credential_exists")
        user_id = b64decode(challenge.data["user_id"], field="user_id")
        account_id = b64encode(user_id)
        now = context.now()
        accounts.create_account(tx, account_id=account_id, username=username, now=now)
        accounts.add_credential(tx, account_id=account_id, credential=credential, now=now)
        return JSONResponse(_signed_in(tx, request, account_id, username))

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

    def work(tx: Transaction) -> JSONResponse:
        challenge = challenges.consume(tx, context, body["challenge_id"], SIGNIN_PURPOSE)
        stored = accounts.find_credential(tx, body["credential"]["id"])
        if stored is None or stored.revoked:
            raise VerificationFailed(
                "This passkey is not registered here, or was replaced by an account recovery.",
                code="unknown_credential",
            )
        sign_count = ceremonies.verify_authentication(
            context.config,
            body["credential"],
            challenge=challenge.challenge,
            public_key=stored.public_key,
            sign_count=stored.sign_count,
        )
        accounts.record_use(tx, stored.id, sign_count=sign_count, now=context.now())
        account = accounts.find_account(tx, stored.account_id)
        assert account is not None
        return JSONResponse(_signed_in(tx, request, account["id"], account["username"]))

    return await context.database.run(work)


def _signed_in(tx: Transaction, request: Request, account_id: str, username: str) -> Row:
    token = sessions.create_session(tx, context_of(request), account_id)
    return {"account": account_id, "username": username, "session": token}


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
        errors=("invalid_challenge", "verification_failed", "invalid_username", "conflict"),
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
        errors=("invalid_challenge", "verification_failed"),
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
        },
        errors=("unauthorized",),
        authenticated=True,
        tag="passkeys",
    ),
]

"""What several endpoints answer alike: a dialog session and a host-app token (sign-in,
sign-up, recovery), and a passkey confirmation's options and check (a guardians change, a
trusted contact's answer or approval)."""

from __future__ import annotations

from typing import Any, NamedTuple

from vouch.core.b64url import b64url_encode
from vouch.server import accounts, ceremonies, challenges, ratelimit, recovery, schemas, sessions
from vouch.server.api import decode_b64
from vouch.server.context import Context
from vouch.server.errors import BadRequest, VerificationFailed
from vouch.server.kinds import Guardian, GuardianSet
from vouch.server.recovery import Recovery
from vouch.server.storage import Transaction


def audience_of(context: Context, body: dict[str, Any]) -> str:
    """The origin the host-app token is for; checked before anything is consumed."""
    audience = body.get("audience")
    if audience is None:
        return context.config.origin
    if not context.config.audience_allowed(audience):
        raise BadRequest(
            f'"{audience}" may not receive tokens from this dialog: it is neither the'
            " dialog's own origin nor one of its allowed origins (--allow-origin).",
            code="audience_not_allowed",
        )
    return str(audience)


def signed_in(
    tx: Transaction,
    context: Context,
    *,
    account_id: str,
    username: str,
    audience: str,
    session: str | None = None,
) -> dict[str, Any]:
    """The body every successful sign-in returns; creates the session unless given one."""
    if session is None:
        session = sessions.create_session(tx, context, account_id)
    token = context.tokens.issue(
        account_id=account_id, username=username, audience=audience, now=context.now()
    )
    return {"account": account_id, "username": username, "session": session, "token": token}


def signin_keys(tx: Transaction, account_id: str) -> list[bytes]:
    """The credential ids of the account's sign-in passkeys, for allowCredentials."""
    return [
        decode_b64(cid, what="credential id")
        for cid in accounts.active_credential_ids(tx, account_id)
    ]


def confirmation_options(
    tx: Transaction, context: Context, account_id: str, purpose: str
) -> dict[str, Any]:
    """A single-use challenge for `purpose`, issued to this account, and request options
    only its sign-in passkeys can answer; the page swaps in the hash of the message that
    embeds the challenge (see `confirmation_response`)."""
    issued = challenges.issue(tx, context, purpose, account_id=account_id)
    options = ceremonies.authentication_options(
        context.config, challenge=issued.challenge, allow=signin_keys(tx, account_id)
    )
    return {
        "challenge_id": issued.id,
        "challenge": b64url_encode(issued.challenge),
        "account": account_id,
        "options": options,
    }


def own_signin_passkey(
    stored: accounts.StoredCredential | None, account_id: str, refusal: str
) -> accounts.StoredCredential:
    """`stored` if it is one of `account_id`'s sign-in passkeys still in use; else `refusal`
    (a guardian passkey only approves recoveries, and never confirms a change)."""
    if (
        stored is None
        or stored.account_id != account_id
        or stored.revoked
        or stored.role != accounts.SIGNIN
    ):
        raise VerificationFailed(refusal, code="unknown_credential")
    return stored


def record_passkey_use(
    tx: Transaction, context: Context, stored: accounts.StoredCredential, sign_count: int
) -> None:
    """Its new counter; refused if a recovery revoked it while the request was checked."""
    if not accounts.record_use(tx, stored.id, sign_count=sign_count, now=context.now()):
        raise VerificationFailed("This passkey was revoked.", code="unknown_credential")


def verify_signin_assertion(
    tx: Transaction, context: Context, account_id: str, assertion: dict[str, Any], challenge: bytes
) -> str:
    """An assertion of one of `account_id`'s sign-in passkeys over `challenge`, its counter
    recorded; the passkey's id."""
    stored = own_signin_passkey(
        accounts.find_credential(tx, str(assertion.get("id", ""))),
        account_id,
        "Use one of your own sign-in passkeys.",
    )
    sign_count = ceremonies.verify_authentication(
        context.config,
        assertion,
        challenge=challenge,
        public_key=stored.public_key,
        sign_count=stored.sign_count,
    )
    record_passkey_use(tx, context, stored, sign_count)
    return stored.id


def confirmation_response(message: str, signed: str) -> schemas.JSONSchema:
    """The schema of `confirmation_options`' answer: `signed` is the message expression
    whose SHA-256 replaces options.challenge."""
    return {
        "type": "object",
        "properties": {
            "challenge_id": schemas.CHALLENGE_ID,
            "challenge": schemas.b64url(f"challenge inside the {message}"),
            "account": {"type": "string"},
            "options": {
                "type": "object",
                "description": "WebAuthn request options; replace options.challenge with"
                f" b64url(SHA-256({signed}))",
            },
        },
        "required": ["challenge_id", "challenge", "account", "options"],
    }


class OutOfBand(NamedTuple):
    """An open recovery and the one guardian of it an out-of-band endpoint acts for."""

    recovery: Recovery
    guardian: Guardian
    guardian_set: GuardianSet


def out_of_band_guardian(
    tx: Transaction,
    context: Context,
    body: dict[str, Any],
    address: str,
    *,
    limit: str,
    kind: str,
    refusal: tuple[str, str],
) -> OutOfBand:
    """The open recovery and its guardian of `kind` that `body` names, the attempt counted
    against `limit`'s per-address and per-account-and-address budgets; `refusal` is the
    (code, what the guardian must be) of a guardian of another kind or none."""
    found = recovery.load(tx, body["recovery_id"])
    pair = ratelimit.account_address(found.username, address)
    ratelimit.hit(tx, context, [(f"{limit}_address", address), (f"{limit}_account_address", pair)])
    recovery.check_open(found, context.now())
    guardian_set = recovery.guardians_of(tx, context, found)
    guardian = guardian_set.by_id(body["guardian_id"])
    if guardian is None or guardian.kind != kind:
        code, what = refusal
        raise BadRequest(
            f"Guardian {body['guardian_id'][:64]!r} is not {what} of this recovery.",
            code=code,
            extra={"guardian_id": body["guardian_id"][:64]},
        )
    return OutOfBand(found, guardian, guardian_set)

"""Recovery state in the database: start, the guardians a recovery is checked against, and
the one transaction that applies it (at once, or after the delay).

A recovery row is its own single-use challenge: `status` moves started -> complete (or
started -> pending -> complete | cancelled) only by conditional UPDATEs whose row counts are
checked, so of two racing executions exactly one moves it. Every write of an applied
recovery happens in `apply_plan`, inside the caller's single transaction; what an approval
changes (a backup code burnt, a guardian passkey's counter) is its kind's `apply`.

The recovery id handed out at start is a bearer secret (whoever holds it can complete the
recovery and is given a session), so, like a session token, it is stored only as a hash:
its `reference`, which opens nothing and names the recovery everywhere else (its approvals
and burnt backup codes, the audit log, the owner's pending list and Cancel).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any

from vouch.core.b64url import b64url_decode, b64url_encode
from vouch.core.messages import NewCredential, RecoveryRequest
from vouch.server import accounts, audit, ceremonies, sessions
from vouch.server import guardians as guardian_store
from vouch.server.ceremonies import RegisteredCredential
from vouch.server.context import Context
from vouch.server.errors import BadRequest, ChallengeError, Conflict
from vouch.server.kinds import Approved, GuardianSet
from vouch.server.outbox.events import emit
from vouch.server.outbox.user_agent import describe
from vouch.server.storage import Row, Transaction

STARTED = "started"
PENDING = "pending"
COMPLETE = "complete"
CANCELLED = "cancelled"
CHALLENGE_BYTES = 32
REFERENCE_BYTES = 18  # as many as the id's own: one is as hard to guess as the other


def reference(recovery_id: str) -> str:
    """The stored, shown name of the recovery whose bearer id is `recovery_id`."""
    return b64url_encode(hashlib.sha256(recovery_id.encode()).digest()[:REFERENCE_BYTES])


@dataclass(frozen=True)
class Recovery:
    id: str
    account_id: str | None  # None: a decoy
    username: str
    challenge: bytes
    registration_challenge: bytes
    guardians_version: int
    status: str
    expires_at: int
    effective_at: int | None
    plan: dict[str, Any] | None

    @classmethod
    def from_row(cls, row: Row) -> Recovery:
        return cls(
            id=row["id"],
            account_id=row["account_id"],
            username=row["username"],
            challenge=bytes(row["challenge"]),
            registration_challenge=bytes(row["registration_challenge"]),
            guardians_version=row["guardians_version"],
            status=row["status"],
            expires_at=row["expires_at"],
            effective_at=row["effective_at"],
            plan=None if row["plan"] is None else json.loads(row["plan"]),
        )


@dataclass(frozen=True)
class Plan:
    """What applying a verified recovery writes: the new passkey and the approvals used."""

    credential: RegisteredCredential
    approved: tuple[Approved, ...]

    def to_json(self) -> str:
        credential = self.credential
        return json.dumps(
            {
                "credential": {
                    "id": b64url_encode(credential.id),
                    "public_key": b64url_encode(credential.public_key),
                    "sign_count": credential.sign_count,
                    "transports": credential.transports,
                    "public_key_sha256": b64url_encode(credential.public_key_sha256),
                },
                "approved": [item.to_json() for item in self.approved],
            }
        )

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        credential = data["credential"]
        return cls(
            credential=RegisteredCredential(
                id=b64url_decode(credential["id"]),
                public_key=b64url_decode(credential["public_key"]),
                sign_count=credential["sign_count"],
                transports=list(credential["transports"]),
                public_key_sha256=b64url_decode(credential["public_key_sha256"]),
            ),
            approved=tuple(Approved.from_json(item) for item in data["approved"]),
        )


# Start ------------------------------------------------------------------------------------


def start(
    tx: Transaction, context: Context, username: str, *, user_agent: str | None = None
) -> dict[str, Any]:
    """Open a recovery of `username`: the real account's guardians, or its decoy's.

    Both paths run the same statements and derive the decoy, so the answer takes the same
    time whether or not the account exists (tests/server/test_decoys.py measures it). A
    real account's start is also a `recovery.started` webhook (when webhooks are set up):
    one row more, written in the same commit, which the host app sees and the client does
    not. It mails nobody: anyone may start a recovery of any name, and a mail per start
    would let strangers fill the owner's inbox; the owner is mailed once guardians have
    approved it (`hold`, `apply_plan`).
    """
    decoy = context.decoys.decoy(username)
    rows = guardian_store.public_rows(tx, username, len(decoy.rows), context.kinds)
    if rows:
        account_id: str | None = rows[0]["account_id"]
        shown, threshold, version = rows, rows[0]["account_threshold"], rows[0]["account_version"]
    else:
        account_id, shown, threshold, version = None, decoy.rows, decoy.threshold, 0
    guardians = [guardian_store.public_descriptor(row, context.kinds) for row in shown]
    shown_account = account_id or decoy.account
    now = context.now()
    recovery_id = secrets.token_urlsafe(18)
    challenge = secrets.token_bytes(CHALLENGE_BYTES)
    registration_challenge = secrets.token_bytes(CHALLENGE_BYTES)
    expires = now + context.config.recovery_ttl_seconds
    stored_id = reference(recovery_id)
    tx.execute(
        "INSERT INTO recoveries (id, account_id, username, challenge, registration_challenge,"
        " guardians_version, status, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            stored_id,
            account_id,
            username,
            challenge,
            registration_challenge,
            version,
            STARTED,
            now,
            expires,
        ),
    )
    if account_id is not None:
        emit(
            tx,
            context,
            account_id=account_id,
            username=username,
            event="recovery.started",
            data={"recovery": stored_id, "expires_at": expires},
            user_agent=user_agent,
        )
    options = ceremonies.registration_options(
        context.config,
        user_id=b64url_decode(shown_account),
        username=username,
        challenge=registration_challenge,
        exclude=[],
    )
    return {
        "recovery_id": recovery_id,
        "account": shown_account,
        "username": username,
        "challenge": b64url_encode(challenge),
        "expires": expires,
        "rp_id": context.config.effective_rp_id,
        "threshold": threshold,
        "guardians": guardians,
        "registration": {"options": options},
    }


# Reading a recovery back --------------------------------------------------------------------


def load(tx: Transaction, recovery_id: str) -> Recovery:
    """The recovery whose bearer id (from its start) is `recovery_id`."""
    return load_reference(tx, reference(recovery_id))


def load_reference(tx: Transaction, recovery_reference: str) -> Recovery:
    row = tx.one("SELECT * FROM recoveries WHERE id = ?", (recovery_reference,))
    if row is None:
        raise BadRequest("Unknown recovery: start again.", code="unknown_recovery")
    return Recovery.from_row(row)


def guardians_of(tx: Transaction, context: Context, recovery: Recovery) -> GuardianSet:
    """The guardians this recovery is checked against (with their passkeys' public keys)."""
    if recovery.account_id is None:
        # The statements a real account's runs, finding nothing: a decoy's check and execute
        # then cost what a real account's do (tests/server/test_decoys.py measures them).
        decoy = context.decoys.guardian_set(recovery.username)
        accounts.find_account(tx, decoy.account)
        guardian_store.load(tx, decoy.account, context.kinds)
        return decoy
    account = accounts.find_account(tx, recovery.account_id)
    assert account is not None
    if account["guardians_version"] != recovery.guardians_version:
        raise Conflict(
            "This account's guardians changed after the recovery started: start again.",
            code="guardians_changed",
        )
    return guardian_store.load_set(tx, account, context.kinds)


def check_open(recovery: Recovery, now: int) -> None:
    """A recovery that can still be approved and executed: started and unexpired."""
    if recovery.status != STARTED:
        raise ChallengeError("This recovery was already used: start again.", code="challenge_used")
    if recovery.expires_at <= now:
        raise ChallengeError("This recovery has expired: start again.", code="challenge_expired")


def request_for(
    context: Context, recovery: Recovery, guardian_set: GuardianSet, new_credential: NewCredential
) -> RecoveryRequest:
    """What every guardian of this recovery signs (the same fields the page was given)."""
    return RecoveryRequest(
        account=guardian_set.account,
        challenge=recovery.challenge,
        expires=recovery.expires_at,
        rp_id=context.config.effective_rp_id,
        new_credential=new_credential,
    )


# Applying ------------------------------------------------------------------------------------


def mark_executed(tx: Transaction, context: Context, recovery: Recovery, plan: Plan) -> int | None:
    """Consume the recovery (started -> complete, or -> pending with a delay).

    Returns the time it takes effect when held by --recovery-delay, else None (apply now).
    """
    now = context.now()
    delay = context.config.recovery_delay_seconds
    status, effective = (PENDING, now + delay) if delay > 0 else (COMPLETE, None)
    changed = tx.execute(
        "UPDATE recoveries SET status = ?, executed_at = ?, effective_at = ?, finished_at = ?,"
        " plan = ? WHERE id = ? AND status = ? AND expires_at > ?",
        (
            status,
            now,
            effective,
            None if effective else now,
            plan.to_json() if effective else None,  # kept only to apply it later
            recovery.id,
            STARTED,
            now,
        ),
    )
    if changed != 1:
        check_open(load_reference(tx, recovery.id), now)
        raise ChallengeError("This recovery was already used: start again.", code="challenge_used")
    return effective


def hold(
    tx: Transaction,
    context: Context,
    recovery: Recovery,
    plan: Plan,
    *,
    effective_at: int,
    user_agent: str | None = None,
) -> None:
    """The delayed case: nothing of the account changes yet, but refuse now what would fail
    at completion anyway (a used backup code, a passkey registered meanwhile). The owner is
    mailed with a link that cancels this recovery."""
    assert recovery.account_id is not None
    for item in plan.approved:
        context.kinds[item.kind].hold(tx, item, account_id=recovery.account_id)
    if accounts.credential_exists(tx, b64url_encode(plan.credential.id)):
        raise Conflict("This passkey is already registered.", code="credential_exists")
    guardians = [item.guardian_id for item in plan.approved]
    audit.record(
        tx,
        context,
        recovery.account_id,
        "recovery_pending",
        {"recovery_id": recovery.id, "guardians": guardians},
    )
    device = describe(user_agent)
    tx.execute("UPDATE recoveries SET device = ? WHERE id = ?", (device, recovery.id))
    emit(
        tx,
        context,
        account_id=recovery.account_id,
        username=recovery.username,
        event="recovery.pending",
        data={"recovery": recovery.id, "effective_at": effective_at, "guardians": len(guardians)},
        user_agent=user_agent,
    )


def apply_plan(
    tx: Transaction,
    context: Context,
    recovery: Recovery,
    plan: Plan,
    *,
    user_agent: str | None = None,
) -> str:
    """Every write of a recovery, in the caller's transaction; returns the new session token.

    The account row is updated first (conditionally on the guardian version the approvals
    were checked against): on PostgreSQL that locks it, so a guardian change, another
    recovery or a sign-in racing this one waits and then sees the outcome.
    """
    account_id = recovery.account_id
    assert account_id is not None
    now = context.now()
    changed = tx.execute(
        "UPDATE accounts SET recovered_at = ? WHERE id = ? AND guardians_version = ?",
        (now, account_id, recovery.guardians_version),
    )
    if changed != 1:
        raise Conflict(
            "This account's guardians changed after the recovery started: start again.",
            code="guardians_changed",
        )
    for item in plan.approved:  # burn the backup codes, move the guardian passkeys' counters
        context.kinds[item.kind].apply(
            tx, item, account_id=account_id, recovery_id=recovery.id, now=now
        )
    new_id = b64url_encode(plan.credential.id)
    revoked = tx.execute(
        "UPDATE credentials SET revoked_at = ? WHERE account_id = ? AND role = ?"
        " AND revoked_at IS NULL",
        (now, account_id, accounts.SIGNIN),
    )
    # After the revocation, so the new passkey stays active; a passkey already registered
    # (by anyone) refuses the whole recovery, whose writes then all roll back.
    if not accounts.add_new_credential(
        tx, account_id=account_id, credential=plan.credential, now=now
    ):
        raise Conflict("This passkey is already registered.", code="credential_exists")
    sessions.revoke_sessions(tx, account_id, now)
    tx.execute(
        "UPDATE recoveries SET status = ?, finished_at = ? WHERE account_id = ? AND status = ?"
        " AND id <> ?",
        (CANCELLED, now, account_id, PENDING, recovery.id),
    )
    audit.record(
        tx,
        context,
        account_id,
        "recovery_complete",
        {
            "recovery_id": recovery.id,
            "guardians": [item.guardian_id for item in plan.approved],
            "new_passkey": new_id,
            "passkeys_revoked": revoked,
        },
    )
    emit(
        tx,
        context,
        account_id=account_id,
        username=recovery.username,
        event="recovery.completed",
        data={
            "recovery": recovery.id,
            "guardians": len(plan.approved),
            "passkeys_revoked": revoked,
        },
        user_agent=user_agent,
    )
    return sessions.create_session(tx, context, account_id)


def complete(
    tx: Transaction, context: Context, recovery_id: str, *, user_agent: str | None = None
) -> tuple[Recovery, str]:
    """Apply a held recovery once its delay has passed (and it was not cancelled)."""
    recovery = load(tx, recovery_id)
    now = context.now()
    if recovery.status == CANCELLED:
        raise Conflict(
            "This recovery was cancelled by someone signed in to the account.",
            code="recovery_cancelled",
        )
    if recovery.status == COMPLETE:
        raise Conflict("This recovery was already completed.", code="recovery_finished")
    if recovery.status != PENDING or recovery.plan is None:
        raise Conflict(
            "This recovery has not been executed: approve and execute it first.",
            code="recovery_not_pending",
        )
    assert recovery.effective_at is not None
    if now < recovery.effective_at:
        wait = recovery.effective_at - now
        raise Conflict(
            f"This recovery takes effect in {wait} seconds (at Unix time {recovery.effective_at}).",
            code="recovery_not_ready",
            extra={"retry_after": wait, "effective_at": recovery.effective_at},
        )
    changed = tx.execute(
        "UPDATE recoveries SET status = ?, finished_at = ? WHERE id = ? AND status = ?",
        (COMPLETE, now, recovery.id, PENDING),
    )
    if changed != 1:
        raise Conflict("This recovery was already completed.", code="recovery_finished")
    session = apply_plan(
        tx, context, recovery, Plan.from_json(recovery.plan), user_agent=user_agent
    )
    return recovery, session


def cancel(
    tx: Transaction,
    context: Context,
    account_id: str,
    recovery_reference: str,
    *,
    user_agent: str | None = None,
) -> None:
    """The owner stops a pending recovery, named by its reference (from `pending_of`)."""
    _cancel(tx, context, recovery_reference, account_id, via="session", user_agent=user_agent)


def cancel_by_link(
    tx: Transaction, context: Context, recovery_reference: str, *, user_agent: str | None = None
) -> Recovery:
    """The mailed link stops the pending recovery it was made for (vouch.server.cancel_links:
    the reference comes from a verified token, so it is one the server mailed)."""
    return _cancel(tx, context, recovery_reference, None, via="mail", user_agent=user_agent)


def _cancel(
    tx: Transaction,
    context: Context,
    recovery_reference: str,
    account_id: str | None,
    *,
    via: str,
    user_agent: str | None,
) -> Recovery:
    row = tx.one("SELECT * FROM recoveries WHERE id = ?", (recovery_reference,))
    if row is None or row["account_id"] is None or account_id not in (None, row["account_id"]):
        raise BadRequest("There is no such recovery of this account.", code="unknown_recovery")
    found = Recovery.from_row(row)
    assert found.account_id is not None
    changed = tx.execute(
        "UPDATE recoveries SET status = ?, finished_at = ? WHERE id = ? AND status = ?",
        (CANCELLED, context.now(), recovery_reference, PENDING),
    )
    if changed != 1:
        status = tx.one("SELECT status FROM recoveries WHERE id = ?", (recovery_reference,))
        now_status = status["status"] if status else found.status
        raise Conflict(
            f"This recovery is {now_status}, not pending: there is nothing to cancel.",
            code="recovery_not_pending",
            extra={"status": now_status},
        )
    detail: dict[str, Any] = {"recovery_id": recovery_reference}
    if via == "mail":
        detail["via"] = "mail"
    audit.record(tx, context, found.account_id, "recovery_cancelled", detail)
    emit(
        tx,
        context,
        account_id=found.account_id,
        username=found.username,
        event="recovery.cancelled",
        data={"recovery": recovery_reference, "via": via},
        user_agent=user_agent,
    )
    return found


def pending_of(tx: Transaction, account_id: str) -> list[dict[str, Any]]:
    rows = tx.all(
        "SELECT id, effective_at, created_at, executed_at, device FROM recoveries"
        " WHERE account_id = ? AND status = ? ORDER BY created_at",
        (account_id, PENDING),
    )
    return [
        {
            "recovery_id": row["id"],
            "effective_at": row["effective_at"],
            "created_at": row["created_at"],
            "executed_at": row["executed_at"],
            "device": row["device"],
        }
        for row in rows
    ]

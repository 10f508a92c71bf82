"""The one-time codes an email guardian is mailed during a recovery (vouch.server.kinds.email).

A code is 10 digits (NIST SP 800-63B asks at least 6; 10 are still quick to type, shown as
two groups of five), valid CODE_TTL_SECONDS and never past its recovery's expiry, good
once, for MAX_ATTEMPTS wrong tries. It is kept only as HMAC-SHA256 under a server key,
bound to the recovery's reference and the guardian's id, so neither a copy of the database
nor a code mailed for another recovery or guardian opens anything. One row per (recovery,
guardian): a new send replaces the code (and its tries), at most MAX_SENDS times.

A decoy recovery (an unknown name) goes through exactly these statements with a code no one
is sent, so an answer and its time say nothing of whether the account exists. The rows
expire with their recovery (`recovery_expires_at`) and are pruned before it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from vouch.server.errors import ApprovalInvalid, BadRequest
from vouch.server.recovery import Recovery
from vouch.server.storage import Transaction

CODE_DIGITS = 10
GROUP = 5
CODE_TTL_SECONDS = 900
MAX_ATTEMPTS = 5
MAX_SENDS = 5
KEY_PURPOSE = "recovery-email-code"
_DOMAIN = b"vouch/v1/recovery-email-code\n"


@dataclass(frozen=True)
class Issued:
    code: str  # the digits, ungrouped: for the mail only, never stored or logged
    expires_at: int


def new_code() -> str:
    return "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))


def grouped(code: str) -> str:
    """As a mail shows it: "12345 67890"."""
    return " ".join(code[n : n + GROUP] for n in range(0, len(code), GROUP))


def parse_code(text: str) -> str:
    """The digits of a typed code (spaces and dashes ignored), or a 400 that costs no try."""
    code = re.sub(r"[\s-]", "", text)
    if len(code) != CODE_DIGITS or not code.isascii() or not code.isdigit():
        raise BadRequest(
            f"A code is {CODE_DIGITS} digits (as mailed: 12345 67890); this one is {text[:40]!r}.",
            code="email_code_malformed",
        )
    return code


def code_hash(key: bytes, recovery_reference: str, guardian_id: str, code: str) -> bytes:
    bound = f"{recovery_reference}\n{guardian_id}\n{code}".encode()
    return hmac.new(key, _DOMAIN + bound, hashlib.sha256).digest()


def issue(tx: Transaction, *, key: bytes, recovery: Recovery, guardian_id: str, now: int) -> Issued:
    """A fresh code for this recovery and guardian, replacing any earlier one (its tries
    and whether it was used included); `too_many_sends` once MAX_SENDS were made."""
    code = new_code()
    expires = min(now + CODE_TTL_SECONDS, recovery.expires_at)
    digest = code_hash(key, recovery.id, guardian_id, code)
    replace = (
        "UPDATE recovery_email_codes SET code_hash = ?, created_at = ?, expires_at = ?,"
        " attempts = 0, used_at = NULL, sends = sends + 1"
        " WHERE recovery_id = ? AND guardian_id = ? AND sends < ?"
    )
    params = (digest, now, expires, recovery.id, guardian_id, MAX_SENDS)
    if tx.execute(replace, params) == 1:
        return Issued(code, expires)
    added = tx.execute(
        "INSERT INTO recovery_email_codes (recovery_id, guardian_id, code_hash, created_at,"
        " expires_at, recovery_expires_at, attempts, sends) VALUES (?, ?, ?, ?, ?, ?, 0, 1)"
        " ON CONFLICT (recovery_id, guardian_id) DO NOTHING",
        (recovery.id, guardian_id, digest, now, expires, recovery.expires_at),
    )
    # Not added: the row exists and has had its sends (or a racing first send made it).
    if added != 1 and tx.execute(replace, params) != 1:
        raise too_many_sends()
    return Issued(code, expires)


@dataclass(frozen=True)
class Wrong:
    """A wrong code, counted: raised once its transaction has committed the count."""

    guardian_id: str
    attempts_left: int

    def error(self, refusal: str) -> ApprovalInvalid | BadRequest:
        if self.attempts_left <= 0:
            return too_many_attempts()
        return ApprovalInvalid(
            refusal, extra={"guardian_id": self.guardian_id, "attempts_left": self.attempts_left}
        )


def verify(
    tx: Transaction, *, key: bytes, recovery: Recovery, guardian_id: str, code: str, now: int
) -> Wrong | None:
    """None once the code is used up approving; Wrong (its try counted) for a wrong code.
    A refusal that costs no try (none sent, used, expired, out of tries) raises."""
    row = tx.one(
        "SELECT code_hash, expires_at, attempts, used_at FROM recovery_email_codes"
        " WHERE recovery_id = ? AND guardian_id = ?",
        (recovery.id, guardian_id),
    )
    if row is None or row["used_at"] is not None:
        raise missing()
    if row["expires_at"] <= now:
        raise BadRequest(
            "This code has expired: send a new one.",
            code="email_code_expired",
            extra={"guardian_id": guardian_id},
        )
    if row["attempts"] >= MAX_ATTEMPTS:
        raise too_many_attempts()
    stored = bytes(row["code_hash"])
    if not hmac.compare_digest(stored, code_hash(key, recovery.id, guardian_id, code)):
        # Conditional: of racing wrong tries, each counts once and none past the limit.
        tx.execute(
            "UPDATE recovery_email_codes SET attempts = attempts + 1 WHERE recovery_id = ?"
            " AND guardian_id = ? AND attempts < ?",
            (recovery.id, guardian_id, MAX_ATTEMPTS),
        )
        return Wrong(guardian_id, MAX_ATTEMPTS - row["attempts"] - 1)
    # Conditional on the code read: a send replacing it meanwhile, or a racing use, wins.
    used = tx.execute(
        "UPDATE recovery_email_codes SET used_at = ? WHERE recovery_id = ? AND guardian_id = ?"
        " AND used_at IS NULL AND attempts < ? AND code_hash = ?",
        (now, recovery.id, guardian_id, MAX_ATTEMPTS, stored),
    )
    if used != 1:
        raise missing()
    return None


def missing() -> BadRequest:
    return BadRequest(
        "No code is waiting for this guardian (each works once): send a new code.",
        code="email_code_missing",
    )


def too_many_attempts() -> BadRequest:
    return BadRequest(
        f"{MAX_ATTEMPTS} wrong codes: this one no longer works. Send a new code.",
        code="email_code_attempts",
        status=429,
    )


def too_many_sends() -> BadRequest:
    return BadRequest(
        f"{MAX_SENDS} codes were sent for this guardian in this recovery, the most there can"
        " be: use the latest, or start the recovery again.",
        code="email_code_sends",
        status=429,
    )

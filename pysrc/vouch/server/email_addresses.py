"""An account's email address: added by its signed-in owner, verified with a one-time code
mailed to it, and only then used (notifications go to the verified address only).

The code is 8 digits (NIST SP 800-63B asks at least 6), works once, for CODE_TTL_SECONDS,
for MAX_ATTEMPTS wrong tries; it is stored only as HMAC-SHA256 under a server key and the
verification's id, so a copy of the database alone cannot be searched for it (10**8 codes
would take a moment to hash without the key). A new code for the account replaces any open
one. The verified address stays as it was until a new one is verified.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from vouch.server.errors import BadRequest, Conflict
from vouch.server.storage import Row, Transaction

CODE_DIGITS = 8
CODE_TTL_SECONDS = 900
MAX_ATTEMPTS = 5
MAX_ADDRESS_CHARS = 254
# One @, no spaces or control characters, a dot in the domain (or localhost): what a
# person types; the relay is the judge of the rest.
_ADDRESS = re.compile(
    r"^[^\s@\x00-\x1f\x7f]{1,64}@(localhost|[^\s@.\x00-\x1f\x7f]+(\.[^\s@.\x00-\x1f\x7f]+)+)$"
)
_FORBIDDEN = set('<>(),;:"[]\\')


@dataclass(frozen=True)
class Started:
    verification_id: str
    address: str
    code: str
    expires_at: int


def normalize_address(text: str) -> str:
    """`text` as an address (outer spaces trimmed, the domain lowercased), or a 400."""
    address = text.strip()
    if len(address) > MAX_ADDRESS_CHARS or not _ADDRESS.match(address):
        raise BadRequest(
            f"{address[:80]!r} is not an email address: expected name@example.com",
            code="invalid_email",
        )
    if _FORBIDDEN & set(address):
        raise BadRequest(
            f'{address[:80]!r} has characters an address here may not have (<>(),;:"[]\\)',
            code="invalid_email",
        )
    local, _, domain = address.rpartition("@")
    return f"{local}@{domain.lower()}"


def masked(address: str) -> str:
    """`a•••@example.com`: enough for its owner to know it, not to give it away."""
    local, _, domain = address.rpartition("@")
    return f"{local[:1]}•••@{domain}"


def normalize_code(text: str) -> str:
    """The digits of a typed code (spaces and dashes ignored), or a 400 that costs no try."""
    code = re.sub(r"[\s-]", "", text)
    if len(code) != CODE_DIGITS or not code.isascii() or not code.isdigit():
        raise BadRequest(
            f"A code is {CODE_DIGITS} digits; this one is {text[:40]!r}.",
            code="email_code_malformed",
        )
    return code


def code_hash(key: bytes, verification_id: str, code: str) -> bytes:
    return hmac.new(key, f"{verification_id}\n{code}".encode(), hashlib.sha256).digest()


def verified_address(tx: Transaction, account_id: str) -> str | None:
    row = tx.one("SELECT address FROM account_emails WHERE account_id = ?", (account_id,))
    return None if row is None else str(row["address"])


def summary(tx: Transaction, account_id: str, now: int) -> dict[str, object]:
    """What GET /api/account shows: the verified address and one being verified."""
    row = tx.one(
        "SELECT address, verified_at FROM account_emails WHERE account_id = ?", (account_id,)
    )
    pending = tx.one(
        "SELECT id, address, expires_at FROM email_verifications WHERE account_id = ?"
        " AND used_at IS NULL AND expires_at > ? AND attempts < ? ORDER BY created_at DESC",
        (account_id, now, MAX_ATTEMPTS),
    )
    return {
        "email": None if row is None else dict(row),
        "email_pending": None
        if pending is None
        else {
            "verification_id": pending["id"],
            "address": pending["address"],
            "expires_at": pending["expires_at"],
        },
    }


def start(tx: Transaction, *, key: bytes, account_id: str, address: str, now: int) -> Started:
    """A new code for `address`; any open verification of the account stops working."""
    tx.execute(
        "DELETE FROM email_verifications WHERE account_id = ? AND used_at IS NULL",
        (account_id,),
    )
    verification_id = "emv_" + secrets.token_urlsafe(12)
    code = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))
    expires = now + CODE_TTL_SECONDS
    tx.execute(
        "INSERT INTO email_verifications (id, account_id, address, code_hash, created_at,"
        " expires_at, attempts) VALUES (?, ?, ?, ?, ?, ?, 0)",
        (verification_id, account_id, address, code_hash(key, verification_id, code), now, expires),
    )
    return Started(verification_id, address, code, expires)


@dataclass(frozen=True)
class Wrong:
    """A wrong code, counted: raised once its transaction has committed the count."""

    attempts_left: int

    def error(self) -> BadRequest:
        if self.attempts_left <= 0:
            return too_many()
        return BadRequest(
            f"That code is not the one mailed; {self.attempts_left} tries left.",
            code="email_code_wrong",
            extra={"attempts_left": self.attempts_left},
        )


def too_many() -> BadRequest:
    # 429, as the recovery's mailed codes answer it (vouch.server.recovery_email_codes):
    # one code, one status; what to do is the same, ask for a new code.
    return BadRequest(
        f"{MAX_ATTEMPTS} wrong codes: this one no longer works. Ask for a new code.",
        code="email_code_attempts",
        status=429,
    )


def verify(
    tx: Transaction, *, key: bytes, account_id: str, verification_id: str, code: str, now: int
) -> Row | Wrong:
    """The verified address row, or Wrong (its try counted); a refusal that costs no try
    (unknown, used, expired, out of tries) raises and changes nothing."""
    row = tx.one(
        "SELECT * FROM email_verifications WHERE id = ? AND account_id = ?",
        (verification_id, account_id),
    )
    if row is None:
        raise BadRequest(
            "There is no such verification for this account (a newer code replaces an older"
            " one): ask for a new code.",
            code="unknown_verification",
        )
    if row["used_at"] is not None:
        raise Conflict("This code was already used.", code="email_code_used")
    if row["expires_at"] <= now:
        raise BadRequest("This code has expired: ask for a new one.", code="email_code_expired")
    if row["attempts"] >= MAX_ATTEMPTS:
        raise too_many()
    if not hmac.compare_digest(bytes(row["code_hash"]), code_hash(key, verification_id, code)):
        # Conditional: of racing wrong tries, each counts once and none past the limit.
        tx.execute(
            "UPDATE email_verifications SET attempts = attempts + 1 WHERE id = ? AND attempts < ?",
            (verification_id, MAX_ATTEMPTS),
        )
        return Wrong(MAX_ATTEMPTS - row["attempts"] - 1)
    used = tx.execute(
        "UPDATE email_verifications SET used_at = ? WHERE id = ? AND used_at IS NULL"
        " AND attempts < ?",
        (now, verification_id, MAX_ATTEMPTS),
    )
    if used != 1:
        raise Conflict("This code was already used.", code="email_code_used")
    tx.execute(
        "INSERT INTO account_emails (account_id, address, verified_at) VALUES (?, ?, ?)"
        " ON CONFLICT (account_id) DO UPDATE SET address = excluded.address,"
        " verified_at = excluded.verified_at",
        (account_id, row["address"], now),
    )
    return {"address": row["address"], "verified_at": now}

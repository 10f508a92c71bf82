"""What a trusted contact and the person they vouch for compare, built the same in both
dialogs and on the server.

    answer   b"vouch/v1/contact\\n" + JCS({account, answer, challenge, owner})

A contact accepts, declines or gives up an invitation with an assertion of one of their own
passkeys whose challenge is SHA-256 of the answer message: `account` is the contact's own
account id, `owner` the inviting account's, `challenge` a single-use server challenge.

The fingerprint is a short name of an account that two people read to each other before
the owner confirms the contact as a guardian: a typo'd or look-alike account name shows a
different fingerprint. The verification code is what a locked-out person reads to their
contact (by phone, in person): it is derived from the recovery message, so the contact's
dialog can only approve the request whose message the requester holds, and a link that
reached the contact without the requester (a phished one) cannot be approved.
"""

from __future__ import annotations

import hashlib

from vouch.core import crockford
from vouch.core.b64url import b64url_encode
from vouch.core.errors import MalformedInput
from vouch.core.messages import CHALLENGE_BYTES, Json, canonical_message

ANSWER_PREFIX = b"vouch/v1/contact\n"
ANSWERS = ("accept", "decline", "remove")
FINGERPRINT_SYMBOLS = 8  # 40 bits: two groups of four Crockford symbols
CODE_DIGITS = 6


def answer_message(account: str, owner: str, answer: str, challenge: bytes) -> bytes:
    """The exact bytes whose SHA-256 is the challenge of a contact's answer to `owner`."""
    if answer not in ANSWERS:
        raise MalformedInput(f"answer is {answer!r}, expected {', '.join(ANSWERS)}")
    if not isinstance(challenge, bytes) or len(challenge) != CHALLENGE_BYTES:
        raise MalformedInput(f"challenge must be {CHALLENGE_BYTES} bytes")
    for name, value in (("account", account), ("owner", owner)):
        if not isinstance(value, str) or not value:
            raise MalformedInput(f"{name} is {value!r}, expected a non-empty string")
    body: dict[str, Json] = {
        "account": account,
        "answer": answer,
        "challenge": b64url_encode(challenge),
        "owner": owner,
    }
    return canonical_message(ANSWER_PREFIX, body)


def fingerprint(account: str) -> str:
    """'7K2M-QX9D': the first 40 bits of SHA-256 of the account id, in Crockford base32."""
    digest = hashlib.sha256(b"vouch/v1/contact-fingerprint\n" + account.encode()).digest()
    symbols = crockford.encode(int.from_bytes(digest[:5], "big"), FINGERPRINT_SYMBOLS)
    return f"{symbols[:4]}-{symbols[4:]}"


def verification_code(message: bytes) -> str:
    """'042 917': six digits of SHA-256 of the recovery message, grouped to be read aloud."""
    digest = hashlib.sha256(b"vouch/v1/contact-code\n" + message).digest()
    number = int.from_bytes(digest[:8], "big") % 10**CODE_DIGITS
    text = f"{number:0{CODE_DIGITS}d}"
    return f"{text[:3]} {text[3:]}"


def same_code(typed: str, expected: str) -> bool:
    """Whether what the contact typed is the code: digits only count (spaces, dashes)."""
    digits = "".join(char for char in typed if char.isdigit())
    return digits == expected.replace(" ", "")

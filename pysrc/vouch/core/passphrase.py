"""Passphrases: the one normal form that is hashed, the strength rule, and generated ones.

Normalisation is NFKC then trimming outer whitespace, so the same passphrase
typed on another keyboard (full-width forms, composed or decomposed accents,
a trailing space from autocomplete) derives the same key. Inner whitespace
is kept as typed.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Iterable
from typing import Any

from vouch.core import wordlist
from vouch.core.errors import WeakPassphrase

MIN_SCORE = 3
# zxcvbn refuses longer input; a strong 72-character prefix makes a strong whole.
ZXCVBN_MAX_LENGTH = 72
GENERATED_WORDS = 7
GENERATED_SEPARATOR = "-"


def normalize_passphrase(passphrase: str) -> str:
    """NFKC, then outer whitespace removed."""
    if not isinstance(passphrase, str):
        raise TypeError(f"passphrase must be str, got {type(passphrase).__name__}")
    return unicodedata.normalize("NFKC", passphrase).strip()


def passphrase_bytes(passphrase: str) -> bytes:
    """The UTF-8 bytes that go into Argon2id."""
    return normalize_passphrase(passphrase).encode("utf-8")


def _user_inputs(account_name: str, extra: Iterable[str]) -> list[str]:
    """The account name and its parts ("alice@example.com" -> alice, example, com)."""
    inputs = [text for text in (account_name, *extra) if text]
    parts = [part for text in inputs for part in re.split(r"[\W_]+", text) if part]
    return list(dict.fromkeys([*inputs, *parts]))


def _zxcvbn(passphrase: str, user_inputs: list[str]) -> dict[str, Any]:
    from zxcvbn import zxcvbn

    result: dict[str, Any] = zxcvbn(passphrase[:ZXCVBN_MAX_LENGTH], user_inputs=user_inputs)
    return result


def check_passphrase_strength(
    passphrase: str, *, account_name: str, user_inputs: Iterable[str] = ()
) -> int:
    """The zxcvbn score (0-4) of the normalised passphrase; ``WeakPassphrase`` below 3.

    The account name (and e.g. the user's display name in ``user_inputs``)
    counts as known to an attacker.
    """
    normalized = normalize_passphrase(passphrase)
    if not normalized:  # zxcvbn cannot score the empty string
        raise WeakPassphrase(
            score=0, minimum=MIN_SCORE, warning="The passphrase is empty.", suggestions=()
        )
    result = _zxcvbn(normalized, _user_inputs(account_name, user_inputs))
    score = int(result["score"])
    if score < MIN_SCORE:
        feedback = result.get("feedback") or {}
        raise WeakPassphrase(
            score=score,
            minimum=MIN_SCORE,
            warning=str(feedback.get("warning") or ""),
            suggestions=tuple(str(s) for s in feedback.get("suggestions") or ()),
        )
    return score


def generate_passphrase(*, account_name: str = "", words: int = GENERATED_WORDS) -> str:
    """Random words from ``vouch.core.wordlist`` (11 bits each, 77 bits for 7), joined by "-".

    Drawn again in the (vanishingly rare) case zxcvbn would refuse the result,
    so what the dialog offers always passes ``check_passphrase_strength``.
    """
    if words < GENERATED_WORDS:
        raise ValueError(
            f"generated passphrase has {words} words, expected at least {GENERATED_WORDS}"
        )
    pool = wordlist.words()
    for _ in range(100):
        candidate = GENERATED_SEPARATOR.join(secrets.choice(pool) for _ in range(words))
        try:
            check_passphrase_strength(candidate, account_name=account_name)
        except WeakPassphrase:
            continue
        return candidate
    raise RuntimeError("100 generated passphrases in a row were weak: the word list is broken")

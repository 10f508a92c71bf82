"""Account names: one normal form shared by the page and the server."""

from __future__ import annotations

import re
import unicodedata

MAX_USERNAME_LENGTH = 64
_ALLOWED = re.compile(r"[\w.@+-]+")


class InvalidUsername(ValueError):
    """The account name cannot be used; the message says why."""


def normalize_username(text: str) -> str:
    """NFKC, trimmed and case-folded, so "Alice" and "alice " name the same account."""
    name = unicodedata.normalize("NFKC", text).strip().casefold()
    if not name:
        raise InvalidUsername("Enter an account name.")
    if len(name) > MAX_USERNAME_LENGTH:
        raise InvalidUsername(
            f"The account name has {len(name)} characters; the limit is {MAX_USERNAME_LENGTH}."
        )
    if not _ALLOWED.fullmatch(name):
        bad = next(char for char in name if not _ALLOWED.fullmatch(char))
        raise InvalidUsername(
            f'The account name cannot contain "{bad}": use letters, digits and . _ - @ +'
        )
    return name

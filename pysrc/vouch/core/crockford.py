"""Crockford base32 symbols and the mod-37 check symbol (https://www.crockford.com/base32.html).

The mod-37 check is the one codes had before December 2026 (`vouch.core.codes` still reads
them); codes issued since carry three check symbols from `vouch.core.code_check`.

The alphabet leaves out I, L, O and U so that codes survive being read
aloud and copied by hand; on input, O reads as 0 and I/L as 1, in any case.
The check symbol is the integer value of the data symbols modulo 37, written
with the 32 data symbols plus ``*~$=U``. Because 37 is prime and larger
than 32, changing any one data symbol (or swapping two adjacent different
ones) changes the value modulo 37, so the check symbol catches it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CHECK_ALPHABET = ALPHABET + "*~$=U"
CHECK_MODULUS = len(CHECK_ALPHABET)  # 37
BITS_PER_SYMBOL = 5

_VALUES = {symbol: value for value, symbol in enumerate(CHECK_ALPHABET)}
_ALIASES = {"O": 0, "I": 1, "L": 1}

# Characters that only separate groups: ASCII and Unicode dashes (any
# whitespace is skipped too).
SEPARATORS = frozenset("-\u2010\u2011\u2012\u2013\u2014\u2015\u2212")


def is_separator(char: str) -> bool:
    """Whitespace or a dash, including full-width and other compatibility forms."""
    folded = unicodedata.normalize("NFKC", char)
    return folded in SEPARATORS or folded.isspace()


def symbol_value(char: str) -> int | None:
    """The value (0-36) of one typed character, or None if it is not a symbol.

    Case is ignored, O/I/L are read as 0/1/1, and compatibility forms such as
    full-width letters are folded (NFKC) first. Values 32-36 are valid only
    as a check symbol; the caller decides where they may appear.
    """
    folded = unicodedata.normalize("NFKC", char).upper()
    if len(folded) != 1:
        return None
    if folded in _ALIASES:
        return _ALIASES[folded]
    return _VALUES.get(folded)


def encode(number: int, symbols: int) -> str:
    """``number`` as exactly ``symbols`` base32 symbols, most significant first."""
    if number < 0 or number >= 1 << (BITS_PER_SYMBOL * symbols):
        raise ValueError(f"{number} does not fit in {symbols} base32 symbols")
    return "".join(ALPHABET[value] for value in digits(number, symbols))


def digits(number: int, symbols: int) -> list[int]:
    """The values (0-31) of ``encode(number, symbols)``'s symbols."""
    return [(number >> (BITS_PER_SYMBOL * shift)) & 31 for shift in reversed(range(symbols))]


def decode(values: Iterable[int]) -> int:
    """The integer of base32 symbol values (each 0-31), most significant first."""
    number = 0
    for value in values:
        number = (number << BITS_PER_SYMBOL) | value
    return number


def check_symbol(number: int) -> str:
    return CHECK_ALPHABET[number % CHECK_MODULUS]


def check_value(number: int) -> int:
    return number % CHECK_MODULUS

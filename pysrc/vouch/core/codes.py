"""Recovery and backup codes: random bytes shown as grouped Crockford base32 with a check symbol.

A recovery code is 27 data symbols (135 random bits, kept as 17 bytes with
the top bit clear) plus a check symbol: 28 symbols in 7 groups of 4. A
backup code is 19 data symbols (95 bits, 12 bytes with the top bit clear)
plus a check symbol: 20 symbols in 5 groups of 4. Every string of the right
length is a valid encoding, so the check symbol (``vouch.core.crockford``)
is the only redundancy, and the lengths differ so the two kinds cannot be
confused. The bytes are the ``ikm`` of the guardian key.

Parsing forgives case, spaces, dashes, O for 0 and I/L for 1; any other
single-character typo is rejected with ``InvalidCode`` saying what is wrong.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from vouch.core import crockford
from vouch.core.errors import InvalidCode


@dataclass(frozen=True)
class CodeFormat:
    """How one kind of code is laid out."""

    label: str
    data_symbols: int
    group_size: int = 4

    @property
    def bits(self) -> int:
        return self.data_symbols * crockford.BITS_PER_SYMBOL

    @property
    def byte_length(self) -> int:
        return (self.bits + 7) // 8

    @property
    def total_symbols(self) -> int:
        return self.data_symbols + 1


RECOVERY_CODE = CodeFormat("Recovery code", data_symbols=27)
BACKUP_CODE = CodeFormat("Backup code", data_symbols=19)
BACKUP_CODE_COUNT = 10


def _random_code_bytes(fmt: CodeFormat) -> bytes:
    # Keep the top ``bits`` of fresh CSPRNG bytes; secrets works in Pyodide too.
    number = int.from_bytes(secrets.token_bytes(fmt.byte_length), "big")
    number >>= fmt.byte_length * 8 - fmt.bits
    return number.to_bytes(fmt.byte_length, "big")


def format_code(fmt: CodeFormat, data: bytes) -> str:
    """Show code bytes as groups of symbols separated by "-", check symbol last."""
    if len(data) != fmt.byte_length:
        raise ValueError(f"{fmt.label} bytes have length {len(data)}, expected {fmt.byte_length}")
    number = int.from_bytes(data, "big")
    if number >> fmt.bits:
        raise ValueError(f"{fmt.label} bytes have more than {fmt.bits} significant bits")
    symbols = crockford.encode(number, fmt.data_symbols) + crockford.check_symbol(number)
    size = fmt.group_size
    return "-".join(symbols[i : i + size] for i in range(0, len(symbols), size))


def parse_code(fmt: CodeFormat, text: str) -> bytes:
    """The bytes of a typed code, or ``InvalidCode`` naming the first problem found."""
    symbols: list[tuple[int, int, str]] = []  # (value, 1-based position as typed, char)
    for position, char in enumerate(text, start=1):
        if crockford.is_separator(char):
            continue
        value = crockford.symbol_value(char)
        if value is None:
            raise InvalidCode(
                f"{fmt.label} has an invalid character {char!r} at position {position}"
            )
        symbols.append((value, position, char))
    if len(symbols) != fmt.total_symbols:
        raise InvalidCode(f"{fmt.label} has {len(symbols)} symbols, expected {fmt.total_symbols}")
    *data, (check, _, _) = symbols
    for value, position, char in data:
        if value >= len(crockford.ALPHABET):
            raise InvalidCode(
                f"{fmt.label} has an invalid character {char!r} at position {position}"
                f" ({char!r} can only be the last, check symbol)"
            )
    number = crockford.decode(value for value, _, _ in data)
    if crockford.check_value(number) != check:
        raise InvalidCode(
            f"{fmt.label} does not match its check symbol (the last one): probably a typo"
        )
    return number.to_bytes(fmt.byte_length, "big")


def new_recovery_code() -> str:
    """A fresh recovery code (135 bits from the CSPRNG), formatted for display."""
    return format_code(RECOVERY_CODE, _random_code_bytes(RECOVERY_CODE))


def format_recovery_code(data: bytes) -> str:
    return format_code(RECOVERY_CODE, data)


def parse_recovery_code(text: str) -> bytes:
    return parse_code(RECOVERY_CODE, text)


def new_backup_codes(n: int = BACKUP_CODE_COUNT) -> list[str]:
    """``n`` fresh backup codes (95 bits each), formatted for display, all distinct."""
    if n < 1:
        raise ValueError(f"backup code count is {n}, expected at least 1")
    codes: list[str] = []
    while len(codes) < n:
        code = format_code(BACKUP_CODE, _random_code_bytes(BACKUP_CODE))
        if code not in codes:  # a repeat has probability ~2**-88; keep keys distinct anyway
            codes.append(code)
    return codes


def format_backup_code(data: bytes) -> str:
    return format_code(BACKUP_CODE, data)


def parse_backup_code(text: str) -> bytes:
    return parse_code(BACKUP_CODE, text)

"""Recovery and backup codes: random bytes shown as grouped Crockford base32, checked.

A recovery code is 21 data symbols (105 random bits) and a backup code 15 (75 bits), each
followed by three check symbols (`vouch.core.code_check`) from the same 32 letters and
digits: 24 symbols in four groups of six, and 18 in three. The check symbols catch every
single-character typo and every swap of two neighbours, and say which character is wrong
or which two are swapped. Codes issued before December 2026 (28 and 20 symbols in groups
of four, with one mod-37 check symbol that may be `*~$=U`) are still read: a code's length
tells its format, and no two of the four lengths are the same, so the length also tells a
recovery code from a backup code. The bytes are the ``ikm`` of the guardian key.

Parsing forgives case, spaces, dashes, O for 0 and I/L for 1. Anything else is refused
with ``InvalidCode`` in plain words, naming the character when it can be told.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from vouch.core import code_check, crockford, kinds
from vouch.core.errors import InvalidCode


@dataclass(frozen=True)
class CodeFormat:
    """How one kind of code is laid out; `legacy` ones have one mod-37 check symbol."""

    label: str
    data_symbols: int
    group_size: int
    legacy: bool = False

    @property
    def bits(self) -> int:
        return self.data_symbols * crockford.BITS_PER_SYMBOL

    @property
    def byte_length(self) -> int:
        return (self.bits + 7) // 8

    @property
    def check_symbols(self) -> int:
        return 1 if self.legacy else code_check.CHECK_SYMBOLS

    @property
    def total_symbols(self) -> int:
        return self.data_symbols + self.check_symbols


RECOVERY_CODE = CodeFormat("Recovery code", data_symbols=21, group_size=6)
BACKUP_CODE = CodeFormat("Backup code", data_symbols=15, group_size=6)
LEGACY_RECOVERY_CODE = CodeFormat("Recovery code", data_symbols=27, group_size=4, legacy=True)
LEGACY_BACKUP_CODE = CodeFormat("Backup code", data_symbols=19, group_size=4, legacy=True)
BACKUP_CODE_COUNT = 10

# Each kind as it is issued now, then as it was; the guardian kind a code's length tells.
RECOVERY_FORMATS = (RECOVERY_CODE, LEGACY_RECOVERY_CODE)
BACKUP_FORMATS = (BACKUP_CODE, LEGACY_BACKUP_CODE)
_KIND_OF_LENGTH = {
    fmt.total_symbols: kind.name
    for kind, formats in (
        (kinds.RECOVERY_CODE, RECOVERY_FORMATS),
        (kinds.BACKUP_CODES, BACKUP_FORMATS),
    )
    for fmt in formats
}


def _random_code_bytes(fmt: CodeFormat) -> bytes:
    # Keep the top ``bits`` of fresh CSPRNG bytes; secrets works in Pyodide too.
    number = int.from_bytes(secrets.token_bytes(fmt.byte_length), "big")
    number >>= fmt.byte_length * 8 - fmt.bits
    return number.to_bytes(fmt.byte_length, "big")


def format_code(fmt: CodeFormat, data: bytes) -> str:
    """Show code bytes as groups of symbols separated by "-", check symbols last."""
    if len(data) != fmt.byte_length:
        raise ValueError(f"{fmt.label} bytes have length {len(data)}, expected {fmt.byte_length}")
    number = int.from_bytes(data, "big")
    if number >> fmt.bits:
        raise ValueError(f"{fmt.label} bytes have more than {fmt.bits} significant bits")
    symbols = crockford.encode(number, fmt.data_symbols)
    if fmt.legacy:
        symbols += crockford.check_symbol(number)
    else:
        checks = code_check.check_symbols(crockford.digits(number, fmt.data_symbols))
        symbols += "".join(crockford.ALPHABET[value] for value in checks)
    size = fmt.group_size
    return "-".join(symbols[i : i + size] for i in range(0, len(symbols), size))


@dataclass(frozen=True)
class _Typed:
    value: int
    char: str
    place: int  # in the text as typed, 1-based


def _symbols(label: str, text: str) -> list[_Typed]:
    """The typed symbols, separators dropped; InvalidCode for a character codes never have
    (its place counted in the text as typed, spaces and dashes included)."""
    typed: list[_Typed] = []
    for place, char in enumerate(text, start=1):
        if crockford.is_separator(char):
            continue
        value = crockford.symbol_value(char)
        if value is None:
            raise _not_a_symbol(label, char, place)
        typed.append(_Typed(value, char, place))
    return typed


def _not_a_symbol(label: str, char: str, place: int) -> InvalidCode:
    return InvalidCode(
        f"\u201c{char}\u201d (the {_numbered(place)} character typed) is not in"
        f" {_article(label)} {label.lower()}: codes have the digits 0-9 and the letters A-Z"
        " but I, L, O and U."
    )


def parse_code(formats: Sequence[CodeFormat], text: str) -> bytes:
    """The bytes of a typed code in one of `formats` (one kind's, newest first), or
    ``InvalidCode`` saying, in plain words, what looks wrong."""
    label = formats[0].label
    typed = _symbols(label, text)
    fmt = next((f for f in formats if f.total_symbols == len(typed)), None)
    if fmt is None:
        raise _wrong_length(formats, typed, text)
    data, check = typed[: fmt.data_symbols], typed[fmt.data_symbols :]
    for symbol in data:
        if symbol.value >= len(crockford.ALPHABET):  # `*~$=U`: a legacy check symbol only
            raise _not_a_symbol(label, symbol.char, symbol.place)
    number = crockford.decode(symbol.value for symbol in data)
    if fmt.legacy:
        if crockford.check_value(number) != check[0].value:
            raise InvalidCode(
                f"This {label.lower()} does not match its last character, a check: one of its"
                " characters is probably mistyped."
            )
        return number.to_bytes(fmt.byte_length, "big")
    if any(symbol.value >= len(crockford.ALPHABET) for symbol in check):
        wrong = next(n for n, s in enumerate(typed) if s.value >= len(crockford.ALPHABET))
        raise InvalidCode(_where(fmt, code_check.Diagnosis(wrong=wrong), label))
    diagnosis = code_check.diagnose([symbol.value for symbol in typed])
    if diagnosis is not None:
        raise InvalidCode(_where(fmt, diagnosis, label), positions=_positions(diagnosis))
    return number.to_bytes(fmt.byte_length, "big")


def _wrong_length(formats: Sequence[CodeFormat], typed: list[_Typed], text: str) -> InvalidCode:
    label = formats[0].label
    kind = _KIND_OF_LENGTH.get(len(typed))
    if kind is not None and kind != _kind_of(formats):
        other = "backup code" if kind == kinds.BACKUP_CODES.name else "recovery code"
        return InvalidCode(
            f"This looks like {_article(other)} {other}, not {_article(label)} {label.lower()}.",
            looks_like=kind,
        )
    expected = _format_typed_like(formats, text)
    count = expected.total_symbols
    if not typed:
        return InvalidCode(f"Type the {label.lower()}: {count} letters and digits.")
    return InvalidCode(
        f"This {label.lower()} has {len(typed)} letters and digits; it should have {count}"
        f" ({_groups(expected)}).",
    )


def _format_typed_like(formats: Sequence[CodeFormat], text: str) -> CodeFormat:
    """The format whose groups the typed text has (a legacy code's are of four), else the
    newest: what a code that is too long or short was probably meant to be."""
    groups = [len(group) for group in _typed_groups(text)]
    for fmt in formats:
        if len(groups) > 1 and all(size == fmt.group_size for size in groups[:-1]):
            return fmt
    return formats[0]


def _typed_groups(text: str) -> list[str]:
    groups: list[str] = []
    current = ""
    for char in text:
        if crockford.is_separator(char):
            if current:
                groups.append(current)
            current = ""
        else:
            current += char
    return [*groups, current] if current else groups


def _kind_of(formats: Sequence[CodeFormat]) -> str:
    return _KIND_OF_LENGTH[formats[0].total_symbols]


def _groups(fmt: CodeFormat) -> str:
    count = fmt.total_symbols // fmt.group_size
    return f"{_number_word(count)} groups of {_number_word(fmt.group_size)}"


def _where(fmt: CodeFormat, diagnosis: code_check.Diagnosis, label: str) -> str:
    """Where the typo is, in the groups the person sees."""
    if diagnosis.wrong is not None:
        return f"The {_place(fmt, diagnosis.wrong)} looks wrong."
    if diagnosis.swapped is not None:
        first, second = diagnosis.swapped, diagnosis.swapped + 1
        if first // fmt.group_size == second // fmt.group_size:
            group = first // fmt.group_size + 1
            return (
                f"The {_ordinal(first % fmt.group_size + 1)} and"
                f" {_ordinal(second % fmt.group_size + 1)} characters of group {group} look"
                " swapped."
            )
        return (
            f"The last character of group {first // fmt.group_size + 1} and the first of group"
            f" {second // fmt.group_size + 1} look swapped."
        )
    return f"This {label.lower()} does not check: more than one character is probably mistyped."


def _positions(diagnosis: code_check.Diagnosis) -> tuple[int, ...]:
    if diagnosis.wrong is not None:
        return (diagnosis.wrong,)
    if diagnosis.swapped is not None:
        return (diagnosis.swapped, diagnosis.swapped + 1)
    return ()


def _place(fmt: CodeFormat, position: int) -> str:
    group, within = divmod(position, fmt.group_size)
    if within == fmt.group_size - 1:
        return f"last character of group {group + 1}"
    return f"{_ordinal(within + 1)} character of group {group + 1}"


def _ordinal(n: int) -> str:
    """A place within a group (at most six): in words."""
    return ("first", "second", "third", "fourth", "fifth", "sixth")[n - 1]


def _numbered(n: int) -> str:
    """A place in the typed text: 1st, 2nd, 7th, 23rd."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _number_word(n: int) -> str:
    return {3: "three", 4: "four", 5: "five", 6: "six", 7: "seven"}.get(n, str(n))


def _article(noun: str) -> str:
    return "an" if noun[:1].lower() in "aeiou" else "a"


def new_recovery_code() -> str:
    """A fresh recovery code (105 bits from the CSPRNG), formatted for display."""
    return format_code(RECOVERY_CODE, _random_code_bytes(RECOVERY_CODE))


def format_recovery_code(data: bytes) -> str:
    """A recovery code's bytes as shown: in the format of their length (new or legacy)."""
    return format_code(_format_for(RECOVERY_FORMATS, data), data)


def parse_recovery_code(text: str) -> bytes:
    return parse_code(RECOVERY_FORMATS, text)


def new_backup_codes(n: int = BACKUP_CODE_COUNT) -> list[str]:
    """``n`` fresh backup codes (75 bits each), formatted for display, all distinct."""
    if n < 1:
        raise ValueError(f"backup code count is {n}, expected at least 1")
    codes: list[str] = []
    while len(codes) < n:
        code = format_code(BACKUP_CODE, _random_code_bytes(BACKUP_CODE))
        if code not in codes:  # a repeat has probability ~2**-68; keep keys distinct anyway
            codes.append(code)
    return codes


def format_backup_code(data: bytes) -> str:
    return format_code(_format_for(BACKUP_FORMATS, data), data)


def parse_backup_code(text: str) -> bytes:
    return parse_code(BACKUP_FORMATS, text)


def byte_lengths(formats: Sequence[CodeFormat]) -> frozenset[int]:
    """The lengths of bytes a kind's codes parse to (one per format)."""
    return frozenset(fmt.byte_length for fmt in formats)


def _format_for(formats: Sequence[CodeFormat], data: bytes) -> CodeFormat:
    for fmt in formats:
        if fmt.byte_length == len(data):
            return fmt
    lengths = " or ".join(str(fmt.byte_length) for fmt in formats)
    raise ValueError(f"{formats[0].label} bytes have length {len(data)}, expected {lengths}")

"""Recovery and backup codes: layout, plain-words errors that say where, typo properties,
and codes in the legacy format (issued before December 2026) still read."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vouch.core import code_check, codes, crockford
from vouch.core.errors import InvalidCode

# Legacy codes, as issued before December 2026 (the golden vectors hold their keys).
LEGACY_RECOVERY_BYTES = bytes.fromhex("2f5b98b05d13c4c67c0b874f16001509ca")
LEGACY_RECOVERY_TEXT = "BTVK-2R5T-4Y4R-SY0Q-1TF2-R01A-2EA6"
LEGACY_BACKUP_BYTES = bytes.fromhex("0123456789abcdef01234567")
LEGACY_BACKUP_TEXT = "0938-NKRK-AYDX-W0J6-HB7*"
# Today's.
RECOVERY_BYTES = bytes.fromhex("015f3a9c1e2d4f6071829304a5b6")  # 105 bits: top 7 clear
BACKUP_BYTES = bytes.fromhex("042c1b0a99887766ff11")  # 75 bits: top 5 clear

FORMATS = [
    pytest.param(codes.RECOVERY_CODE, codes.RECOVERY_FORMATS, id="recovery"),
    pytest.param(codes.BACKUP_CODE, codes.BACKUP_FORMATS, id="backup"),
    pytest.param(codes.LEGACY_RECOVERY_CODE, codes.RECOVERY_FORMATS, id="legacy-recovery"),
    pytest.param(codes.LEGACY_BACKUP_CODE, codes.BACKUP_FORMATS, id="legacy-backup"),
]
CURRENT = [
    pytest.param(codes.RECOVERY_CODE, codes.RECOVERY_FORMATS, id="recovery"),
    pytest.param(codes.BACKUP_CODE, codes.BACKUP_FORMATS, id="backup"),
]

# Everything a slip of the finger could plausibly produce, plus some Unicode.
TYPO_CHARS = sorted(
    set(crockford.CHECK_ALPHABET)
    | set(crockford.CHECK_ALPHABET.lower())
    | set("OoIiLl -_.#,/\t\u2013\uff10\uff21")
)


def code_bytes(fmt: codes.CodeFormat) -> st.SearchStrategy[bytes]:
    return st.integers(min_value=0, max_value=(1 << fmt.bits) - 1).map(
        lambda n: n.to_bytes(fmt.byte_length, "big")
    )


def example(fmt: codes.CodeFormat) -> bytes:
    data = bytes.fromhex("5a3c96e1f00d2b4c7e8a19b2c3d4e5f607")[: fmt.byte_length]
    number = int.from_bytes(data, "big") >> (fmt.byte_length * 8 - fmt.bits)
    return number.to_bytes(fmt.byte_length, "big")


def parses_to_same_or_is_rejected(
    formats: tuple[codes.CodeFormat, ...], typed: str, data: bytes
) -> None:
    try:
        parsed = codes.parse_code(formats, typed)
    except InvalidCode:
        return
    assert parsed == data, f"{typed!r} parsed to different bytes"


def refusal(parse: object, typed: str) -> InvalidCode:
    assert callable(parse)
    with pytest.raises(InvalidCode) as caught:
        parse(typed)
    return caught.value


def test_layout() -> None:
    assert (codes.RECOVERY_CODE.bits, codes.RECOVERY_CODE.byte_length) == (105, 14)
    assert (codes.BACKUP_CODE.bits, codes.BACKUP_CODE.byte_length) == (75, 10)
    assert (codes.LEGACY_RECOVERY_CODE.bits, codes.LEGACY_RECOVERY_CODE.byte_length) == (135, 17)
    assert (codes.LEGACY_BACKUP_CODE.bits, codes.LEGACY_BACKUP_CODE.byte_length) == (95, 12)
    # Four lengths, all different: a code's length tells its kind and its format.
    lengths = [fmt.total_symbols for fmt in (*codes.RECOVERY_FORMATS, *codes.BACKUP_FORMATS)]
    assert lengths == [24, 28, 18, 20]


def test_legacy_codes_read_and_show_as_they_were_issued() -> None:
    assert codes.parse_recovery_code(LEGACY_RECOVERY_TEXT) == LEGACY_RECOVERY_BYTES
    assert codes.format_recovery_code(LEGACY_RECOVERY_BYTES) == LEGACY_RECOVERY_TEXT
    assert codes.parse_backup_code(LEGACY_BACKUP_TEXT) == LEGACY_BACKUP_BYTES
    assert codes.format_backup_code(LEGACY_BACKUP_BYTES) == LEGACY_BACKUP_TEXT


def test_new_codes_use_only_the_32_symbols_and_fit_one_line() -> None:
    recovery = codes.new_recovery_code()
    assert [len(group) for group in recovery.split("-")] == [6] * 4
    backups = codes.new_backup_codes()
    assert len(set(backups)) == 10
    assert all([len(group) for group in code.split("-")] == [6] * 3 for code in backups)
    for code in [recovery, *backups]:
        assert set(code) <= set(crockford.ALPHABET) | {"-"}
    assert len(codes.parse_recovery_code(recovery)) == 14
    assert all(len(codes.parse_backup_code(code)) == 10 for code in backups)


def test_new_backup_codes_count_must_be_positive() -> None:
    with pytest.raises(ValueError, match=r"^backup code count is 0, expected at least 1$"):
        codes.new_backup_codes(0)


def test_parsing_forgives_case_spacing_and_lookalikes() -> None:
    text = codes.format_recovery_code(RECOVERY_BYTES)
    for typed in [
        text,
        text.lower(),
        text.replace("-", ""),
        text.replace("-", " "),
        f"  {text.lower().replace('0', 'o').replace('1', 'l')}\n",
        "".join(chr(ord(c) + 0xFEE0) if c.isalnum() else "\u2013" for c in text),  # full-width
    ]:
        assert codes.parse_recovery_code(typed) == RECOVERY_BYTES, typed


def test_one_wrong_character_is_named_by_its_group() -> None:
    text = codes.format_backup_code(BACKUP_BYTES)  # three groups of six
    symbols = text.replace("-", "")
    for position in range(len(symbols)):
        wrong = "Z" if symbols[position] != "Z" else "Y"
        typed = symbols[:position] + wrong + symbols[position + 1 :]
        error = refusal(codes.parse_backup_code, typed)
        group, within = divmod(position, 6)
        place = "last" if within == 5 else ["first", "second", "third", "fourth", "fifth"][within]
        assert str(error) == f"The {place} character of group {group + 1} looks wrong."
        assert error.positions == (position,)


def test_two_swapped_neighbours_are_named() -> None:
    text = codes.format_recovery_code(RECOVERY_BYTES)
    symbols = text.replace("-", "")
    swapped = symbols[:2] + symbols[3] + symbols[2] + symbols[4:]
    assert symbols[2] != symbols[3]
    error = refusal(codes.parse_recovery_code, swapped)
    assert str(error) == "The third and fourth characters of group 1 look swapped."
    assert error.positions == (2, 3)
    across = symbols[:5] + symbols[6] + symbols[5] + symbols[7:]
    if symbols[5] != symbols[6]:
        error = refusal(codes.parse_recovery_code, across)
        assert str(error) == "The last character of group 1 and the first of group 2 look swapped."


@pytest.mark.parametrize(
    ("typed", "message", "looks_like"),
    [
        ("", "Type the recovery code: 24 letters and digits.", None),
        (
            "ABCDEF-GHJKMN",
            "This recovery code has 12 letters and digits; it should have 24 (four groups of six).",
            None,
        ),
        (
            "BTVK-2R5T-4Y4R-SY0Q-1TF2-R01A-2E",  # a legacy code, in its groups of four
            "This recovery code has 26 letters and digits; it should have 28 (seven groups of"
            " four).",
            None,
        ),
        (LEGACY_BACKUP_TEXT, "This looks like a backup code, not a recovery code.", "backup_codes"),
        (
            "AB#D",
            "\u201c#\u201d (the 3rd character typed) is not in a recovery code: codes"
            " have the digits 0-9 and the letters A-Z but I, L, O and U.",
            None,
        ),
        (
            "UTVK-2R5T-4Y4R-SY0Q-1TF2-R01A-2EA6",
            "\u201cU\u201d (the 1st character typed) is not"
            " in a recovery code: codes have the digits 0-9 and the letters A-Z but I, L, O and"
            " U.",
            None,
        ),
        (
            "BTVK-2Z5T-4Y4R-SY0Q-1TF2-R01A-2EA6",
            "This recovery code does not match its last"
            " character, a check: one of its characters is probably mistyped.",
            None,
        ),
    ],
)
def test_recovery_code_errors_say_what_to_do(
    typed: str, message: str, looks_like: str | None
) -> None:
    error = refusal(codes.parse_recovery_code, typed)
    assert str(error) == message
    assert error.looks_like == looks_like


def test_a_recovery_code_in_the_backup_code_box_is_recognised() -> None:
    for text in (codes.new_recovery_code(), LEGACY_RECOVERY_TEXT):
        error = refusal(codes.parse_backup_code, text)
        assert str(error) == "This looks like a recovery code, not a backup code."
        assert error.looks_like == "recovery_code"


def test_invalid_code_is_a_value_error() -> None:
    assert issubclass(InvalidCode, ValueError)
    assert InvalidCode.code == "invalid_code"


def test_format_refuses_bytes_of_the_wrong_shape() -> None:
    with pytest.raises(
        ValueError, match=r"^Recovery code bytes have length 16, expected 14 or 17$"
    ):
        codes.format_recovery_code(bytes(16))
    with pytest.raises(
        ValueError, match=r"^Recovery code bytes have more than 105 significant bits$"
    ):
        codes.format_recovery_code(b"\x80" + bytes(13))


def test_legacy_check_symbol_covers_all_37_values() -> None:
    assert crockford.CHECK_MODULUS == 37
    assert {crockford.check_symbol(n) for n in range(37)} == set(crockford.CHECK_ALPHABET)
    assert {crockford.symbol_value(c) for c in crockford.CHECK_ALPHABET} == set(range(37))


@given(data=st.lists(st.integers(0, 31), min_size=1, max_size=28))
def test_check_symbols_locate_every_single_error_and_every_swap(data: list[int]) -> None:
    code = [*data, *code_check.check_symbols(data)]
    assert code_check.diagnose(code) is None
    for position in range(len(code)):
        for change in range(1, 32):
            typed = list(code)
            typed[position] ^= change
            assert code_check.diagnose(typed) == code_check.Diagnosis(wrong=position)
    for first in range(len(code) - 1):
        if code[first] != code[first + 1]:
            typed = list(code)
            typed[first], typed[first + 1] = typed[first + 1], typed[first]
            assert code_check.diagnose(typed) == code_check.Diagnosis(swapped=first)


@pytest.mark.parametrize(("fmt", "formats"), FORMATS)
def test_every_single_substitution_is_caught_or_harmless(
    fmt: codes.CodeFormat, formats: tuple[codes.CodeFormat, ...]
) -> None:
    """Exhaustive for one code: each position, each plausible wrong character."""
    data = example(fmt)
    text = codes.format_code(fmt, data)
    for index in range(len(text)):
        for char in TYPO_CHARS:
            typed = text[:index] + char + text[index + 1 :]
            parses_to_same_or_is_rejected(formats, typed, data)


@pytest.mark.parametrize(("fmt", "formats"), FORMATS)
def test_every_adjacent_transposition_is_caught_or_harmless(
    fmt: codes.CodeFormat, formats: tuple[codes.CodeFormat, ...]
) -> None:
    data = bytes(range(7, 7 + fmt.byte_length))
    data = (int.from_bytes(data, "big") >> (fmt.byte_length * 8 - fmt.bits)).to_bytes(
        fmt.byte_length, "big"
    )
    text = codes.format_code(fmt, data).replace("-", "")
    for index in range(len(text) - 1):
        typed = text[:index] + text[index + 1] + text[index] + text[index + 2 :]
        parses_to_same_or_is_rejected(formats, typed, data)


@pytest.mark.parametrize(("fmt", "formats"), FORMATS)
@given(data=st.data())
def test_round_trip(
    fmt: codes.CodeFormat, formats: tuple[codes.CodeFormat, ...], data: st.DataObject
) -> None:
    raw = data.draw(code_bytes(fmt))
    assert codes.parse_code(formats, codes.format_code(fmt, raw)) == raw


@pytest.mark.parametrize(("fmt", "formats"), FORMATS)
@given(data=st.data())
def test_single_character_typos_never_change_the_bytes(
    fmt: codes.CodeFormat, formats: tuple[codes.CodeFormat, ...], data: st.DataObject
) -> None:
    raw = data.draw(code_bytes(fmt))
    text = codes.format_code(fmt, raw)
    index = data.draw(st.integers(min_value=0, max_value=len(text) - 1))
    char = data.draw(st.sampled_from(TYPO_CHARS) | st.characters())
    typo = data.draw(st.sampled_from(["substitute", "delete", "insert"]))
    if typo == "substitute":
        typed = text[:index] + char + text[index + 1 :]
    elif typo == "delete":
        typed = text[:index] + text[index + 1 :]
    else:
        typed = text[:index] + char + text[index:]
    parses_to_same_or_is_rejected(formats, typed, raw)


@pytest.mark.parametrize(("fmt", "formats"), CURRENT)
def test_a_new_code_fits_a_phone_line(
    fmt: codes.CodeFormat, formats: tuple[codes.CodeFormat, ...]
) -> None:
    """At most 27 characters with its dashes (the legacy recovery code had 34): one line
    of a 390 px screen at the dialog's code size."""
    assert len(codes.format_code(fmt, example(fmt))) <= 27
    assert formats[0] is fmt

"""Recovery and backup codes: layout, exact error messages, and typo properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vouch.core import codes, crockford
from vouch.core.errors import InvalidCode

RECOVERY_BYTES = bytes.fromhex("2f5b98b05d13c4c67c0b874f16001509ca")
RECOVERY_TEXT = "BTVK-2R5T-4Y4R-SY0Q-1TF2-R01A-2EA6"
BACKUP_BYTES = bytes.fromhex("0123456789abcdef01234567")
BACKUP_TEXT = "0938-NKRK-AYDX-W0J6-HB7*"

FORMATS = [
    pytest.param(codes.RECOVERY_CODE, id="recovery"),
    pytest.param(codes.BACKUP_CODE, id="backup"),
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


def parses_to_same_or_is_rejected(fmt: codes.CodeFormat, typed: str, data: bytes) -> None:
    try:
        parsed = codes.parse_code(fmt, typed)
    except InvalidCode:
        return
    assert parsed == data, f"{typed!r} parsed to different bytes"


def test_layout() -> None:
    assert codes.RECOVERY_CODE.bits == 135
    assert codes.RECOVERY_CODE.byte_length == 17
    assert codes.BACKUP_CODE.bits == 95
    assert codes.BACKUP_CODE.byte_length == 12


def test_formats_known_code() -> None:
    assert codes.format_recovery_code(RECOVERY_BYTES) == RECOVERY_TEXT
    assert codes.format_backup_code(BACKUP_BYTES) == BACKUP_TEXT


def test_new_codes_have_the_documented_shape() -> None:
    recovery = codes.new_recovery_code()
    assert [len(group) for group in recovery.split("-")] == [4] * 7
    backups = codes.new_backup_codes()
    assert len(backups) == 10
    assert len(set(backups)) == 10
    assert all([len(group) for group in code.split("-")] == [4] * 5 for code in backups)
    assert len(codes.parse_recovery_code(recovery)) == 17
    assert all(len(codes.parse_backup_code(code)) == 12 for code in backups)


def test_new_backup_codes_count_must_be_positive() -> None:
    with pytest.raises(ValueError, match=r"^backup code count is 0, expected at least 1$"):
        codes.new_backup_codes(0)


@pytest.mark.parametrize(
    "typed",
    [
        RECOVERY_TEXT,
        RECOVERY_TEXT.lower(),
        RECOVERY_TEXT.replace("-", ""),
        RECOVERY_TEXT.replace("-", " "),
        "  btvk 2r5t\t4y4r-syoq-ltf2-roIa-2ea6\n",
        "\uff22TVK\u20132R5T 4Y4R SY0Q 1TF2 R01A 2EA6",  # full-width B, en dash
    ],
)
def test_parsing_forgives_case_spacing_and_lookalikes(typed: str) -> None:
    assert codes.parse_recovery_code(typed) == RECOVERY_BYTES


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Recovery code has 0 symbols, expected 28"),
        (RECOVERY_TEXT[:-1], "Recovery code has 27 symbols, expected 28"),
        (RECOVERY_TEXT + "0", "Recovery code has 29 symbols, expected 28"),
        (BACKUP_TEXT, "Recovery code has 20 symbols, expected 28"),
        (
            "BTVK-2#5T-4Y4R-SY0Q-1TF2-R01A-2EA6",
            "Recovery code has an invalid character '#' at position 7",
        ),
        (
            "BTVK 2R5T 4Y4R SYÜQ 1TF2 R01A 2EA6",
            "Recovery code has an invalid character 'Ü' at position 18",
        ),
        (
            "BTVK-2R5T-4Y4R-SY0Q-1TF2-R01A-2EA6-",
            None,  # a trailing dash is fine
        ),
        (
            "UTVK-2R5T-4Y4R-SY0Q-1TF2-R01A-2EA6",
            "Recovery code has an invalid character 'U' at position 1"
            " ('U' can only be the last, check symbol)",
        ),
        (
            "BTVK-2Z5T-4Y4R-SY0Q-1TF2-R01A-2EA6",
            "Recovery code does not match its check symbol (the last one): probably a typo",
        ),
        (
            "BTVK-2R5T-4Y4R-SY0Q-1TF2-R01A-2EA7",
            "Recovery code does not match its check symbol (the last one): probably a typo",
        ),
    ],
)
def test_recovery_code_errors_say_what_is_wrong(typed: str, message: str | None) -> None:
    if message is None:
        assert codes.parse_recovery_code(typed) == RECOVERY_BYTES
        return
    with pytest.raises(InvalidCode) as caught:
        codes.parse_recovery_code(typed)
    assert str(caught.value) == message


def test_backup_code_errors_name_the_kind() -> None:
    with pytest.raises(InvalidCode, match=r"^Backup code has 28 symbols, expected 20$"):
        codes.parse_backup_code(RECOVERY_TEXT)
    with pytest.raises(InvalidCode, match=r"probably a typo$"):
        codes.parse_backup_code("0398-NKRK-AYDX-W0J6-HB7*")  # adjacent transposition


def test_invalid_code_is_a_value_error() -> None:
    assert issubclass(InvalidCode, ValueError)
    assert InvalidCode.code == "invalid_code"


def test_format_refuses_bytes_of_the_wrong_shape() -> None:
    with pytest.raises(ValueError, match=r"^Recovery code bytes have length 16, expected 17$"):
        codes.format_recovery_code(bytes(16))
    with pytest.raises(
        ValueError, match=r"^Recovery code bytes have more than 135 significant bits$"
    ):
        codes.format_recovery_code(b"\x80" + bytes(16))


def test_check_symbol_covers_all_37_values() -> None:
    assert crockford.CHECK_MODULUS == 37
    assert {crockford.check_symbol(n) for n in range(37)} == set(crockford.CHECK_ALPHABET)
    assert {crockford.symbol_value(c) for c in crockford.CHECK_ALPHABET} == set(range(37))


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_single_substitution_is_caught_or_harmless(fmt: codes.CodeFormat) -> None:
    """Exhaustive for one code: each position, each plausible wrong character."""
    data = bytes.fromhex("5a3c96e1f00d2b4c7e8a19b2c3d4e5f607")[: fmt.byte_length]
    data = bytes([data[0] & 0x7F]) + data[1:]
    text = codes.format_code(fmt, data)
    for index in range(len(text)):
        for char in TYPO_CHARS:
            typed = text[:index] + char + text[index + 1 :]
            parses_to_same_or_is_rejected(fmt, typed, data)


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_adjacent_transposition_is_caught_or_harmless(fmt: codes.CodeFormat) -> None:
    data = bytes(range(7, 7 + fmt.byte_length))
    text = codes.format_code(fmt, data).replace("-", "")
    for index in range(len(text) - 1):
        typed = text[:index] + text[index + 1] + text[index] + text[index + 2 :]
        parses_to_same_or_is_rejected(fmt, typed, data)


@pytest.mark.parametrize("fmt", FORMATS)
@given(data=st.data())
def test_round_trip(fmt: codes.CodeFormat, data: st.DataObject) -> None:
    raw = data.draw(code_bytes(fmt))
    assert codes.parse_code(fmt, codes.format_code(fmt, raw)) == raw


@pytest.mark.parametrize("fmt", FORMATS)
@given(data=st.data())
def test_single_character_typos_never_change_the_bytes(
    fmt: codes.CodeFormat, data: st.DataObject
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
    parses_to_same_or_is_rejected(fmt, typed, raw)

"""Three check symbols for a code of base32 symbols: a Reed-Solomon code over GF(32).

Each symbol (0-31) is an element of GF(32); a code of n symbols c_0 .. c_{n-1}, data first
and the three check symbols last, is valid when its three syndromes are zero:

    S_k = c_0 + c_1 a^k + c_2 a^(2k) + ... + c_{n-1} a^((n-1)k)      for k = 0, 1, 2

with `a` a primitive element. That is a code of minimum distance 4 (n <= 31): every change
of up to three symbols is detected, so every single-character typo and every swap of two
neighbours. It also says where the typo is:

- one wrong symbol e at position j gives S0 = e, S1 = e a^j, S2 = e a^(2j): a^j = S1 / S0
  (and S1^2 = S0 S2 confirms it);
- a swap of neighbours j, j+1 (both changed by the same e, which cancels in S0) gives
  S0 = 0, S1 = e a^j (1 + a), S2 = e a^(2j) (1 + a)^2: a^j (1 + a) = S2 / S1 (and the two
  typed symbols must differ by e).

No single typo looks like a swap (S0 is zero only for the swap), so the two are told apart.
This is an error-detecting code for typing, not cryptography: a code's secrecy is its
random data symbols.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

CHECK_SYMBOLS = 3
MAX_SYMBOLS = 31  # the positions a^0 .. a^30 are distinct

_POLYNOMIAL = 0b100101  # x^5 + x^2 + 1, primitive: `a` = x generates all 31 non-zero elements


def _tables() -> tuple[list[int], list[int]]:
    """a^i for i in 0..61 (twice round, so a sum of two logs needs no modulo), and logs."""
    exp, log = [0] * 62, [0] * 32
    value = 1
    for exponent in range(31):
        exp[exponent] = exp[exponent + 31] = value
        log[value] = exponent
        value <<= 1
        if value & 0b100000:
            value ^= _POLYNOMIAL
    return exp, log


_EXP, _LOG = _tables()


def _mul(x: int, y: int) -> int:
    return 0 if x == 0 or y == 0 else _EXP[_LOG[x] + _LOG[y]]


def _div(x: int, y: int) -> int:
    return 0 if x == 0 else _EXP[_LOG[x] - _LOG[y] + 31]


def _power(position: int, k: int) -> int:
    """a^(position k)."""
    return _EXP[position * k % 31]


def _syndromes(symbols: Sequence[int]) -> tuple[int, ...]:
    sums = [0] * CHECK_SYMBOLS
    for position, value in enumerate(symbols):
        for k in range(CHECK_SYMBOLS):
            sums[k] ^= _mul(value, _power(position, k))
    return tuple(sums)


def check_symbols(data: Sequence[int]) -> tuple[int, ...]:
    """The check symbols that make `data` + them a valid code."""
    n = len(data) + CHECK_SYMBOLS
    if n > MAX_SYMBOLS:
        raise ValueError(f"a code has at most {MAX_SYMBOLS} symbols, this one {n}")
    # For each k: sum over the check positions m of p_m a^(mk) = S_k(data) (in GF(2^5),
    # minus is plus). A Vandermonde system in distinct a^m: one solution.
    rows = [
        [_power(m, k) for m in range(len(data), n)] + [syndrome]
        for k, syndrome in enumerate(_syndromes(data))
    ]
    for column in range(CHECK_SYMBOLS):
        pivot = next(r for r in range(column, CHECK_SYMBOLS) if rows[r][column])
        rows[column], rows[pivot] = rows[pivot], rows[column]
        inverse = _div(1, rows[column][column])
        rows[column] = [_mul(inverse, value) for value in rows[column]]
        for r in range(CHECK_SYMBOLS):
            if r != column and rows[r][column]:
                factor = rows[r][column]
                rows[r] = [x ^ _mul(factor, y) for x, y in zip(rows[r], rows[column], strict=True)]
    return tuple(row[-1] for row in rows)


@dataclass(frozen=True)
class Diagnosis:
    """What is wrong with a code that does not check: where, when that can be told."""

    wrong: int | None = None  # the one symbol (0-based) that, changed, makes it check
    swapped: int | None = None  # the first of two neighbours that, swapped, make it check


def diagnose(symbols: Sequence[int]) -> Diagnosis | None:
    """None if `symbols` (data and check symbols) is a valid code; else what is wrong."""
    s0, s1, s2 = _syndromes(symbols)
    if s0 == s1 == s2 == 0:
        return None
    n = len(symbols)
    if s0 and s1 and _mul(s1, s1) == _mul(s0, s2):
        position = _LOG[_div(s1, s0)]
        if position < n:
            return Diagnosis(wrong=position)
    if s0 == 0 and s1 and s2:
        position = (_LOG[_div(s2, s1)] - _LOG[1 ^ _EXP[1]]) % 31
        if position < n - 1:
            change = _div(s1, _mul(_EXP[position], 1 ^ _EXP[1]))
            if symbols[position] ^ symbols[position + 1] == change:
                return Diagnosis(swapped=position)
    return Diagnosis()

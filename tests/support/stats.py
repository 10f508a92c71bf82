"""How far apart two samples of timings are, for the decoy tests and the decoy benchmark."""

from __future__ import annotations

import bisect


def auc(higher: list[float], lower: list[float]) -> float:
    """P(a sample of `higher` exceeds one of `lower`), ties counted half: 0.5 when the two
    cannot be told apart."""
    ordered = sorted(lower)
    wins = 0.0
    for value in higher:
        below = bisect.bisect_left(ordered, value)
        wins += below + (bisect.bisect_right(ordered, value) - below) / 2
    return wins / (len(higher) * len(ordered))


def paired(higher: list[float], lower: list[float]) -> float:
    """P(`higher[i]` exceeds `lower[i]`), ties counted half, for samples taken in pairs back
    to back: the load of a busy machine, which drifts over a run, weighs on both halves of a
    pair alike, where it would separate whole samples taken minutes apart."""
    if len(higher) != len(lower) or not higher:
        raise ValueError("paired samples need the same, non-zero, length")
    wins = sum(1.0 if a > b else 0.5 if a == b else 0.0 for a, b in zip(higher, lower, strict=True))
    return wins / len(higher)

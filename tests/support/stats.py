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

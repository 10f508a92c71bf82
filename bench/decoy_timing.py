"""Recovery start for known and unknown names: timing and shape distributions (issue 12).

    .venv/bin/python -m bench.decoy_timing [--names 200] [--rounds 5] [--tree PATH]

A serve.py of its own (rate limits relaxed) gets `--names` accounts, each with one of the
configurations decoys take (`DECOY_SHAPES`, in turn) and made with the dialog's own
builders, and as many names that no account has. Then, `--rounds` times, every name's
recovery start is timed, in an order shuffled each round (known and unknown interleaved).
Printed: percentiles of the start's latency for each group, the probability that a known
name's start is slower than an unknown one's (0.5: they cannot be told apart), and how
the answers' shapes are spread (threshold and kinds) in each group. A measurement, not a
test: tests/server/test_decoys.py holds the assertions.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

from tests.support.api_client import (
    Api,
    Guardian,
    User,
    backup_codes_guardian,
    passkey_guardian,
    passphrase_guardian,
    recovery_code_guardian,
    register,
    save_guardians,
    unique_name,
)
from tests.support.stats import auc

from bench import live
from bench.webroot import ROOT
from vouch.server.kinds.shapes import DECOY_SHAPES

PERCENTILES = (10, 25, 50, 75, 90, 99)


def guardian(api: Api, user: User, kind: str) -> Guardian:
    if kind == "passkey":
        return passkey_guardian(api, user)
    builders = {
        "passphrase": passphrase_guardian,
        "recovery_code": recovery_code_guardian,
        "backup_codes": backup_codes_guardian,
    }
    return builders[kind](user)


def make_accounts(api: Api, count: int) -> list[str]:
    names = []
    for n in range(count):
        threshold, kinds = DECOY_SHAPES[n % len(DECOY_SHAPES)]
        user = register(api)
        save_guardians(api, user, threshold, [guardian(api, user, kind) for kind in kinds])
        names.append(user.username)
    return names


def percentiles(samples: list[float]) -> list[int]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return [round(cuts[p - 1] * 1e6) for p in PERCENTILES]


def measure(api: Api, known: list[str], unknown: list[str], rounds: int) -> None:
    names = [(name, "known") for name in known] + [(name, "unknown") for name in unknown]
    samples: dict[str, list[float]] = {"known": [], "unknown": []}
    shapes: dict[str, Counter[str]] = {"known": Counter(), "unknown": Counter()}
    rng = random.Random(12)
    for round_ in range(rounds + 1):  # the first round warms up
        rng.shuffle(names)
        for name, group in names:
            began = time.perf_counter()
            response = api.http.post("/api/recovery/start", json={"username": name})
            elapsed = time.perf_counter() - began
            assert response.status_code == 200, response.text
            if round_ == 0:
                answer = response.json()
                kinds = "+".join(g["kind"] for g in answer["guardians"])
                shapes[group][f"{answer['threshold']} of {kinds}"] += 1
                continue
            samples[group].append(elapsed)
    header = "".join(f"{f'p{p}':>8}" for p in PERCENTILES)
    print(f"recovery start latency, µs ({rounds} rounds of {len(names)} names)")
    print(f"{'':10}{header}{'mean':>8}")
    for group, values in samples.items():
        row = "".join(f"{value:>8}" for value in percentiles(values))
        print(f"{group:10}{row}{round(statistics.mean(values) * 1e6):>8}")
    print(f"P(known slower than unknown) = {auc(samples['known'], samples['unknown']):.3f}")
    print("shapes shown (threshold of kinds): known | unknown")
    for shape in sorted(set(shapes["known"]) | set(shapes["unknown"])):
        print(f"  {shape:50} {shapes['known'][shape]:>4} | {shapes['unknown'][shape]:>4}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--names", type=int, default=200, help="known names, and unknown (200)")
    parser.add_argument("--rounds", type=int, default=5, help="timed starts per name (5)")
    parser.add_argument("--tree", type=Path, default=ROOT, help="the checkout to measure")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="vouch-decoy-timing-") as directory:
        server = live.start(Path(directory), args.tree, live.relaxed_limits(args.tree))
        api = Api(server.url)
        try:
            known = make_accounts(api, args.names)
            unknown = [unique_name("nobody") for _ in range(args.names)]
            measure(api, known, unknown, args.rounds)
        finally:
            api.http.close()
            server.stop()


if __name__ == "__main__":
    main()

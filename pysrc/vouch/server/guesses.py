"""Online guessing of a guessable secret (a passphrase), slowed per account, never refused.

The per-address and per-account-and-address limits bound what one client tries. What they
cannot bound is many clients guessing at one account; a per-account limit would, but it
would also let anyone who knows the account's name lock its owner out, since a wrong guess
costs a stranger nothing (any 64 bytes are a wrong passphrase signature). So each wrong
approval of a guessable kind is counted against the account (`recovery_guess_account`), and
past that budget every further approval of such a kind for the account waits before it is
checked: a delay that grows with the wrong guesses in the window, up to `MAX_DELAY`. The
owner is slowed by seconds at worst; approvals of the other kinds (codes of 100 bits and
more, passkeys) are never slowed, so an owner with one of those is not slowed at all.

A decoy account's passphrase is guessable like a real one's and is counted the same way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from vouch.server import approvals, ratelimit
from vouch.server.context import Context
from vouch.server.errors import ApprovalInvalid
from vouch.server.kinds import Approved, Guardian, GuardianSet
from vouch.server.storage import Transaction

LIMIT = "recovery_guess_account"
DELAY_STEP = 0.5  # seconds per wrong guess past the budget
MAX_DELAY = 8.0


def delay(tx: Transaction, context: Context, account: str, guardian_set: GuardianSet) -> float:
    """How long a guessable approval for `account` waits now (0 without such a guardian)."""
    if not any(context.kinds[guardian.kind].guessable for guardian in guardian_set.guardians):
        return 0.0
    return min(MAX_DELAY, DELAY_STEP * ratelimit.excess(tx, context, LIMIT, account))


async def verify(
    context: Context,
    guardian: Guardian,
    approval: Mapping[str, Any],
    *,
    message: bytes,
    account: str,
    wait: float,
) -> Approved:
    """`approvals.verify`, after `wait` seconds and counting a wrong guess if the guardian's
    kind is guessable; at once and uncounted otherwise."""
    if not context.kinds[guardian.kind].guessable:
        return await approvals.verify(context, guardian, approval, message=message)
    if wait > 0:
        await asyncio.sleep(wait)
    try:
        return await approvals.verify(context, guardian, approval, message=message)
    except ApprovalInvalid:
        await context.database.run(lambda tx: ratelimit.count(tx, context, [(LIMIT, account)]))
        raise

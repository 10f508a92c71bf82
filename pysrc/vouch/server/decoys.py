"""Decoy recoveries: what a recovery of an unknown account (or one without guardians) sees.

A decoy must not be told apart from a real account: it is stable (the same name always gets
the same account id, guardians, salts and labels, all expanded from one HMAC-SHA256 of the
name under a server secret), shaped like what the dialog saves (its default labels, its
12-character guardian ids, a configuration from the registry's decoy shapes), and it goes
through the same code as a real account: each guardian's decoy is made by its own kind, as
a public row the kind's `public_values` reads at start and a Guardian its `verify` checks
(against keys no one holds). Every kind must make one (`ServerKind.decoy_maker`).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from vouch.core.b64url import b64url_encode
from vouch.server.kinds import DEFAULT_KINDS, KindRegistry
from vouch.server.kinds.base import DECOY_MATERIAL_BYTES, Guardian, GuardianSet
from vouch.server.storage import Row

GUARDIAN_ID_BYTES = 9  # secrets.token_urlsafe(9) in the dialog
USER_HANDLE_BYTES = 16  # as /api/register/options issues
# Bytes of the stream each guardian uses: its id, then what its kind makes its decoy from.
_PER_GUARDIAN = GUARDIAN_ID_BYTES + DECOY_MATERIAL_BYTES


@dataclass(frozen=True)
class Decoy:
    account: str
    threshold: int
    rows: list[Row]  # as guardians.public_rows returns them
    guardians: tuple[Guardian, ...]  # as check and execute verify against them


class Decoys:
    def __init__(self, key: bytes, kinds: KindRegistry = DEFAULT_KINDS):
        self._key = key
        self._shapes = kinds.shapes
        self._makers = {kind.name: kind.decoy_maker(key) for kind in kinds}
        longest = max(len(shape) for _, shape in self._shapes)
        self._length = 1 + USER_HANDLE_BYTES + longest * _PER_GUARDIAN

    def decoy(self, username: str) -> Decoy:
        """The decoy account of `username`: the same every time, for every server process."""
        digest = hmac.new(self._key, b"vouch/decoy/v1\n" + username.encode(), hashlib.sha256)
        stream = hashlib.shake_256(digest.digest()).digest(self._length)
        threshold, kinds = self._shapes[stream[0] % len(self._shapes)]
        account = b64url_encode(stream[1 : 1 + USER_HANDLE_BYTES])
        rows: list[Row] = []
        guardians: list[Guardian] = []
        offset = 1 + USER_HANDLE_BYTES
        for kind in kinds:
            part = stream[offset : offset + _PER_GUARDIAN]
            offset += _PER_GUARDIAN
            made = self._makers[kind.name](
                b64url_encode(part[:GUARDIAN_ID_BYTES]), part[GUARDIAN_ID_BYTES:]
            )
            rows.append(made.row)
            guardians.append(made.guardian)
        return Decoy(account=account, threshold=threshold, rows=rows, guardians=tuple(guardians))

    def guardian_set(self, username: str) -> GuardianSet:
        """The decoy as check and execute verify against it."""
        decoy = self.decoy(username)
        return GuardianSet(
            account=decoy.account, threshold=decoy.threshold, guardians=decoy.guardians
        )

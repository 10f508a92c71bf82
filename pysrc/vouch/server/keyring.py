"""Server-side secrets, kept in the database so every server process shares them.

Two 32-byte values, each created by whichever process starts first (INSERT ... ON CONFLICT DO
NOTHING, then read back, so racing processes agree): the HMAC key that derives decoy
recoveries, and the Ed25519 seed that signs host-app tokens.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from vouch.server.storage import Database, Transaction

DECOY_KEY = "decoy_hmac_v1"
SIGNING_KEY = "token_ed25519_v1"
SECRET_BYTES = 32


@dataclass(frozen=True)
class ServerSecrets:
    decoy_key: bytes = field(repr=False)
    signing_seed: bytes = field(repr=False)


def load_or_create(database: Database, now: int) -> ServerSecrets:
    def work(tx: Transaction) -> dict[str, bytes]:
        for name in (DECOY_KEY, SIGNING_KEY):
            tx.execute(
                "INSERT INTO server_secrets (name, value, created_at) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO NOTHING",
                (name, secrets.token_bytes(SECRET_BYTES), now),
            )
        rows = tx.all(
            "SELECT name, value FROM server_secrets WHERE name IN (?, ?)", (DECOY_KEY, SIGNING_KEY)
        )
        return {row["name"]: bytes(row["value"]) for row in rows}

    values = database.run_sync(work)
    return ServerSecrets(decoy_key=values[DECOY_KEY], signing_seed=values[SIGNING_KEY])

"""Versioned schema. Append a new version; never edit one that has shipped.

Statements are written once for every backend in the SQL both understand; `for_dialect`
rewrites the few spellings that differ (`BLOB`, auto-increment keys) for PostgreSQL.
Booleans are stored as nullable times (`used_at`, `revoked_at`) or integers, never as SQL
booleans, so the same parameters work on both.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable

from vouch.server.storage.base import Transaction

# A step is SQL, or a function for what SQL alone cannot do the same way on both backends.
Step = str | Callable[[Transaction], None]

MIGRATIONS: list[tuple[int, list[Step]]] = [
    (
        1,
        [
            """CREATE TABLE accounts (
                id TEXT PRIMARY KEY,
                username TEXT NOT NULL UNIQUE,
                created_at BIGINT NOT NULL
            )""",
            """CREATE TABLE credentials (
                id TEXT PRIMARY KEY,
                account_id TEXT NOT NULL REFERENCES accounts(id),
                public_key BLOB NOT NULL,
                sign_count BIGINT NOT NULL,
                transports TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                last_used_at BIGINT,
                revoked_at BIGINT
            )""",
            "CREATE INDEX credentials_account ON credentials(account_id)",
            """CREATE TABLE challenges (
                id TEXT PRIMARY KEY,
                purpose TEXT NOT NULL,
                challenge BLOB NOT NULL,
                account_id TEXT,
                data TEXT NOT NULL,
                expires_at BIGINT NOT NULL,
                used_at BIGINT
            )""",
            """CREATE TABLE sessions (
                token_hash BLOB PRIMARY KEY,
                account_id TEXT NOT NULL REFERENCES accounts(id),
                created_at BIGINT NOT NULL,
                expires_at BIGINT NOT NULL,
                revoked_at BIGINT
            )""",
            "CREATE INDEX sessions_account ON sessions(account_id)",
        ],
    ),
    (
        2,
        [
            # threshold 0 means no guardians; guardians_version changes with every saved
            # configuration, so a recovery approved against an older one cannot apply.
            "ALTER TABLE accounts ADD COLUMN threshold INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE accounts ADD COLUMN guardians_version INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE accounts ADD COLUMN recovered_at BIGINT",
            # 'signin': a passkey that signs in; 'guardian': a passkey that only approves
            # recoveries (a guardian once a saved configuration names it).
            "ALTER TABLE credentials ADD COLUMN role TEXT NOT NULL DEFAULT 'signin'",
            """CREATE TABLE guardians (
                account_id TEXT NOT NULL REFERENCES accounts(id),
                id TEXT NOT NULL,
                ordinal INTEGER NOT NULL,
                kind TEXT NOT NULL,
                label TEXT NOT NULL,
                salt BLOB,
                kdf TEXT,
                public_key BLOB,
                credential_id TEXT REFERENCES credentials(id),
                created_at BIGINT NOT NULL,
                PRIMARY KEY (account_id, id)
            )""",
            """CREATE TABLE backup_codes (
                account_id TEXT NOT NULL,
                guardian_id TEXT NOT NULL,
                idx INTEGER NOT NULL,
                public_key BLOB NOT NULL,
                used_at BIGINT,
                used_by TEXT,
                PRIMARY KEY (account_id, guardian_id, idx),
                FOREIGN KEY (account_id, guardian_id)
                    REFERENCES guardians(account_id, id) ON DELETE CASCADE
            )""",
            # account_id is NULL for a decoy (an unknown name, or no guardians).
            """CREATE TABLE recoveries (
                id TEXT PRIMARY KEY,
                account_id TEXT REFERENCES accounts(id),
                username TEXT NOT NULL,
                challenge BLOB NOT NULL,
                registration_challenge BLOB NOT NULL,
                guardians_version INTEGER NOT NULL,
                status TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                expires_at BIGINT NOT NULL,
                executed_at BIGINT,
                effective_at BIGINT,
                finished_at BIGINT,
                plan TEXT
            )""",
            "CREATE INDEX recoveries_account ON recoveries(account_id, status)",
            "CREATE INDEX recoveries_expiry ON recoveries(expires_at)",
            "CREATE INDEX challenges_expiry ON challenges(expires_at)",
            """CREATE TABLE rate_limits (
                key TEXT PRIMARY KEY,
                window_start BIGINT NOT NULL,
                window_end BIGINT NOT NULL,
                hits INTEGER NOT NULL
            )""",
            """CREATE TABLE audit_events (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                account_id TEXT NOT NULL REFERENCES accounts(id),
                at BIGINT NOT NULL,
                kind TEXT NOT NULL,
                detail TEXT NOT NULL
            )""",
            "CREATE INDEX audit_events_account ON audit_events(account_id, id)",
            """CREATE TABLE server_secrets (
                name TEXT PRIMARY KEY,
                value BLOB NOT NULL,
                created_at BIGINT NOT NULL
            )""",
        ],
    ),
]

# A statement starting with this runs on SQLite only (a storage layout PostgreSQL has no
# counterpart of); on PostgreSQL its version is recorded with nothing to do.
SQLITE_ONLY = "-- sqlite only\n"

MIGRATIONS.append(
    (
        3,
        [
            # Rate-limit rows are found by their text key: as a rowid table, every upsert
            # walked (and wrote) both the key's index and the table; WITHOUT ROWID it is one
            # b-tree. Two upserts of a request count on every recovery and sign-in.
            SQLITE_ONLY
            + """CREATE TABLE rate_limits_v3 (
                key TEXT PRIMARY KEY,
                window_start BIGINT NOT NULL,
                window_end BIGINT NOT NULL,
                hits INTEGER NOT NULL
            ) WITHOUT ROWID""",
            "-- sqlite only\n"
            "INSERT INTO rate_limits_v3 SELECT key, window_start, window_end, hits"
            " FROM rate_limits",
            SQLITE_ONLY + "DROP TABLE rate_limits",
            SQLITE_ONLY + "ALTER TABLE rate_limits_v3 RENAME TO rate_limits",
            # AUTOINCREMENT kept a row in sqlite_sequence updated on every event (another
            # page per commit). Event ids only order an account's events (newest first): a
            # plain INTEGER PRIMARY KEY takes the largest id + 1, which is that order, since
            # no event is ever deleted (no id can come back).
            SQLITE_ONLY
            + """CREATE TABLE audit_events_v3 (
                id INTEGER PRIMARY KEY,
                account_id TEXT NOT NULL REFERENCES accounts(id),
                at BIGINT NOT NULL,
                kind TEXT NOT NULL,
                detail TEXT NOT NULL
            )""",
            "-- sqlite only\n"
            "INSERT INTO audit_events_v3 SELECT id, account_id, at, kind, detail"
            " FROM audit_events",
            SQLITE_ONLY + "DROP TABLE audit_events",
            SQLITE_ONLY + "ALTER TABLE audit_events_v3 RENAME TO audit_events",
            SQLITE_ONLY + "CREATE INDEX audit_events_account ON audit_events(account_id, id)",
        ],
    )
)

MIGRATIONS.append(
    (
        4,
        [
            # Approvals that reach the server out of band (a trusted contact's assertion, a
            # mailed code), each bound to one recovery and one of its guardians: used at most
            # once (used_at), and gone with the recovery (expires_at is the recovery's).
            """CREATE TABLE recovery_approvals (
                recovery_id TEXT NOT NULL REFERENCES recoveries(id),
                guardian_id TEXT NOT NULL,
                detail TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                expires_at BIGINT NOT NULL,
                used_at BIGINT,
                PRIMARY KEY (recovery_id, guardian_id)
            )""",
            "CREATE INDEX recovery_approvals_expiry ON recovery_approvals(expires_at)",
            # A kind whose public data has no column of its own (an OpenID issuer and subject
            # commitment, an email address, a contact's account) keeps it here as JSON.
            "ALTER TABLE guardians ADD COLUMN data TEXT",
        ],
    )
)


def _hash_recovery_ids(tx: Transaction) -> None:
    """Version 5: recoveries are keyed by the hash of their bearer id, not the id itself.

    Every place that held a recovery id now holds its reference (the first 18 bytes of its
    SHA-256, unpadded base64url; frozen here as shipped, whatever `vouch.server.recovery`
    does later): the recoveries' keys, their out-of-band approvals (moved aside and back,
    since they reference the key), the backup codes they burnt and the audit log.
    """

    def ref(recovery_id: str) -> str:
        digest = hashlib.sha256(recovery_id.encode()).digest()[:18]
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    approvals = tx.all("SELECT * FROM recovery_approvals")
    tx.execute("DELETE FROM recovery_approvals")
    for row in tx.all("SELECT id FROM recoveries"):
        tx.execute("UPDATE recoveries SET id = ? WHERE id = ?", (ref(row["id"]), row["id"]))
    for row in tx.all("SELECT DISTINCT used_by FROM backup_codes WHERE used_by IS NOT NULL"):
        tx.execute(
            "UPDATE backup_codes SET used_by = ? WHERE used_by = ?",
            (ref(row["used_by"]), row["used_by"]),
        )
    for row in approvals:
        tx.execute(
            "INSERT INTO recovery_approvals (recovery_id, guardian_id, detail, created_at,"
            " expires_at, used_at) VALUES (?, ?, ?, ?, ?, ?)",
            (
                ref(row["recovery_id"]),
                row["guardian_id"],
                row["detail"],
                row["created_at"],
                row["expires_at"],
                row["used_at"],
            ),
        )
    for row in tx.all("SELECT id, detail FROM audit_events WHERE detail LIKE '%recovery_id%'"):
        detail = json.loads(row["detail"])
        if isinstance(detail.get("recovery_id"), str):
            detail["recovery_id"] = ref(detail["recovery_id"])
            tx.execute(
                "UPDATE audit_events SET detail = ? WHERE id = ?",
                (json.dumps(detail, separators=(",", ":")), row["id"]),
            )


MIGRATIONS.append((5, [_hash_recovery_ids]))

MIGRATIONS.append(
    (
        6,
        [
            # The ID tokens that approved a recovery (an oidc guardian's), by their SHA-256:
            # written in the transaction that executes it, so a token approves once. Kept
            # until the token expires (and a grace period), when it could not be used anyway.
            """CREATE TABLE used_id_tokens (
                hash TEXT PRIMARY KEY,
                account_id TEXT NOT NULL,
                guardian_id TEXT NOT NULL,
                expires_at BIGINT NOT NULL
            )""",
            "CREATE INDEX used_id_tokens_expiry ON used_id_tokens(expires_at)",
        ],
    )
)

MIGRATIONS.append(
    (
        7,
        [
            # The outbox: each mail and webhook delivery an event causes, written in the
            # transaction of the event (vouch.server.outbox). One row per event and
            # destination; `event_id` is what receivers deduplicate by (webhook-id, the
            # mail's Message-ID). A worker leases due rows (lease_until) before sending, so
            # of several processes one sends each; status pending -> sent | failed.
            """CREATE TABLE outbox (
                id TEXT PRIMARY KEY,
                event_id TEXT NOT NULL,
                event TEXT NOT NULL,
                account_id TEXT,
                channel TEXT NOT NULL,
                destination TEXT NOT NULL,
                payload TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                status TEXT NOT NULL,
                attempts INTEGER NOT NULL,
                next_attempt_at BIGINT NOT NULL,
                lease_owner TEXT,
                lease_until BIGINT,
                last_error TEXT,
                finished_at BIGINT,
                UNIQUE (event_id, channel, destination)
            )""",
            "CREATE INDEX outbox_due ON outbox(status, next_attempt_at)",
            # The delivery log: every attempt's outcome, pruned with its row.
            """CREATE TABLE outbox_attempts (
                outbox_id TEXT NOT NULL REFERENCES outbox(id) ON DELETE CASCADE,
                attempt INTEGER NOT NULL,
                at BIGINT NOT NULL,
                ok INTEGER NOT NULL,
                detail TEXT NOT NULL,
                PRIMARY KEY (outbox_id, attempt)
            )""",
            # An account's verified address (notifications go there); one per account.
            """CREATE TABLE account_emails (
                account_id TEXT PRIMARY KEY REFERENCES accounts(id),
                address TEXT NOT NULL,
                verified_at BIGINT NOT NULL
            )""",
            # An address being verified: the code only as a keyed hash, its expiry, the
            # wrong tries so far, and used_at once it verified (single use).
            """CREATE TABLE email_verifications (
                id TEXT PRIMARY KEY,
                account_id TEXT NOT NULL REFERENCES accounts(id),
                address TEXT NOT NULL,
                code_hash BLOB NOT NULL,
                created_at BIGINT NOT NULL,
                expires_at BIGINT NOT NULL,
                attempts INTEGER NOT NULL,
                used_at BIGINT
            )""",
            "CREATE INDEX email_verifications_account ON email_verifications(account_id)",
            "CREATE INDEX email_verifications_expiry ON email_verifications(expires_at)",
            # The coarse browser and OS a held recovery was executed from, for the owner's
            # banner and mail ("Chrome on Android").
            "ALTER TABLE recoveries ADD COLUMN device TEXT",
        ],
    )
)

MIGRATIONS.append(
    (
        8,
        [
            # The code an email guardian was mailed for a recovery (vouch.server.kinds.email),
            # one row per recovery and guardian: only its keyed hash, its expiry, the wrong
            # tries on it, how many were sent (a new one replaces the code), used_at once it
            # approved. Pruned with the recovery (recovery_expires_at is the recovery's).
            """CREATE TABLE recovery_email_codes (
                recovery_id TEXT NOT NULL REFERENCES recoveries(id),
                guardian_id TEXT NOT NULL,
                code_hash BLOB NOT NULL,
                created_at BIGINT NOT NULL,
                expires_at BIGINT NOT NULL,
                recovery_expires_at BIGINT NOT NULL,
                attempts INTEGER NOT NULL,
                sends INTEGER NOT NULL,
                used_at BIGINT,
                PRIMARY KEY (recovery_id, guardian_id)
            )""",
            "CREATE INDEX recovery_email_codes_expiry ON recovery_email_codes(recovery_expires_at)",
        ],
    )
)

MIGRATIONS.append(
    (
        9,
        [
            # An owner's invitation of another account to be a trusted contact
            # (vouch.server.contacts): pending, then accepted or declined by the contact with
            # their passkey; removed when either gives it up. One row per pair, kept (the
            # owner's account screen says what became of it).
            """CREATE TABLE contact_invitations (
                owner_id TEXT NOT NULL REFERENCES accounts(id),
                contact_id TEXT NOT NULL REFERENCES accounts(id),
                status TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                answered_at BIGINT,
                PRIMARY KEY (owner_id, contact_id)
            )""",
            "CREATE INDEX contact_invitations_contact ON contact_invitations(contact_id)",
            # A recovery's request for a contact's approval: the hash of the link's token, the
            # recovery message the contact signs, what the contact is shown of the requester,
            # its status and the wrong verification codes typed. A decoy's has no contact.
            # One per recovery and guardian; pruned with the recovery.
            """CREATE TABLE contact_requests (
                id TEXT PRIMARY KEY,
                recovery_id TEXT NOT NULL REFERENCES recoveries(id),
                guardian_id TEXT NOT NULL,
                owner_id TEXT,
                contact_id TEXT,
                message BLOB NOT NULL,
                device TEXT NOT NULL,
                authenticator TEXT,
                status TEXT NOT NULL,
                wrong_codes INTEGER NOT NULL,
                created_at BIGINT NOT NULL,
                expires_at BIGINT NOT NULL,
                answered_at BIGINT,
                UNIQUE (recovery_id, guardian_id)
            )""",
            "CREATE INDEX contact_requests_contact ON contact_requests(contact_id, expires_at)",
            "CREATE INDEX contact_requests_expiry ON contact_requests(expires_at)",
        ],
    )
)


def _seed_decoy_guardians(tx: Transaction) -> None:
    """Version 10: the rows a decoy's recovery start reads in place of an account's own.

    For each count n from 1 to 16 (the most guardians an account may have), n rows filed
    under a 22-character key as an account id is, each shaped like a passphrase guardian's
    (the widest row a decoy shows): a recovery start of an unknown name reads as many rows
    of the same width, through the same kind of index, as an account's start reads of its
    guardians (`vouch.server.guardians.public_rows`). Nothing else reads them.
    """
    kdf = json.dumps(
        {"algorithm": "argon2id", "version": 19, "memory_kib": 65536, "iterations": 3, "lanes": 4}
    )
    for count in range(1, 17):
        for ordinal in range(count):
            seed = hashlib.sha256(f"vouch/decoy-guardian/{count}/{ordinal}".encode()).digest()
            tx.execute(
                "INSERT INTO decoy_guardians (account_id, id, ordinal, kind, label, salt, kdf,"
                " credential_id, data) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL)",
                (
                    f"{count:022d}",
                    base64.urlsafe_b64encode(seed[:9]).decode(),
                    ordinal,
                    "passphrase",
                    "Passphrase",
                    seed[16:32],
                    kdf,
                ),
            )


MIGRATIONS.append(
    (
        10,
        [
            # Read by a decoy's recovery start, never written after this (see the seed).
            """CREATE TABLE decoy_guardians (
                account_id TEXT NOT NULL,
                id TEXT NOT NULL,
                ordinal INTEGER NOT NULL,
                kind TEXT NOT NULL,
                label TEXT NOT NULL,
                salt BLOB,
                kdf TEXT,
                credential_id TEXT,
                data TEXT,
                PRIMARY KEY (account_id, id)
            )""",
            _seed_decoy_guardians,
        ],
    )
)

LATEST_VERSION = MIGRATIONS[-1][0]


def for_dialect(statement: str, dialect: str) -> str | None:
    """Translate the shared schema SQL into one backend's types (None: not for this one)."""
    if statement.startswith(SQLITE_ONLY):
        return statement[len(SQLITE_ONLY) :] if dialect == "sqlite" else None
    if dialect == "postgresql":
        return statement.replace("BLOB", "BYTEA").replace(
            "INTEGER PRIMARY KEY AUTOINCREMENT",
            "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
        )
    return statement


def apply_migrations(
    tx: Transaction, dialect: str, *, lock: Callable[[Transaction], None] | None = None
) -> int:
    """Apply every version newer than the database's, in this one transaction.

    `lock` serialises concurrent migrators (several server processes starting at once) where
    the backend's transaction alone does not. Returns the version the schema is now at.
    """
    tx.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    if lock is not None:
        lock(tx)
    row = tx.one("SELECT MAX(version) AS version FROM schema_version")
    current = int((row or {}).get("version") or 0)
    if current > LATEST_VERSION:
        raise RuntimeError(
            f"The database schema is version {current}, newer than this server's"
            f" {LATEST_VERSION}: upgrade vouch."
        )
    for version, statements in MIGRATIONS:
        if version <= current:
            continue
        for step in statements:
            if not isinstance(step, str):
                step(tx)
                continue
            translated = for_dialect(step, dialect)
            if translated is not None:
                tx.execute(translated)
        tx.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
    return LATEST_VERSION

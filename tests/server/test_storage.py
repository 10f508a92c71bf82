"""The storage layer, the same tests on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import functools
import threading
from pathlib import Path

import pytest

from vouch.core.kdf import Argon2Params
from vouch.server import audit, guardians, keyring, ratelimit
from vouch.server.app import build_context
from vouch.server.config import Config, RateLimit
from vouch.server.errors import Conflict, RateLimited
from vouch.server.storage import Database, StorageConflict, Transaction, open_database
from vouch.server.storage.migrations import LATEST_VERSION


def add_account(tx: Transaction, account_id: str = "acct") -> None:
    tx.execute(
        "INSERT INTO accounts (id, username, created_at) VALUES (?, ?, ?)",
        (account_id, f"name-{account_id}", 1),
    )


def test_migrations_are_versioned_and_idempotent(target: str, database: Database) -> None:
    version = database.run_sync(lambda tx: tx.one("SELECT MAX(version) AS v FROM schema_version"))
    assert version == {"v": LATEST_VERSION}
    again = open_database(target)  # a second process starting on the same database
    rows = again.run_sync(lambda tx: tx.all("SELECT version FROM schema_version ORDER BY 1"))
    assert [row["version"] for row in rows] == list(range(1, LATEST_VERSION + 1))
    again.close()


def test_work_commits_or_rolls_back_whole(database: Database) -> None:
    database.run_sync(add_account)

    def half_then_fail(tx: Transaction) -> None:
        tx.execute("UPDATE accounts SET threshold = 5 WHERE id = 'acct'")
        add_account(tx, "other")
        raise Conflict("no")

    with pytest.raises(Conflict):
        database.run_sync(half_then_fail)
    rows = database.run_sync(lambda tx: tx.all("SELECT id, threshold FROM accounts"))
    assert rows == [{"id": "acct", "threshold": 0}]


def test_async_run_is_one_transaction_too(database: Database) -> None:
    async def scenario() -> object:
        await database.run(add_account)
        return await database.run(lambda tx: tx.one("SELECT COUNT(*) AS n FROM accounts"))

    assert asyncio.run(scenario()) == {"n": 1}


def test_bytes_round_trip_and_constraints_conflict(database: Database) -> None:
    database.run_sync(add_account)
    blob = bytes(range(256))

    def store(tx: Transaction) -> None:
        tx.execute(
            "INSERT INTO credentials (id, account_id, public_key, sign_count, transports,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?)",
            ("cred", "acct", blob, 0, "[]", 1),
        )

    database.run_sync(store)
    row = database.run_sync(lambda tx: tx.one("SELECT public_key, role FROM credentials"))
    assert row == {"public_key": blob, "role": "signin"}
    with pytest.raises(StorageConflict):
        database.run_sync(store)  # the same id again
    with pytest.raises(StorageConflict):
        database.run_sync(lambda tx: add_account(tx, "acct"))


def test_a_conditional_update_lets_one_of_many_connections_win(
    target: str, database: Database
) -> None:
    """The rule every single-use check relies on, with six connections at once (as six
    server processes would have)."""
    database.run_sync(add_account)
    database.run_sync(
        lambda tx: tx.execute(
            "INSERT INTO challenges (id, purpose, challenge, data, expires_at)"
            " VALUES ('c', 'p', ?, '{}', 9)",
            (b"x",),
        )
    )
    barrier = threading.Barrier(6)
    wins: list[int] = []
    connections = [open_database(target) for _ in range(6)]

    def consume(connection: Database) -> None:
        barrier.wait()
        changed = connection.run_sync(
            lambda tx: tx.execute(
                "UPDATE challenges SET used_at = 1 WHERE id = 'c' AND used_at IS NULL"
            )
        )
        wins.append(changed)

    threads = [threading.Thread(target=consume, args=(c,)) for c in connections]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for connection in connections:
        connection.close()
    assert sorted(wins) == [0, 0, 0, 0, 0, 1]


def test_waiting_for_another_process_s_write_lock_does_not_stop_the_event_loop(
    tmp_path: Path,
) -> None:
    """serve.py --workers: a SQLite writer in another process holds the lock for 50 ms; the
    transaction waiting for it completes after, and the event loop runs meanwhile."""
    import sqlite3

    path = tmp_path / "vouch.db"
    database = open_database(str(path))
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    ticks: list[float] = []

    async def tick() -> None:
        while True:
            ticks.append(asyncio.get_running_loop().time())
            await asyncio.sleep(0.002)

    async def scenario() -> int:
        ticker = asyncio.create_task(tick())
        asyncio.get_running_loop().call_later(0.05, other.execute, "COMMIT")
        count = await database.run(add_account_and_count)
        ticker.cancel()
        return count

    def add_account_and_count(tx: Transaction) -> int:
        add_account(tx)
        row = tx.one("SELECT COUNT(*) AS n FROM accounts")
        assert row is not None
        return int(row["n"])

    assert asyncio.run(scenario()) == 1
    assert len(ticks) >= 10  # the loop kept running while the lock was held
    other.close()
    database.close()


def test_requests_at_once_share_a_commit_and_stay_all_or_nothing(tmp_path: Path) -> None:
    """SQLite group commit: work run in the same event loop iteration commits together,
    each piece in a savepoint of its own (a failure undoes only its own writes, a
    duplicate key is a StorageConflict for that request alone), and `run` returns only
    once its work is committed (another connection sees it)."""
    import sqlite3

    path = tmp_path / "vouch.db"
    database = open_database(str(path))
    other = sqlite3.connect(path)

    def half_then_fail(tx: Transaction) -> None:
        add_account(tx, "half")
        raise Conflict("refused after a write", code="test")

    async def add(account_id: str) -> int:
        await database.run(lambda tx: add_account(tx, account_id))
        row = other.execute("SELECT COUNT(*) FROM accounts WHERE id = ?", (account_id,))
        return int(row.fetchone()[0])

    async def scenario() -> list[object]:
        answers = await asyncio.gather(
            add("one"),
            database.run(half_then_fail),
            add("two"),
            add("one"),  # the same id again, in the same batch
            return_exceptions=True,
        )
        return list(answers)

    first, failed, second, again = asyncio.run(scenario())
    assert (first, second) == (1, 1)
    assert isinstance(failed, Conflict)
    assert isinstance(again, StorageConflict)
    ids = [row[0] for row in other.execute("SELECT id FROM accounts ORDER BY id")]
    assert ids == ["one", "two"]
    other.close()
    database.close()


def test_the_wal_is_checkpointed_off_the_event_loop(tmp_path: Path) -> None:
    """Commits leave checkpointing to a thread: soon after, the database file alone (no
    WAL) holds what was committed."""
    import shutil
    import sqlite3
    import time

    from vouch.server.storage.sqlite import CHECKPOINT_INTERVAL_SECONDS

    path = tmp_path / "vouch.db"
    database = open_database(str(path))
    for n in range(20):
        database.run_sync(functools.partial(add_account, account_id=f"acct-{n}"))
    time.sleep(3 * CHECKPOINT_INTERVAL_SECONDS)
    shutil.copy(path, tmp_path / "copy.db")  # the file without its -wal
    database.close()
    with sqlite3.connect(tmp_path / "copy.db") as copy:
        assert copy.execute("SELECT COUNT(*) FROM accounts").fetchone() == (20,)


def test_server_secrets_are_created_once(target: str, database: Database) -> None:
    first = keyring.load_or_create(database, 1)
    other = open_database(target)
    assert keyring.load_or_create(other, 2) == first
    other.close()
    assert len(first.decoy_key) == len(first.signing_seed) == 32


def test_rate_limit_windows(database: Database) -> None:
    now = [1000.0]
    config = Config(rate_limits={"recovery_start_address": RateLimit(2, 60)})
    context = build_context(config, database, clock=lambda: now[0])
    hit = [("recovery_start_address", "10.0.0.1")]
    database.run_sync(lambda tx: ratelimit.hit(tx, context, hit))
    database.run_sync(lambda tx: ratelimit.hit(tx, context, hit))
    now[0] = 1030
    with pytest.raises(RateLimited) as refused:
        database.run_sync(lambda tx: ratelimit.hit(tx, context, hit))
    assert refused.value.retry_after == 30
    now[0] = 1060  # the window has closed: a new one opens
    database.run_sync(lambda tx: ratelimit.hit(tx, context, hit))


def test_guardians_and_audit_round_trip(database: Database) -> None:
    database.run_sync(add_account)
    codes = guardians.Guardian(
        id="codes",
        kind="backup_codes",
        label="Codes",
        salt=b"s" * 16,
        public_keys=tuple(bytes([n]) * 32 for n in range(10)),
        created_at=5,
    )
    phrase = guardians.Guardian(
        id="phrase",
        kind="passphrase",
        label="Phrase",
        salt=b"t" * 16,
        kdf=Argon2Params(),
        public_keys=(b"k" * 32,),
        created_at=5,
    )

    def save(tx: Transaction, expected: int) -> None:
        guardians.save(
            tx, "acct", threshold=1, guardians=[phrase, codes], expected_version=expected
        )

    database.run_sync(lambda tx: save(tx, 0))
    database.run_sync(
        lambda tx: tx.execute(
            "UPDATE backup_codes SET used_at = 9 WHERE guardian_id = 'codes' AND idx = 3"
        )
    )
    loaded = database.run_sync(lambda tx: guardians.load(tx, "acct"))
    assert [g.id for g in loaded] == ["phrase", "codes"]
    assert loaded[0].kdf == Argon2Params()
    assert loaded[1].public_keys == codes.public_keys
    assert loaded[1].used_codes == frozenset({3})
    with pytest.raises(Conflict):
        database.run_sync(lambda tx: save(tx, 0))  # a stale version
    database.run_sync(lambda tx: save(tx, 1))
    assert database.run_sync(lambda tx: guardians.load(tx, "acct"))[1].used_codes == {3}
    rows = database.run_sync(lambda tx: guardians.public_rows(tx, "name-acct", 2))
    public = [guardians.public_descriptor(row) for row in rows][1]
    assert "codes_remaining" not in public  # the owner's to know, not a recovering stranger's
    assert guardians.owner_descriptor(loaded[1])["codes_remaining"] == 9

    context = build_context(Config(), database)
    database.run_sync(lambda tx: audit.record(tx, context, "acct", "first", {"k": 1}))
    database.run_sync(lambda tx: audit.record(tx, context, "acct", "second", {"k": 2}))
    events = database.run_sync(lambda tx: audit.events(tx, "acct"))
    assert [event["kind"] for event in events] == ["second", "first"]


def test_version_3_keeps_rate_limits_and_audit_events(
    target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database made by a server before version 3 keeps its rows (SQLite rebuilds the two
    tables: rate_limits WITHOUT ROWID, audit_events without AUTOINCREMENT)."""
    from vouch.server.storage import migrations

    with monkeypatch.context() as before:
        before.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:2])
        old = open_database(target)
        old.run_sync(lambda tx: tx.execute("DELETE FROM schema_version WHERE version > 2"))
    context = build_context(Config(), old, clock=lambda: 1000)

    def fill(tx: Transaction) -> None:
        add_account(tx, "v2")
        for n in range(3):
            audit.record(tx, context, "v2", "sign_in", {"n": n})
        ratelimit.hit(tx, context, [("signin_address", "192.0.2.1")])

    old.run_sync(fill)
    old.close()
    database = open_database(target)
    try:
        version = database.run_sync(
            lambda tx: tx.one("SELECT MAX(version) AS v FROM schema_version")
        )
        assert version == {"v": LATEST_VERSION}
        context = build_context(Config(), database, clock=lambda: 1001)
        database.run_sync(lambda tx: audit.record(tx, context, "v2", "sign_in", {"n": 3}))
        events = database.run_sync(lambda tx: audit.events(tx, "v2"))
        assert [event["detail"]["n"] for event in events] == [3, 2, 1, 0]
        hits = database.run_sync(
            lambda tx: tx.one("SELECT hits FROM rate_limits WHERE key = 'signin_address:192.0.2.1'")
        )
        assert hits == {"hits": 1}
        if not target.startswith("postgres"):
            tables = database.run_sync(
                lambda tx: {
                    row["name"]: row["sql"]
                    for row in tx.all("SELECT name, sql FROM sqlite_master WHERE type = 'table'")
                }
            )
            assert tables["rate_limits"].rstrip().endswith("WITHOUT ROWID")
            assert "AUTOINCREMENT" not in tables["audit_events"]
            assert "rate_limits_v3" not in tables
            assert "audit_events_v3" not in tables
    finally:
        database.close()

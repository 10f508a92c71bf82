"""SIGKILL the server around POST /api/recovery/execute: afterwards every account is wholly
before its recovery or wholly after it, on SQLite and on PostgreSQL.

A dozen rounds per database. Each round sends the executes of one to three accounts at
once and kills serve.py with SIGKILL either a random 0-50 ms after sending or the moment
the first answer arrives (so some kills land after a commit, not only before one). The
server is restarted on the same database and every account is checked, in the database
and through the API:

- wholly before: the recovery is still `started`; the old passkey, the old sessions and the
  backup code are as they were; the new passkey is nowhere; no audit event says it was
  recovered; the old passkey still signs in. Its execute is sent again in a later round,
  or at the end without a kill, and must then succeed: nothing half-written is in its way.
- wholly after: the recovery is `complete`; the new passkey is the account's one sign-in
  passkey and the old one is revoked; every session older than the recovery is revoked; the
  backup code is burnt by this recovery; one `recovery_complete` audit event names the new
  passkey; the guardians are unchanged; the new passkey signs in, the old one and the old
  session do not, and the execute cannot be replayed.

An execute that was answered 200 before the kill must be after: no answer before COMMIT.
Which side each kill lands on depends on timing, so the split is reported, not asserted.
"""

from __future__ import annotations

import enum
import hashlib
import json
import random
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.server.conftest import start
from tests.server.helpers import (
    Api,
    Guardian,
    Recovery,
    User,
    backup_codes_guardian,
    recovery_code_guardian,
    register,
    save_guardians,
    sign_in,
    start_recovery,
)
from tests.support.live_server import LiveServer

KILLS = 12
RecordProperty = Callable[[str, object], None]
BACKUP_CODE = 4  # the backup code each recovery spends


class Side(enum.Enum):
    BEFORE = "before"
    AFTER = "after"


@dataclass
class Account:
    """One account under test: its owner, its guardians, and the recovery being tried."""

    user: User
    guardians: list[Guardian]
    guardian_rows: list[tuple[Any, ...]]
    recovery: Recovery
    body: dict[str, Any]
    side: Side = Side.BEFORE
    answer: dict[str, Any] | None = None  # the 200 an execute of it got before a kill

    @property
    def account(self) -> str:
        return self.user.account

    @property
    def new_passkey(self) -> str:
        return str(self.recovery.registration["id"])


@dataclass
class Tally:
    """What the kills did: how many recoveries each round found on either side."""

    seed: int
    before: int = 0
    after: int = 0
    answered: int = 0
    retried: int = 0  # recovered without a kill at the end
    rounds: list[str] = field(default_factory=list)


class Database:
    """Reads the server's SQLite file or PostgreSQL schema directly."""

    def __init__(self, target: Path | str):
        self.target = target

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        if isinstance(self.target, str):
            import psycopg

            with psycopg.connect(self.target) as connection:
                cursor = connection.execute(sql.replace("?", "%s"), params)
                return [tuple(row) for row in cursor.fetchall()]
        with sqlite3.connect(f"file:{self.target}?mode=ro", uri=True) as connection:
            return [tuple(row) for row in connection.execute(sql, params).fetchall()]


class Servers:
    """serve.py on one database, restarted after each kill with the same dialog origin."""

    def __init__(self, directory: Path, database: Path | str):
        self.directory = directory
        self.extra = ["--db", database] if isinstance(database, str) else []
        self.live: LiveServer | None = None
        self.origin = ""

    def up(self) -> LiveServer:
        if self.live is None:
            origin = ["--origin", self.origin] if self.origin else []
            self.live = start(self.directory, *self.extra, *origin)
            self.origin = self.origin or self.live.url
        return self.live

    def kill(self) -> None:
        assert self.live is not None
        self.live.process.kill()  # SIGKILL: no shutdown, no rollback, no flush
        self.live.process.wait(timeout=10)
        self.live = None

    def stop(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None


def new_account(api: Api, database: Database) -> Account:
    user = register(api)
    guardians = [recovery_code_guardian(user), backup_codes_guardian(user)]
    save_guardians(api, user, 2, guardians)
    code, backup = guardians
    recovery = start_recovery(api, user.username)
    approvals = [recovery.approve(code), recovery.approve(backup, code=BACKUP_CODE)]
    return Account(
        user=user,
        guardians=guardians,
        guardian_rows=guardian_rows(database, user.account),
        recovery=recovery,
        body=recovery.execute_body(approvals),
    )


def guardian_rows(database: Database, account: str) -> list[tuple[Any, ...]]:
    return sorted(
        database.rows(
            "SELECT id, ordinal, kind, label, salt, kdf, public_key, credential_id, data"
            " FROM guardians WHERE account_id = ?",
            (account,),
        ),
        key=repr,
    )


class Volley:
    """Every account's execute at once, each from its own thread on a connection made
    beforehand; `answered` is set when the first answer arrives."""

    def __init__(self, url: str, accounts: list[Account]):
        self.accounts = accounts
        self.clients = [httpx.Client(base_url=url, timeout=30) for _ in accounts]
        for client in self.clients:
            client.get("/healthz")
        self.answers: list[httpx.Response | None] = [None] * len(accounts)
        self.answered = threading.Event()
        self.barrier = threading.Barrier(len(accounts) + 1)
        self.threads = [
            threading.Thread(target=self._send, args=(n,), daemon=True)
            for n in range(len(accounts))
        ]
        for thread in self.threads:
            thread.start()

    def _send(self, n: int) -> None:
        self.barrier.wait()
        try:
            self.answers[n] = self.clients[n].post(
                "/api/recovery/execute", json=self.accounts[n].body
            )
        except httpx.HTTPError:
            return  # the server died with this request in flight
        self.answered.set()

    def release(self) -> None:
        self.barrier.wait()

    def join(self) -> None:
        for thread in self.threads:
            thread.join(timeout=30)
            assert not thread.is_alive(), "an execute never ended after the kill"
        for client in self.clients:
            client.close()


def kill_round(servers: Servers, accounts: list[Account], rng: random.Random, n: int) -> str:
    """Send the executes, SIGKILL the server; mark the accounts whose execute was answered."""
    volley = Volley(servers.up().url, accounts)
    first_answer = n % 3 == 2
    volley.release()
    if first_answer:
        volley.answered.wait(timeout=30)
        how = "at the first answer"
    else:
        delay = 0.05 * rng.random() ** 2  # 0-50 ms, most of them short
        time.sleep(delay)
        how = f"{delay * 1000:.0f} ms after sending"
    servers.kill()
    volley.join()
    for account, answer in zip(accounts, volley.answers, strict=True):
        if answer is not None:
            assert answer.status_code == 200, answer.text
            account.answer = answer.json()
    return how


def side_in_database(database: Database, account: Account) -> Side:
    ((status,),) = database.rows(
        "SELECT status FROM recoveries WHERE id = ?", (account.recovery.reference,)
    )
    return Side.AFTER if status == "complete" else Side.BEFORE


def check_before_in_database(database: Database, account: Account) -> None:
    """Nothing of the recovery is written."""
    rows, where = database.rows, account.account
    assert rows(
        "SELECT status, executed_at, finished_at FROM recoveries WHERE id = ?",
        (account.recovery.reference,),
    ) == [("started", None, None)]
    assert rows(
        "SELECT id, account_id, role, revoked_at FROM credentials WHERE account_id = ? OR id = ?",
        (where, account.new_passkey),
    ) == [(account.user.passkey, where, "signin", None)]
    sessions = rows("SELECT token_hash, revoked_at FROM sessions WHERE account_id = ?", (where,))
    assert (digest(account.user.session), None) in sessions
    assert all(revoked is None for _, revoked in sessions), sessions
    codes = rows("SELECT used_at, used_by FROM backup_codes WHERE account_id = ?", (where,))
    assert codes == [(None, None)] * 10
    assert rows("SELECT recovered_at FROM accounts WHERE id = ?", (where,)) == [(None,)]
    assert "recovery_complete" not in audit_kinds(database, where)
    assert guardian_rows(database, where) == account.guardian_rows


def check_after_in_database(database: Database, account: Account) -> None:
    """All of the recovery is written, once."""
    rows, where = database.rows, account.account
    ((status, executed_at),) = rows(
        "SELECT status, executed_at FROM recoveries WHERE id = ?", (account.recovery.reference,)
    )
    assert (status, executed_at is not None) == ("complete", True)
    passkeys = rows("SELECT id, role, revoked_at FROM credentials WHERE account_id = ?", (where,))
    live = [id_ for id_, role, revoked in passkeys if role == "signin" and revoked is None]
    assert live == [account.new_passkey], passkeys
    assert {id_ for id_, _, _ in passkeys} == {account.user.passkey, account.new_passkey}
    sessions = rows(
        "SELECT token_hash, created_at, revoked_at FROM sessions WHERE account_id = ?", (where,)
    )
    original = [revoked for token, _, revoked in sessions if token == digest(account.user.session)]
    assert len(original) == 1
    assert original[0] is not None
    older = [revoked for _, created, revoked in sessions if created < executed_at]
    assert all(revoked is not None for revoked in older), sessions
    assert rows(
        "SELECT idx, used_by FROM backup_codes WHERE account_id = ? AND used_at IS NOT NULL",
        (where,),
    ) == [(BACKUP_CODE, account.recovery.reference)]
    ((recovered_at,),) = rows("SELECT recovered_at FROM accounts WHERE id = ?", (where,))
    assert recovered_at is not None
    completions = [
        json.loads(detail)
        for kind, detail in rows(
            "SELECT kind, detail FROM audit_events WHERE account_id = ?", (where,)
        )
        if kind == "recovery_complete"
    ]
    assert len(completions) == 1, completions
    (event,) = completions
    assert event["recovery_id"] == account.recovery.reference
    assert event["new_passkey"] == account.new_passkey
    assert event["passkeys_revoked"] == 1
    assert sorted(event["guardians"]) == sorted(guardian.id for guardian in account.guardians)
    assert guardian_rows(database, where) == account.guardian_rows


def check_before_in_api(api: Api, account: Account) -> None:
    assert account.answer is None, "answered 200, yet not applied"
    api.call("GET", "/api/session", session=account.user.session)
    signed = sign_in(api, account.user.device)
    assert signed.status_code == 200, signed.text


def check_after_in_api(api: Api, account: Account) -> None:
    user = account.user
    api.refused("GET", "/api/session", session=user.session, status=401, code="unauthorized")
    old = sign_in(api, user.device)
    assert old.status_code == 400, old.text
    assert old.json()["error"]["code"] == "unknown_credential"
    new = sign_in(api, account.recovery.device)
    assert new.status_code == 200, new.text
    assert new.json()["account"] == user.account
    guardians = api.call("GET", "/api/account", session=new.json()["session"])["guardians"]
    assert [g["id"] for g in guardians] == [g.id for g in account.guardians]
    if account.answer is not None:  # the session the answer carried survived the kill
        api.call("GET", "/api/session", session=account.answer["session"])
    api.refused("POST", "/api/recovery/execute", account.body, status=400, code="challenge_used")


def audit_kinds(database: Database, account: str) -> list[str]:
    return [
        kind
        for (kind,) in database.rows(
            "SELECT kind FROM audit_events WHERE account_id = ?", (account,)
        )
    ]


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def check_everyone(database: Database, api: Api, accounts: list[Account]) -> list[Account]:
    """Each account is wholly on one side (and never back from after); those that just
    crossed are checked through the API too, and returned."""
    crossed = []
    for account in accounts:
        side = side_in_database(database, account)
        assert not (account.side is Side.AFTER and side is Side.BEFORE), account.account
        if account.answer is not None:
            assert side is Side.AFTER, f"{account.account}: answered 200, yet not applied"
        if side is Side.BEFORE:
            check_before_in_database(database, account)
        else:
            check_after_in_database(database, account)
        if side is not account.side:
            check_after_in_api(api, account)
            crossed.append(account)
        account.side = side
    return crossed


def run_kills(directory: Path, target: Path | str) -> Tally:
    database = Database(target)
    servers = Servers(directory, target)
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    tally = Tally(seed=seed)
    try:
        live = servers.up()
        api = Api(servers.origin, base_url=live.url)
        accounts = [new_account(api, database) for _ in range(KILLS)]
        for n in range(KILLS):
            waiting = [account for account in accounts if account.side is Side.BEFORE]
            size = rng.randint(1, 3)
            while len(waiting) < size:
                waiting.append(new_account(api, database))
                accounts.append(waiting[-1])
            batch = rng.sample(waiting, size)
            how = kill_round(servers, batch, rng, n)
            live = servers.up()
            api = Api(servers.origin, base_url=live.url)
            crossed = check_everyone(database, api, accounts)
            assert all(account in batch for account in crossed)
            for account in batch:
                if account.side is Side.BEFORE:
                    check_before_in_api(api, account)
            tally.before += len(batch) - len(crossed)
            tally.after += len(crossed)
            tally.answered += sum(account.answer is not None for account in crossed)
            tally.rounds.append(f"{size} sent, killed {how}: {len(crossed)} applied")
        # What is still before can be recovered now, with nothing half-written in its way.
        for account in accounts:
            if account.side is Side.BEFORE:
                api.call("POST", "/api/recovery/execute", account.body)
        tally.retried = len(check_everyone(database, api, accounts))
        assert all(account.side is Side.AFTER for account in accounts)
    except BaseException as failure:
        failure.add_note(f"seed {seed}; rounds: {tally.rounds}")
        raise
    finally:
        servers.stop()
    return tally


def report(tally: Tally, record_property: RecordProperty) -> None:
    summary = (
        f"seed {tally.seed}: {tally.before} recoveries found before a kill, {tally.after} after"
        f" ({tally.answered} of them answered 200 first); {tally.retried} recovered after the kills"
    )
    record_property("kills", summary)
    record_property("rounds", "; ".join(tally.rounds))
    print(summary, *tally.rounds, sep="\n  ")


def test_sigkill_around_execute_on_sqlite(tmp_path: Path, record_property: RecordProperty) -> None:
    report(run_kills(tmp_path, tmp_path / "vouch.db"), record_property)


@pytest.mark.postgres
def test_sigkill_around_execute_on_postgres(
    tmp_path: Path, postgres_url: str, record_property: RecordProperty
) -> None:
    report(run_kills(tmp_path, postgres_url), record_property)

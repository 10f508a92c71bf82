"""Races between server processes sharing one database: exactly one execution wins.

Two serve.py processes (so two connections, two event loops) on one SQLite file, and on one
PostgreSQL schema; the requests are released together from threads.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.server.conftest import start
from tests.server.helpers import (
    Api,
    Recovery,
    backup_codes_guardian,
    confirm_change,
    passphrase_guardian,
    register,
    save_guardians,
    snapshot,
    start_recovery,
)
from tests.support.live_server import LiveServer

ROUNDS = 3


def race(urls: list[str], path: str, bodies: list[dict[str, Any]]) -> list[httpx.Response]:
    """POST each body to its server at the same moment; the answers in order."""
    return race_requests(
        [(url, "POST", path, body, None) for url, body in zip(urls, bodies, strict=True)]
    )


def exactly_one_wins(answers: list[httpx.Response], loser_code: str) -> int:
    statuses = [answer.status_code for answer in answers]
    assert statuses.count(200) == 1, [answer.text for answer in answers]
    for answer in answers:
        if answer.status_code != 200:
            assert answer.status_code == 400, answer.text
            assert answer.json()["error"]["code"] == loser_code, answer.text
    return statuses.index(200)


def sign_in_passkeys(database: Path | str, account: str) -> list[tuple[Any, ...]]:
    rows = snapshot(database, ("credentials",))["credentials"]
    return [row for row in rows if row[1] == account and row[-1] == "signin"]


def check_races(first: LiveServer, second: LiveServer, database: Path | str) -> None:
    api = Api(first.url)
    urls = [first.url, second.url, first.url, second.url]
    for _ in range(ROUNDS):
        # Four identical executions of one recovery.
        user = register(api)
        passphrase = passphrase_guardian(user)
        save_guardians(api, user, 1, [passphrase])
        recovery = start_recovery(api, user.username)
        body = recovery.execute_body([recovery.approve(passphrase)])
        exactly_one_wins(race(urls, "/api/recovery/execute", [body] * 4), "challenge_used")
        passkeys = sign_in_passkeys(database, user.account)
        assert len([row for row in passkeys if row[7] is None]) == 1  # one unrevoked passkey

        # Two recoveries, from two devices, each spending the same backup code.
        user = register(api)
        codes = backup_codes_guardian(user)
        save_guardians(api, user, 1, [codes])
        recoveries: list[Recovery] = [start_recovery(api, user.username) for _ in range(2)]
        bodies = [r.execute_body([r.approve(codes, code=7)]) for r in recoveries]
        winner = exactly_one_wins(
            race(urls[:2], "/api/recovery/execute", bodies), "approval_invalid"
        )
        used = [row for row in snapshot(database, ("backup_codes",))["backup_codes"]
                if row[0] == user.account and row[4] is not None]  # fmt: skip
        assert [(row[2], row[5]) for row in used] == [(7, recoveries[winner].reference)]
        live = [row for row in sign_in_passkeys(database, user.account) if row[7] is None]
        assert [row[0] for row in live] == [recoveries[winner].registration["id"]]


@pytest.fixture
def sqlite_twins(tmp_path: Path) -> Iterator[tuple[LiveServer, LiveServer]]:
    first = start(tmp_path)
    second = start(tmp_path, "--origin", first.url)  # one dialog origin, two processes
    yield first, second
    first.stop()
    second.stop()


def test_concurrent_executions_on_sqlite(sqlite_twins: tuple[LiveServer, LiveServer]) -> None:
    first, second = sqlite_twins
    check_races(first, second, first.database)


@pytest.mark.postgres
def test_concurrent_executions_on_postgres(tmp_path: Path, postgres_url: str) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = start(tmp_path / "a", "--db", postgres_url)
    second = start(tmp_path / "b", "--db", postgres_url, "--origin", first.url)
    try:
        check_races(first, second, postgres_url)
    finally:
        first.stop()
        second.stop()


def race_change_and_recovery(first: LiveServer, second: LiveServer) -> str:
    """A guardian change (PUT /api/guardians) and a recovery execute of one account,
    released together on two processes: one wins, and the other is refused as it should be.

    The execute loses with 409 guardians_changed. The change loses with 409
    account_recovered if it was under way when the recovery committed, or with 401 if the
    recovery had committed before it began (its session was revoked). Returns which
    happened."""
    api = Api(first.url)
    user = register(api)
    passphrase = passphrase_guardian(user)
    save_guardians(api, user, 1, [passphrase])
    recovery = start_recovery(api, user.username)
    execute_body = recovery.execute_body([recovery.approve(passphrase)])
    config = {"threshold": 1, "guardians": [passphrase.entry, backup_codes_guardian(user).entry]}
    change_body = confirm_change(api, user, config)
    change, executed = race_requests(
        [
            (first.url, "PUT", "/api/guardians", change_body, user.session),
            (second.url, "POST", "/api/recovery/execute", execute_body, None),
        ]
    )
    if change.status_code == 200:
        assert executed.status_code == 409, executed.text
        assert executed.json()["error"]["code"] == "guardians_changed", executed.text
        return "change won"
    assert executed.status_code == 200, (change.text, executed.text)
    assert (change.status_code, change.json()["error"]["code"]) in {
        (409, "account_recovered"),
        (401, "unauthorized"),
    }, change.text
    return f"recovery won, change {change.json()['error']['code']}"


def race_requests(
    requests: list[tuple[str, str, str, dict[str, Any], str | None]],
) -> list[httpx.Response]:
    """Each (url, method, path, body, session) sent at the same moment; answers in order."""
    barrier = threading.Barrier(len(requests))
    clients = [httpx.Client(base_url=url, timeout=30) for url, *_ in requests]
    for client in clients:
        client.get("/healthz")  # connect first: only the requests race
    answers: list[httpx.Response | None] = [None] * len(requests)

    def send(n: int) -> None:
        _, method, path, body, session = requests[n]
        headers = {"Authorization": f"Bearer {session}"} if session else {}
        barrier.wait()
        answers[n] = clients[n].request(method, path, json=body, headers=headers)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for client in clients:
        client.close()
    return [answer for answer in answers if answer is not None]


def test_a_guardian_change_racing_a_recovery_on_sqlite(
    sqlite_twins: tuple[LiveServer, LiveServer],
) -> None:
    first, second = sqlite_twins
    for _ in range(10):
        race_change_and_recovery(first, second)


@pytest.mark.postgres
def test_a_guardian_change_racing_a_recovery_never_deadlocks_on_postgres(
    tmp_path: Path, postgres_url: str
) -> None:
    """100 races: no deadlock (it would be a 503 after PostgreSQL's deadlock_timeout), and
    both orders are seen."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = start(tmp_path / "a", "--db", postgres_url)
    second = start(tmp_path / "b", "--db", postgres_url, "--origin", first.url)
    try:
        outcomes = Counter(race_change_and_recovery(first, second) for _ in range(100))
    finally:
        first.stop()
        second.stop()
    print(
        dict(outcomes)
    )  # e.g. {'change won': 40, 'recovery won, change account_recovered': 55, ...}
    for log in (first.log(), second.log()):
        assert "deadlock" not in log.lower(), log[-2000:]
    assert sum(outcomes.values()) == 100

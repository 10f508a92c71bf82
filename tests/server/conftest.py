"""Live servers for the API tests: real serve.py processes on real ports, real databases.

`server` relaxes the rate limits (every test here comes from 127.0.0.1); the limits have
their own server in test_ratelimit.py. PostgreSQL comes from $VOUCH_TEST_POSTGRES_URL, or a
cluster started here from the installed binaries, or the PostgreSQL tests are skipped.

`serve_app` runs `create_app` in this process instead (on a thread, on a real port), for a
test that injects what serve.py cannot take: a registry with a kind of its own.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette

from tests.server.helpers import Api, close_clients
from tests.support import postgres
from tests.support.live_server import LiveServer, start_server
from tests.support.ports import free_port
from vouch.server.app import create_app
from vouch.server.config import DEFAULT_RATE_LIMITS, Config, RateLimit
from vouch.server.kinds import KindRegistry
from vouch.server.storage import Database, open_database

RELAXED = [arg for name in DEFAULT_RATE_LIMITS for arg in ("--rate-limit", f"{name}=100000/60")]


def start(directory: Path, *args: str) -> LiveServer:
    return start_server(directory, *RELAXED, *args)


@dataclasses.dataclass
class AppServer:
    """An app served from this process: its URL, its SQLite file and its config."""

    url: str
    database: Path
    config: Config
    app: Starlette


@contextlib.contextmanager
def serve_app(directory: Path, *, kinds: KindRegistry, **config: Any) -> Iterator[AppServer]:
    """`create_app(Config(...), kinds=kinds)` on uvicorn in a thread, rate limits relaxed;
    `config` sets other Config fields (recovery_delay_seconds=...)."""
    port = free_port()
    database = directory / "vouch.db"
    settings = Config(
        origin=f"http://localhost:{port}",
        database=str(database),
        rate_limits={name: RateLimit(100_000, 60) for name in DEFAULT_RATE_LIMITS},
        **config,
    )
    app = create_app(settings, kinds=kinds)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, name=f"vouch-app-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the in-process server did not start")
        time.sleep(0.02)
    try:
        yield AppServer(settings.origin, database, settings, app)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session", autouse=True)
def _close_api_clients() -> Iterator[None]:
    yield
    close_clients()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start(tmp_path_factory.mktemp("api"))
    yield live
    live.stop()


@pytest.fixture
def api(server: LiveServer) -> Api:
    return Api(server.url)


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """A PostgreSQL server for this test session (the tests make their own schemas in it)."""
    url = os.environ.get(postgres.URL_VARIABLE)
    if url:
        yield url
        return
    reason = postgres.unavailable_reason()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the PostgreSQL tests, but {reason}")
        pytest.skip(f"PostgreSQL tests skipped: {reason}; or set {postgres.URL_VARIABLE}")
    cluster = postgres.start_cluster()
    try:
        yield cluster.url
    finally:
        cluster.stop()


@pytest.fixture
def postgres_url(postgres_server_url: str) -> str:
    """A URL whose connections work in a fresh, empty schema of their own."""
    import psycopg

    schema = f"test_{secrets.token_hex(6)}"
    with psycopg.connect(postgres_server_url, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in postgres_server_url else "?"
    return f"{postgres_server_url}{separator}options=-csearch_path%3D{schema}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database on each backend: a SQLite file, then a PostgreSQL schema."""
    if request.param == "sqlite":
        return str(tmp_path / "vouch.db")
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def database(target: str) -> Iterator[Database]:
    """`target` opened, migrated to the newest schema."""
    opened = open_database(target)
    yield opened
    opened.close()

"""Live servers for the API tests: real serve.py processes on real ports, real databases.

`server` relaxes the rate limits (every test here comes from 127.0.0.1); the limits have
their own server in test_ratelimit.py. PostgreSQL comes from $VOUCH_TEST_POSTGRES_URL, or a
cluster started here from the installed binaries, or the PostgreSQL tests are skipped.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server.helpers import Api
from tests.support import postgres
from tests.support.live_server import LiveServer, start_server
from vouch.server.config import DEFAULT_RATE_LIMITS

RELAXED = [arg for name in DEFAULT_RATE_LIMITS for arg in ("--rate-limit", f"{name}=100000/60")]


def start(directory: Path, *args: str) -> LiveServer:
    return start_server(directory, *RELAXED, *args)


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

"""Response headers: no caching of anything with a session, token or account in it, Allow on
405, one Vary, the JWKS readable by host pages, HSTS when asked for on an https origin."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.server.conftest import start
from tests.server.helpers import Api, register, sign_in, unique_name
from tests.support.live_server import ROOT, LiveServer

HOST_SITE = "https://app.example"


def test_answers_with_a_session_token_or_account_data_are_not_stored(api: Api) -> None:
    user = register(api)
    answers = {
        "sign-in": sign_in(api, user.device),
        "session": api.request("GET", "/api/session", session=user.session),
        "recovery start": api.request("POST", "/api/recovery/start", {"username": user.username}),
        "unknown name": api.request("POST", "/api/recovery/start", {"username": unique_name()}),
        "refusal": api.request("GET", "/api/session", session="not-a-session"),
        "config": api.request("GET", "/api/config"),
    }
    for what, response in answers.items():
        assert response.headers.get_list("cache-control") == ["no-store"], what
    assert answers["sign-in"].json()["token"]
    assert answers["refusal"].status_code == 401


def test_api_errors_from_the_router_are_not_stored_either(api: Api) -> None:
    for method, path in [("GET", "/api/nope"), ("DELETE", "/api/config")]:
        response = api.http.request(method, path)
        assert response.status_code in (404, 405)
        assert response.headers["cache-control"] == "no-store", path


def test_static_files_keep_their_caching(api: Api) -> None:
    assert api.http.get("/dialog.html").headers["cache-control"] == "no-cache"
    jwks = api.http.get("/.well-known/jwks.json")
    assert jwks.headers["cache-control"] == "public, max-age=300"


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/api/config", {"GET", "HEAD"}),
        ("GET", "/api/signin/verify", {"POST"}),
        ("PUT", "/.well-known/jwks.json", {"GET", "HEAD"}),
        ("POST", "/healthz", {"GET", "HEAD"}),
        ("POST", "/dialog.html", {"GET", "HEAD"}),
    ],
)
def test_a_405_says_which_methods_are_allowed(
    api: Api, method: str, path: str, allowed: set[str]
) -> None:
    response = api.http.request(method, path)
    assert response.status_code == 405
    assert {item.strip() for item in response.headers["allow"].split(",")} == allowed
    if path.startswith("/api/"):
        assert response.json()["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize(
    "path", ["/dialog.html", "/dialog.css", "/vouch.js", "/api/config", "/.well-known/jwks.json"]
)
@pytest.mark.parametrize("encoding", ["gzip", "br, gzip", "identity"])
def test_a_response_has_at_most_one_vary_naming_each_header_once(
    api: Api, path: str, encoding: str
) -> None:
    response = api.http.get(path, headers={"Accept-Encoding": encoding, "Origin": HOST_SITE})
    assert response.status_code == 200
    varies = response.headers.get_list("vary")
    assert len(varies) <= 1, varies
    for vary in varies:
        names = [name.strip().lower() for name in vary.split(",")]
        assert len(names) == len(set(names)), vary


def test_the_jwks_is_readable_by_a_host_page(api: Api) -> None:
    response = api.http.get("/.well-known/jwks.json", headers={"Origin": HOST_SITE})
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["cross-origin-resource-policy"] == "cross-origin"
    assert response.json()["keys"]


@pytest.fixture(scope="module")
def https_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start(
        tmp_path_factory.mktemp("hsts"), "--origin", "https://dialog.example", "--hsts", "600"
    )
    yield live
    live.stop()


def test_hsts_is_sent_on_every_response_when_asked_for(https_site: LiveServer) -> None:
    for path in ["/dialog.html", "/api/config", "/.well-known/jwks.json", "/healthz"]:
        response = httpx.get(f"{https_site.url}{path}")
        assert response.headers["strict-transport-security"] == "max-age=600", path


def test_no_hsts_unless_asked_for(api: Api) -> None:
    assert "strict-transport-security" not in api.http.get("/dialog.html").headers


def test_hsts_without_a_seconds_value_is_two_years(tmp_path: Path) -> None:
    live = start(tmp_path, "--origin", "https://dialog.example", "--hsts")
    try:
        response = httpx.get(f"{live.url}/api/config")
        assert response.headers["strict-transport-security"] == "max-age=63072000"
    finally:
        live.stop()


@pytest.mark.parametrize("origin", [[], ["--origin", "http://dialog.example"]])
def test_hsts_on_an_http_origin_is_refused_at_start(tmp_path: Path, origin: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "serve.py"), "--db", str(tmp_path / "x.db"), "--hsts", *origin],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--hsts needs an https --origin" in result.stderr
    assert "Traceback" not in result.stderr

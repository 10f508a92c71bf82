"""Each allowed site can carry the name its users know it by, for the recovery kit to show;
/api/config tells the dialog those names and its own, and serve.py says where the dialog is."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.live_server import ROOT, LiveServer, start_server

NAMED = "https://app.example.com"
UNNAMED = "https://shop.example.org:8443"


@pytest.fixture(scope="module")
def named_sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start_server(
        tmp_path_factory.mktemp("sites"),
        "--allow-origin",
        f"{NAMED}=Example App",
        "--allow-origin",
        f"{UNNAMED}/",
        "--rp-name",
        "Acme Accounts",
    )
    yield server
    server.stop()


def test_config_names_each_allowed_site_and_the_dialog_itself(named_sites: LiveServer) -> None:
    config = httpx.get(f"{named_sites.url}/api/config").json()
    assert config["origin"] == named_sites.url
    assert config["rp_name"] == "Acme Accounts"
    # The origins stay bare, as the browser reports them; a trailing slash is dropped.
    assert config["allowed_origins"] == [NAMED, UNNAMED]
    assert config["site_names"] == {NAMED: "Example App", UNNAMED: "shop.example.org"}


def test_a_name_changes_nothing_of_what_may_frame_the_dialog(named_sites: LiveServer) -> None:
    policy = httpx.get(f"{named_sites.url}/dialog.html").headers["content-security-policy"]
    assert f"frame-ancestors 'self' {NAMED} {UNNAMED}" in policy
    assert "Example" not in policy


def test_serve_prints_the_dialogs_address_at_start(named_sites: LiveServer) -> None:
    assert f"vouch dialog: {named_sites.url}/dialog.html" in named_sites.log()


def test_without_options_the_dialog_names_itself_vouch(tmp_path: Path) -> None:
    server = start_server(tmp_path)
    try:
        config = httpx.get(f"{server.url}/api/config").json()
    finally:
        server.stop()
    assert config["rp_name"] == "vouch"
    assert config["allowed_origins"] == []
    assert config["site_names"] == {}


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("app.example.com", '"app.example.com" is not an origin'),
        ("https://app.example.com/login=App", '"https://app.example.com/login" is not an origin'),
        ("https://app.example.com=  ", "has an empty name"),
    ],
)
def test_serve_refuses_an_allowed_site_that_is_no_origin(argument: str, message: str) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "serve.py"), "--allow-origin", argument],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "--allow-origin" in result.stderr
    assert message in result.stderr

"""serve.py as a web server: health, media types, compression, caching and security headers."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.live_server import ROOT, LiveServer, start_server

WEB = ROOT / "web"
HOST_SITE = "https://app.example"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    if not (WEB / "pyodide" / "pyodide.asm.wasm").exists():
        pytest.fail("web/ assets are not built: run scripts/setup (or scripts/build_web.py)")
    server = start_server(tmp_path_factory.mktemp("site"), "--allow-origin", HOST_SITE)
    yield server
    server.stop()


def test_health(site: LiveServer) -> None:
    response = httpx.get(f"{site.url}/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_wasm_is_served_with_its_type_compressed_when_asked(site: LiveServer) -> None:
    path = "/pyodide/pyodide.asm.wasm"
    raw = (WEB / path.lstrip("/")).read_bytes()
    plain = httpx.get(f"{site.url}{path}", headers={"Accept-Encoding": "identity"})
    assert plain.headers["content-type"] == "application/wasm"
    assert "content-encoding" not in plain.headers
    assert plain.content == raw

    packed = httpx.get(f"{site.url}{path}", headers={"Accept-Encoding": "gzip, br"})
    assert packed.headers["content-type"] == "application/wasm"
    assert packed.headers["content-encoding"] in ("gzip", "br")
    assert int(packed.headers["content-length"]) < len(raw) * 0.6
    assert "Accept-Encoding" in packed.headers["vary"]
    if packed.headers["content-encoding"] == "gzip":
        assert packed.content == raw  # httpx decodes gzip transparently


@pytest.mark.parametrize(
    ("path", "media_type"),
    [
        ("/dialog.html", "text/html"),
        ("/dialog.css", "text/css"),
        ("/vouch.js", "text/javascript"),
        ("/pyodide/pyodide.mjs", "text/javascript"),
        ("/pyodide/pyodide-lock.json", "application/json"),
    ],
)
def test_media_types(site: LiveServer, path: str, media_type: str) -> None:
    response = httpx.get(f"{site.url}{path}")
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media_type


def test_the_dialog_page_revalidates_with_its_etag(site: LiveServer) -> None:
    first = httpx.get(f"{site.url}/dialog.html")
    assert "no-cache" in first.headers["cache-control"]
    etag = first.headers["etag"]
    again = httpx.get(f"{site.url}/dialog.html", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""


def test_security_headers_allow_nothing_remote(site: LiveServer) -> None:
    headers = httpx.get(f"{site.url}/dialog.html").headers
    directives = [
        part.strip().partition(" ") for part in headers["content-security-policy"].split(";")
    ]
    csp = {name: sources for name, _, sources in directives}
    assert "'wasm-unsafe-eval'" in csp["script-src"]
    assert "'unsafe-inline'" not in csp["script-src"]
    assert csp["default-src"] == "'self'"
    assert csp["connect-src"] == "'self'"
    assert csp["object-src"] == "'none'"
    assert csp["frame-ancestors"] == f"'self' {HOST_SITE}"
    for directive, sources in csp.items():
        if directive != "frame-ancestors":
            assert not re.search(r"https?:", sources), f"{directive} allows a remote origin"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"


def test_the_sdk_can_be_imported_by_other_sites(site: LiveServer) -> None:
    response = httpx.get(f"{site.url}/vouch.js", headers={"Origin": HOST_SITE})
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["cross-origin-resource-policy"] == "cross-origin"
    assert "export const Vouch" in response.text


@pytest.mark.parametrize("path", ["/nothing-here.js", "/../pyproject.toml", "/%2e%2e/serve.py"])
def test_missing_and_escaping_paths_are_404(site: LiveServer, path: str) -> None:
    response = httpx.get(f"{site.url}{path}")
    assert response.status_code == 404
    assert "pyproject" not in response.text


def test_unknown_api_paths_answer_json(site: LiveServer) -> None:
    response = httpx.get(f"{site.url}/api/nope")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_help_explains_every_option() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "serve.py"), "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    source = (ROOT / "serve.py").read_text()
    options = set(re.findall(r'add_argument\(\s*"(--[a-z-]+)"', source))
    assert {"--host", "--port", "--db", "--allow-origin", "--recovery-delay"} <= options
    for option in options:
        assert option in result.stdout
    assert "usage:" in result.stdout


def test_serve_rejects_a_bad_option_with_a_message(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "serve.py"), "--port", "not-a-number"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "--port" in result.stderr

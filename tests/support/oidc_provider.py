"""A real OpenID Provider for the tests: `oidc_provider.mjs` (npm oidc-provider) run with node.

`start_provider()` runs it on a free loopback port and waits for its discovery document;
`OpenIDProvider.id_token(nonce, sub=...)` obtains a real ID token the way a browser would,
by following the implicit flow's redirects with httpx (the provider's login is scripted:
the request's login_hint is the `sub` signed in) and reading `id_token` from the redirect
URI's fragment. Offline: node and node_modules (`npm ci`) are all it needs.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("oidc_provider.mjs")
CLIENT_ID = "vouch-test"
OTHER_CLIENT_ID = "other-client"
REDIRECT_URI = "http://localhost:1/oidc-callback.html"


class ProviderError(RuntimeError):
    pass


def unavailable_reason() -> str | None:
    """Why the provider cannot run here (None: it can)."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not (ROOT / "node_modules" / "oidc-provider").is_dir():
        return "node_modules/oidc-provider is missing (run `npm ci`)"
    return None


def require_node() -> None:
    """Fail (never skip) when the provider cannot run: scripts/setup installs what it needs,
    so a missing part is a broken set-up, not a reason to test less."""
    reason = unavailable_reason()
    if reason:
        pytest.fail(f"the OpenID tests need a real provider, but {reason}: run scripts/setup")


@dataclass
class OpenIDProvider:
    issuer: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def url(self) -> str:
        """Where to reach it (the issuer's host is localhost; it listens on 127.0.0.1)."""
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def id_token(
        self,
        nonce: str,
        *,
        sub: str = "user-1",
        client: str = CLIENT_ID,
        clock_offset: int = 0,
    ) -> str:
        """A real ID token for `sub`, issued to `client` with `nonce`; with `clock_offset`
        the provider's clock runs that many seconds off while it issues it."""
        if clock_offset:
            self.control("POST", f"/_test/clock?offset={clock_offset}")
        try:
            return self._authorize(nonce, sub=sub, client=client)
        finally:
            if clock_offset:
                self.control("POST", "/_test/clock?offset=0")

    def _authorize(self, nonce: str, *, sub: str, client: str) -> str:
        params = {
            "client_id": client,
            "response_type": "id_token",
            "response_mode": "fragment",
            "scope": "openid",
            "redirect_uri": REDIRECT_URI,
            "nonce": nonce,
            "state": secrets.token_urlsafe(8),
            "login_hint": sub,
            "prompt": "login",
        }
        url = f"{self.issuer}/auth"
        with httpx.Client(timeout=10) as http:  # fresh cookies: a new login each time
            response = http.get(url, params=params)
            for _ in range(10):
                location = response.headers.get("location")
                if response.status_code not in (302, 303) or location is None:
                    raise ProviderError(
                        f"the provider answered {response.status_code}: {response.text[:500]}"
                    )
                target = str(response.url.join(location))
                if target.startswith(REDIRECT_URI):
                    fragment = parse_qs(urlsplit(target).fragment)
                    if "id_token" not in fragment:
                        raise ProviderError(f"no id_token in the redirect: {target}")
                    return fragment["id_token"][0]
                response = http.get(target)
        raise ProviderError("the provider redirected too many times")

    def control(self, method: str, path: str) -> Any:
        response = httpx.request(method, f"{self.url}{path}", timeout=10)
        response.raise_for_status()
        return response.json()

    def rotate(self) -> str:
        """A new signing key from now on; returns its kid."""
        kid: str = self.control("POST", "/_test/rotate")["kid"]
        return kid

    def stats(self) -> dict[str, int]:
        stats: dict[str, int] = self.control("GET", "/_test/stats")
        return stats

    def keys(self) -> list[dict[str, Any]]:
        keys: list[dict[str, Any]] = self.control("GET", "/_test/keys")
        return keys

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


def start_provider(
    directory: Path,
    *,
    issuer: str | None = None,
    keys: list[dict[str, Any]] | None = None,
    redirect_uris: Sequence[str] = (),
) -> OpenIDProvider:
    """Run the provider; return once its discovery document answers. Its clients may
    redirect to REDIRECT_URI (where `id_token` stops) and to `redirect_uris` (a live
    dialog's callback page, for browser tests)."""
    env = {**os.environ, "OIDC_REDIRECT_URI": ",".join([REDIRECT_URI, *redirect_uris])}
    if issuer:
        env["OIDC_ISSUER"] = issuer
    if keys:
        env["OIDC_KEYS"] = json.dumps(keys)
    log_path = directory / f"oidc-provider-{secrets.token_hex(3)}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            ["node", str(SCRIPT)], stdout=subprocess.PIPE, stderr=log, cwd=ROOT, env=env
        )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        process.wait(timeout=10)
        process.stdout.close()
        raise ProviderError(f"the OpenID provider did not start:\n{log_path.read_text()}")
    started = json.loads(line)
    provider = OpenIDProvider(started["issuer"], started["port"], process, log_path)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            discovery = f"{provider.url}/.well-known/openid-configuration"
            if httpx.get(discovery, timeout=2).status_code == 200:
                return provider
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    provider.stop()
    raise ProviderError(f"the OpenID provider never answered:\n{provider.log()}")


@contextmanager
def running_provider(directory: Path, **options: Any) -> Iterator[OpenIDProvider]:
    provider = start_provider(directory, **options)
    try:
        yield provider
    finally:
        provider.stop()

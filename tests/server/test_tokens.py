"""Host-app tokens: EdDSA JWTs that a host verifies with PyJWT and the JWKS alone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest

from tests.server.conftest import start
from tests.server.helpers import (
    Api,
    execute,
    passphrase_guardian,
    register,
    save_guardians,
    sign_in,
    start_recovery,
)
from tests.support.live_server import LiveServer

HOST = "https://shop.example"


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start(tmp_path_factory.mktemp("embedded"), "--allow-origin", HOST, "--token-ttl", "120")
    yield live
    live.stop()


def verify(server: LiveServer, token: str, audience: str) -> dict[str, object]:
    """What a host's backend does: fetch the JWKS, pick the key by kid, verify."""
    client = jwt.PyJWKClient(f"{server.url}/.well-known/jwks.json")
    key = client.get_signing_key_from_jwt(token)
    claims: dict[str, object] = jwt.decode(
        token, key.key, algorithms=["EdDSA"], audience=audience, issuer=server.url
    )
    return claims


def test_sign_in_gives_a_token_for_the_embedding_site(embedded: LiveServer) -> None:
    api = Api(embedded.url)
    user = register(api)
    assert verify(embedded, user.token, embedded.url)["sub"] == user.account  # default audience
    options = api.call("POST", "/api/signin/options", {})
    body = {
        "challenge_id": options["challenge_id"],
        "credential": user.device.get(options["options"]),
        "audience": HOST,
    }
    result = api.call("POST", "/api/signin/verify", body)
    claims = verify(embedded, result["token"], HOST)
    assert claims["sub"] == user.account
    assert claims["preferred_username"] == user.username
    assert claims["exp"] - claims["iat"] == 120  # type: ignore[operator]
    header = jwt.get_unverified_header(result["token"])
    assert header["alg"] == "EdDSA"
    with pytest.raises(jwt.InvalidAudienceError):
        verify(embedded, result["token"], "https://other.example")


def test_an_audience_that_is_not_allowed_is_refused_before_anything_is_used(
    embedded: LiveServer,
) -> None:
    api = Api(embedded.url)
    user = register(api)
    options = api.call("POST", "/api/signin/options", {})
    body = {
        "challenge_id": options["challenge_id"],
        "credential": user.device.get(options["options"]),
        "audience": "https://evil.example",
    }
    error = api.refused("POST", "/api/signin/verify", body, status=400, code="audience_not_allowed")
    assert "https://evil.example" in error["message"]
    del body["audience"]
    api.call("POST", "/api/signin/verify", body)  # the challenge was not consumed


def test_a_recovery_gives_a_token(embedded: LiveServer) -> None:
    api = Api(embedded.url)
    user = register(api)
    guardian = passphrase_guardian(user)
    save_guardians(api, user, 1, [guardian])
    recovery = start_recovery(api, user.username)
    body = recovery.execute_body([recovery.approve(guardian)], audience=HOST)
    result = api.call("POST", "/api/recovery/execute", body)
    assert verify(embedded, result["token"], HOST)["sub"] == user.account


def test_the_signing_key_is_kept_across_restarts(tmp_path: Path) -> None:
    keys = []
    for _ in range(2):
        live = start(tmp_path)
        try:
            keys.append(Api(live.url).http.get("/.well-known/jwks.json").json())
        finally:
            live.stop()
    assert keys[0] == keys[1]
    (key,) = keys[0]["keys"]
    assert (key["kty"], key["crv"], key["alg"]) == ("OKP", "Ed25519", "EdDSA")


def test_tokens_outlive_a_recovery_only_until_they_expire(api: Api, server: LiveServer) -> None:
    """Tokens are bearer JWTs for the host: they cannot be revoked, hence their short life.
    The dialog's own sessions, which can, end at the recovery."""
    user = register(api)
    guardian = passphrase_guardian(user)
    save_guardians(api, user, 1, [guardian])
    recovery = start_recovery(api, user.username)
    execute(api, recovery, [recovery.approve(guardian)])
    api.refused("GET", "/api/session", session=user.session, status=401, code="unauthorized")
    assert sign_in(api, user.device).status_code == 400
    assert verify(server, user.token, server.url)["sub"] == user.account


def test_a_live_session_resumes_with_a_fresh_token_for_an_allowed_host(
    embedded: LiveServer,
) -> None:
    """A dialog reopened by the same host page ("Manage account" right after sign-up) asks
    for no passkey: its session gets a new token, for that host only, and stays the same."""
    api = Api(embedded.url)
    user = register(api)
    resumed = api.call("POST", "/api/session/resume", {"audience": HOST}, session=user.session)
    assert resumed["session"] == user.session
    assert (resumed["account"], resumed["username"]) == (user.account, user.username)
    assert verify(embedded, str(resumed["token"]), HOST)["sub"] == user.account
    api.refused(
        "POST",
        "/api/session/resume",
        {"audience": "https://elsewhere.example"},
        session=user.session,
        status=400,
        code="audience_not_allowed",
    )
    api.refused("POST", "/api/session/resume", {}, status=401, code="unauthorized")
    api.refused(
        "POST", "/api/session/resume", {}, session="not-a-session", status=401, code="unauthorized"
    )

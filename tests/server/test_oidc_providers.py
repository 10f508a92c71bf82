"""OpenID providers as the server sees them: settings, caching, key rotation, a provider that
is down, and decoys that show OpenID guardians like real accounts do."""

from __future__ import annotations

import sqlite3
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest

from tests.server.helpers import (
    Api,
    execute,
    passphrase_guardian,
    register,
    start_recovery,
)
from tests.server.oidc_helpers import (
    approval,
    approve,
    change_body,
    check_body,
    link,
    oidc_guardian,
    provider_fixture,
    registry,
    start_vouch,
)
from tests.server.test_decoys import shape
from tests.support.live_server import LiveServer
from tests.support.oidc_provider import OpenIDProvider
from tests.support.ports import free_port
from tests.support.stats import paired as p_slower
from vouch.core.messages import oidc_nonce_for
from vouch.server.decoys import Decoys
from vouch.server.kinds import DEFAULT_KINDS, kinds_for
from vouch.server.oidc import settings
from vouch.server.oidc.provider import (
    DEFAULT_CACHE_SECONDS,
    MAX_CACHE_SECONDS,
    MIN_CACHE_SECONDS,
    Providers,
    cache_seconds,
)

# Settings ----------------------------------------------------------------------------------


def test_a_provider_setting_is_name_issuer_and_client_id() -> None:
    parsed = settings.parse_provider("google=https://accounts.google.com,123.apps.example")
    assert parsed == settings.ProviderSettings(
        "google", "https://accounts.google.com", "123.apps.example", "Google"
    )
    both = settings.parse_providers(
        ["a=https://a.example,1"], "b=https://b.example,2; c=http://localhost:9,3"
    )
    assert [p.name for p in both] == ["a", "b", "c"]
    named = settings.with_display(
        both, ["a=Alpha Corp"], ["a=/icons/a.svg", "b=data:image/png;base64,AA"]
    )
    assert (named[0].display_name, named[0].icon, named[1].icon) == (
        "Alpha Corp",
        "/icons/a.svg",
        "data:image/png;base64,AA",
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("google", "is not NAME=ISSUER_URL,CLIENT_ID"),
        ("Google=https://a.example,1", "must be 1-32 lowercase letters"),
        ("g=https://a.example", "expected ISSUER_URL,CLIENT_ID"),
        ("g=http://a.example,1", "it must be an https URL"),
        ("g=https://a.example,1,/run/secret", "needs none; leave it out"),
    ],
)
def test_a_wrong_provider_setting_says_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(settings.ProviderSettingError, match=message):
        settings.parse_provider(text)


def test_display_settings_name_a_configured_provider_and_stay_on_the_origin() -> None:
    providers = settings.parse_providers(["a=https://a.example,1"])
    with pytest.raises(settings.ProviderSettingError, match="not a configured OpenID provider"):
        settings.with_display(providers, ["b=Bee"], [])
    with pytest.raises(settings.ProviderSettingError, match="the dialog loads nothing"):
        settings.with_display(providers, [], ["a=https://cdn.example/a.svg"])
    with pytest.raises(settings.ProviderSettingError, match="configured twice"):
        settings.parse_providers(["a=https://a.example,1"], "a=https://b.example,2")


def test_documents_are_kept_as_cache_control_allows_within_bounds() -> None:
    assert cache_seconds(None) == DEFAULT_CACHE_SECONDS
    assert cache_seconds("public, max-age=21600, must-revalidate") == 21600
    assert cache_seconds("max-age=5") == MIN_CACHE_SECONDS
    assert cache_seconds("max-age=99999999") == MAX_CACHE_SECONDS
    assert cache_seconds("no-store") == MIN_CACHE_SECONDS
    assert cache_seconds("private") == DEFAULT_CACHE_SECONDS


def test_a_server_without_providers_keeps_exactly_its_decoys() -> None:
    assert kinds_for(Providers([])) is DEFAULT_KINDS
    key = bytes(range(32))
    plain, with_none = Decoys(key), Decoys(key, kinds_for(Providers([])))
    for n in range(50):
        assert plain.decoy(f"name-{n}") == with_none.decoy(f"name-{n}")


# Key rotation and a provider that is down -----------------------------------------------


@pytest.fixture
def op(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenIDProvider]:
    yield from provider_fixture(tmp_path_factory.mktemp("op"))


def test_a_new_key_is_fetched_once_when_a_token_names_it(
    op: OpenIDProvider, tmp_path: Path
) -> None:
    vouch = start_vouch(tmp_path, op.issuer)
    try:
        api = Api(vouch.url, kinds=registry())
        user = register(api)
        guardian = oidc_guardian()
        link(api, op, user, 1, [guardian], {guardian.id: "alice"})
        fetched = op.stats()["jwks_requests"]
        assert fetched == 1  # at start-up, kept since
        new_kid = op.rotate()
        recovery = start_recovery(api, user.username)
        given = approve(op, recovery, guardian, "alice")
        assert jwt.get_unverified_header(given["id_token"])["kid"] == new_kid
        assert execute(api, recovery, [given])["status"] == "complete"
        assert op.stats()["jwks_requests"] == fetched + 1
        # Another unknown key id right after: refused without asking the provider again.
        recovery = start_recovery(api, user.username)
        token = approve(op, recovery, guardian, "alice")["id_token"]
        _, payload, signature = token.split(".")
        forged = jwt.utils.base64url_encode(b'{"alg":"RS256","kid":"made-up"}').decode()
        api.refused(
            "POST",
            "/api/recovery/check",
            check_body(recovery, approval(guardian.id, f"{forged}.{payload}.{signature}")),
            status=400,
            code="id_token_unknown_key",
        )
        assert op.stats()["jwks_requests"] == fetched + 1
    finally:
        vouch.stop()


def test_the_server_starts_when_its_provider_is_down(tmp_path: Path) -> None:
    issuer = f"http://localhost:{free_port()}"  # nothing listens there
    vouch = start_vouch(tmp_path, issuer)
    try:
        api = Api(vouch.url, kinds=registry())
        (described,) = api.call("GET", "/api/config")["oidc_providers"]
        message = (
            "Test cannot be reached right now: use another guardian, or try again in a few minutes."
        )
        assert (described["available"], described["message"]) == (False, message)
        assert described["authorization_endpoint"] is None
        user = register(api)
        guardian = oidc_guardian()
        body = change_body(api, user, 1, [guardian], lambda message: {guardian.id: "a.b.c"})
        error = api.refused(
            "PUT",
            "/api/guardians",
            body,
            status=400,
            code="oidc_provider_unavailable",
            session=user.session,
        )
        assert error["message"] == message
        # Other guardians still work.
        passphrase = passphrase_guardian(user)
        body = change_body(api, user, 1, [passphrase], lambda message: {})
        api.call("PUT", "/api/guardians", body, session=user.session)
    finally:
        vouch.stop()
    assert f"OpenID provider test ({issuer}) cannot be used" in vouch.log()


# Decoys -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shared_op(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenIDProvider]:
    yield from provider_fixture(tmp_path_factory.mktemp("op"))


@pytest.fixture(scope="module")
def vouch(
    tmp_path_factory: pytest.TempPathFactory, shared_op: OpenIDProvider
) -> Iterator[LiveServer]:
    live = start_vouch(tmp_path_factory.mktemp("vouch"), shared_op.issuer)
    yield live
    live.stop()


def decoys_of(server: LiveServer, issuer: str) -> Decoys:
    with sqlite3.connect(f"file:{server.database}?mode=ro", uri=True) as connection:
        (key,) = connection.execute(
            "SELECT value FROM server_secrets WHERE name = 'decoy_hmac_v1'"
        ).fetchone()
    return Decoys(key, registry(issuer))


def unknown_like(server: LiveServer, issuer: str, kinds: tuple[str, ...], prefix: str) -> str:
    decoys = decoys_of(server, issuer)
    for n in range(10_000):
        name = f"{prefix}-{n}"
        if tuple(row["kind"] for row in decoys.decoy(name).rows) == kinds:
            return name
    raise AssertionError(f"no decoy shaped {kinds}")


def test_decoys_show_openid_guardians_like_real_accounts(
    vouch: LiveServer, shared_op: OpenIDProvider
) -> None:
    api = Api(vouch.url, kinds=registry())
    decoys = decoys_of(vouch, shared_op.issuer)
    with_oidc = sum("oidc" in [r["kind"] for r in decoys.decoy(f"n-{n}").rows] for n in range(600))
    assert 110 < with_oidc < 210  # 4 of the 15 shapes: 160 expected
    user = register(api)
    passphrase, guardian = passphrase_guardian(user), oidc_guardian()
    link(api, shared_op, user, 2, [passphrase, guardian], {guardian.id: "owner"})
    name = unknown_like(vouch, shared_op.issuer, ("passphrase", "oidc"), "ghost")
    real, decoy = start_recovery(api, user.username), start_recovery(api, name)
    assert shape(real.start) == shape(decoy.start)
    assert decoy.start["guardians"][1]["provider"] == "test"
    assert decoy.start == start_recovery(api, name).start | {
        key: decoy.start[key] for key in ("recovery_id", "challenge", "expires", "registration")
    }
    # Signing in at the provider for the decoy's recovery gets a valid token: it is refused
    # as a real account refuses someone else's identity.
    for recovery, oidc in [
        (real, real.start["guardians"][1]),
        (decoy, decoy.start["guardians"][1]),
    ]:
        token = shared_op.id_token(oidc_nonce_for(recovery.message()), sub="intruder")
        error = api.refused(
            "POST",
            "/api/recovery/check",
            check_body(recovery, approval(oidc["id"], token)),
            status=400,
            code="approval_invalid",
        )
        assert error == {
            "code": "approval_invalid",
            "message": "That account is not the one linked to this guardian.",
            "guardian_id": oidc["id"],
        }


def test_openid_decoys_take_the_same_time_as_real_accounts(
    vouch: LiveServer, shared_op: OpenIDProvider
) -> None:
    """Start for a real account with an OpenID guardian and an unknown name shaped like it,
    in pairs back to back; then a refused token at check for each (the same provider
    checks, then a commitment that does not match). Compared pair by pair, so a machine
    whose load changes during the run cannot tell them apart by itself."""
    api = Api(vouch.url, kinds=registry())
    # The real account's own decoy (derived, unused) shaped like the unknown name's: the
    # cost of deriving a decoy depends on its shape, which is not what is measured here.
    user = register(api, unknown_like(vouch, shared_op.issuer, ("passphrase", "oidc"), "owner"))
    passphrase, guardian = passphrase_guardian(user), oidc_guardian()
    link(api, shared_op, user, 2, [passphrase, guardian], {guardian.id: "owner"})
    names = {
        "known": user.username,
        "unknown": unknown_like(vouch, shared_op.issuer, ("passphrase", "oidc"), "nobody"),
    }
    starts: dict[str, list[float]] = {key: [] for key in names}
    for round_ in range(330):
        order = list(names.items()) if round_ % 2 else list(reversed(names.items()))
        for key, name in order:
            began = time.perf_counter()
            response = api.http.post("/api/recovery/start", json={"username": name})
            elapsed = time.perf_counter() - began
            assert response.status_code == 200
            if round_ >= 30:
                starts[key].append(elapsed)
    auc = p_slower(starts["known"], starts["unknown"])
    medians = {k: round(statistics.median(v) * 1e6) for k, v in starts.items()}
    assert 0.3 < auc < 0.7, f"start: P(slower) = {auc:.2f} {medians}"
    bodies: dict[str, dict[str, Any]] = {}
    for key, name in names.items():
        recovery = start_recovery(api, name)
        oidc = recovery.start["guardians"][1]
        token = shared_op.id_token(oidc_nonce_for(recovery.message()), sub="intruder")
        bodies[key] = check_body(recovery, approval(oidc["id"], token))
    checks: dict[str, list[float]] = {key: [] for key in names}
    for round_ in range(230):
        pairs = list(bodies.items()) if round_ % 2 else list(reversed(bodies.items()))
        for key, body in pairs:
            began = time.perf_counter()
            response = api.http.post("/api/recovery/check", json=body)
            elapsed = time.perf_counter() - began
            assert response.status_code == 400
            if round_ >= 30:
                checks[key].append(elapsed)
    auc = p_slower(checks["known"], checks["unknown"])
    medians = {k: round(statistics.median(v) * 1e6) for k, v in checks.items()}
    assert 0.3 < auc < 0.7, f"check: P(slower) = {auc:.2f} {medians}"

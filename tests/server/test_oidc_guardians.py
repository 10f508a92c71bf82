"""OpenID guardians against a real OpenID Provider (npm oidc-provider on loopback): linked at
a change by a token bound to it, approving a recovery by a token bound to it, and every
wrong token refused with its own code and sentence."""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest

from tests.server.helpers import (
    Api,
    User,
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
    forge,
    link,
    oidc_guardian,
    provider_fixture,
    registry,
    start_vouch,
)
from tests.support import oidc_provider
from tests.support.live_server import LiveServer
from tests.support.oidc_provider import OTHER_CLIENT_ID, OpenIDProvider
from vouch.core.messages import oidc_nonce_for
from vouch.server.kinds.oidc import token_hash


@pytest.fixture(scope="module")
def op(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenIDProvider]:
    yield from provider_fixture(tmp_path_factory.mktemp("op"))


@pytest.fixture(scope="module")
def vouch(tmp_path_factory: pytest.TempPathFactory, op: OpenIDProvider) -> Iterator[LiveServer]:
    live = start_vouch(tmp_path_factory.mktemp("vouch-oidc"), op.issuer)
    yield live
    live.stop()


@pytest.fixture
def api(vouch: LiveServer) -> Api:
    return Api(vouch.url, kinds=registry())


def linked_account(api: Api, op: OpenIDProvider, *, with_passphrase: bool = False) -> Any:
    user = register(api)
    guardian = oidc_guardian()
    guardians = [passphrase_guardian(user), guardian] if with_passphrase else [guardian]
    sub = f"sub-{secrets.token_hex(4)}"
    saved = link(api, op, user, len(guardians), guardians, {guardian.id: sub})
    return user, guardians, guardian, sub, saved


def test_the_config_lists_the_provider_for_the_dialog(api: Api, op: OpenIDProvider) -> None:
    (provider,) = api.call("GET", "/api/config")["oidc_providers"]
    assert provider == {
        "name": "test",
        "display_name": "Test",
        "icon": None,
        "issuer": op.issuer,
        "client_id": "vouch-test",
        "authorization_endpoint": f"{op.issuer}/auth",
        "response_type": "id_token",
        "response_mode": "fragment",
        "scope": "openid",
        "redirect_uri": f"{api.url}/oidc-callback.html",
        "available": True,
        "message": None,
    }


def test_a_linked_identity_is_kept_as_a_commitment_only(
    api: Api, op: OpenIDProvider, vouch: LiveServer
) -> None:
    user, _, guardian, sub, saved = linked_account(api, op)
    (described,) = saved["guardians"]
    assert described == {
        **guardian.entry,
        "created_at": described["created_at"],
        "issuer": op.issuer,
        "audience": "vouch-test",
    }
    with sqlite3.connect(vouch.database) as connection:
        (data,) = connection.execute(
            "SELECT data FROM guardians WHERE id = ?", (guardian.id,)
        ).fetchone()
    stored = json.loads(data)
    assert set(stored) == {"provider", "issuer", "audience", "commitment"}
    assert sub not in data
    # Saved again (a label changed), it keeps its link without a new token.
    guardian.entry["label"] = "me@example.com"
    again = api.call(
        "PUT",
        "/api/guardians",
        change_body(api, user, 1, [guardian], lambda message: {}),
        session=user.session,
    )
    assert again["guardians"][0]["created_at"] == described["created_at"]
    assert again["guardians"][0]["label"] == "me@example.com"


def test_one_of_one_recovers_the_account(api: Api, op: OpenIDProvider) -> None:
    user, _, guardian, sub, _ = linked_account(api, op)
    recovery = start_recovery(api, user.username)
    (shown,) = recovery.start["guardians"]
    assert shown == {
        "id": guardian.id,
        "kind": "oidc",
        "label": "Linked account",
        "provider": "test",
    }
    given = approve(op, recovery, guardian, sub)
    assert api.call("POST", "/api/recovery/check", check_body(recovery, given))["ok"] is True
    result = execute(api, recovery, [given])
    assert result["status"] == "complete"
    # Executed once: the same recovery (and token) cannot run again.
    api.refused(
        "POST",
        "/api/recovery/execute",
        recovery.execute_body([given]),
        status=400,
        code="challenge_used",
    )


def test_two_of_two_with_a_passphrase(api: Api, op: OpenIDProvider) -> None:
    user, (passphrase, guardian), _, sub, _ = linked_account(api, op, with_passphrase=True)
    recovery = start_recovery(api, user.username)
    api.refused(
        "POST",
        "/api/recovery/execute",
        recovery.execute_body([approve(op, recovery, guardian, sub)]),
        status=400,
        code="not_enough_approvals",
    )
    result = execute(
        api, recovery, [recovery.approve(passphrase), approve(op, recovery, guardian, sub)]
    )
    assert result["status"] == "complete"


# Linking ------------------------------------------------------------------------------------


def test_a_new_identity_needs_a_token_bound_to_this_change(api: Api, op: OpenIDProvider) -> None:
    user = register(api)
    guardian = oidc_guardian()
    body = change_body(api, user, 1, [guardian], lambda message: {})
    error = api.refused(
        "PUT", "/api/guardians", body, status=400, code="invalid_guardians", session=user.session
    )
    assert error["message"] == "guardians[0] (oidc) is new: link it with a id_token in links"
    # A token obtained for another message (another change) links nothing.
    other = op.id_token(oidc_nonce_for(b"vouch/v1/guardians\n{}"), sub="alice")
    body = change_body(api, user, 1, [guardian], lambda message: {guardian.id: other})
    api.refused(
        "PUT", "/api/guardians", body, status=400, code="id_token_nonce", session=user.session
    )
    # Nor a token of this change issued to another application.
    body = change_body(
        api,
        user,
        1,
        [guardian],
        lambda message: {
            guardian.id: op.id_token(oidc_nonce_for(message), sub="alice", client=OTHER_CLIENT_ID)
        },
    )
    api.refused(
        "PUT", "/api/guardians", body, status=400, code="id_token_audience", session=user.session
    )
    # A link must name a guardian of the change.
    body = change_body(api, user, 1, [guardian], lambda message: {"nosuch": "a.b.c"})
    api.refused(
        "PUT", "/api/guardians", body, status=400, code="invalid_guardians", session=user.session
    )


def test_an_unconfigured_provider_cannot_be_linked(api: Api) -> None:
    user = register(api)
    guardian = oidc_guardian()
    guardian.entry["provider"] = "elsewhere"
    body = change_body(api, user, 1, [guardian], lambda message: {})
    error = api.refused(
        "PUT", "/api/guardians", body, status=400, code="invalid_guardians", session=user.session
    )
    assert error["message"] == "guardians[0].provider is 'elsewhere', expected one of test"


# Refusals at recovery --------------------------------------------------------------------


@pytest.fixture(scope="module")
def account(
    tmp_path_factory: pytest.TempPathFactory, vouch: LiveServer, op: OpenIDProvider
) -> tuple[User, Any, str]:
    """An account protected by one linked identity, never recovered (the refusals change
    nothing)."""
    api = Api(vouch.url, kinds=registry())
    user, _, guardian, sub, _ = linked_account(api, op)
    return user, guardian, sub


def refused(api: Api, recovery: Any, token: str, code: str, status: int = 400) -> str:
    error = api.refused(
        "POST",
        "/api/recovery/check",
        check_body(recovery, approval(recovery.start["guardians"][0]["id"], token)),
        status=status,
        code=code,
    )
    assert error["guardian_id"] == recovery.start["guardians"][0]["id"]
    message: str = error["message"]
    return message


def test_a_token_for_another_recovery_is_refused(
    api: Api, op: OpenIDProvider, account: Any
) -> None:
    user, _, sub = account
    first = start_recovery(api, user.username)
    second = start_recovery(api, user.username)
    token = op.id_token(oidc_nonce_for(first.message()), sub=sub)
    assert refused(api, second, token, "id_token_nonce").startswith(
        "This ID token was obtained for something else"
    )
    # ... or for the same recovery with another new passkey.
    token = op.id_token(
        oidc_nonce_for(first.message(new_credential=second.new_credential())), sub=sub
    )
    refused(api, first, token, "id_token_nonce")


def test_another_identity_is_refused(api: Api, op: OpenIDProvider, account: Any) -> None:
    user, _, _ = account
    recovery = start_recovery(api, user.username)
    token = op.id_token(oidc_nonce_for(recovery.message()), sub="someone-else")
    assert refused(api, recovery, token, "approval_invalid") == (
        "That account is not the one linked to this guardian."
    )


def test_tokens_for_another_client_or_from_another_issuer_are_refused(
    api: Api, op: OpenIDProvider, account: Any, tmp_path: Path
) -> None:
    user, _, sub = account
    recovery = start_recovery(api, user.username)
    nonce = oidc_nonce_for(recovery.message())
    token = op.id_token(nonce, sub=sub, client=OTHER_CLIENT_ID)
    refused(api, recovery, token, "id_token_audience")
    # A second issuer signing with the same keys (as a multi-tenant provider does): the
    # signature verifies, the issuer does not.
    with oidc_provider.running_provider(
        tmp_path, issuer="http://127.0.0.1:{port}", keys=op.keys()
    ) as other:
        token = other.id_token(nonce, sub=sub)
    assert jwt.get_unverified_header(token)["kid"] == op.keys()[0]["kid"]
    refused(api, recovery, token, "id_token_issuer")


def test_expired_and_old_tokens_are_refused(api: Api, op: OpenIDProvider, account: Any) -> None:
    user, _, sub = account
    recovery = start_recovery(api, user.username)
    nonce = oidc_nonce_for(recovery.message())
    # Issued an hour ago, valid for ten minutes.
    refused(api, recovery, op.id_token(nonce, sub=sub, clock_offset=-3600), "id_token_expired")
    # Issued seven minutes ago, unexpired, but older than vouch accepts.
    assert refused(
        api, recovery, op.id_token(nonce, sub=sub, clock_offset=-420), "id_token_too_old"
    ) == ("This ID token was issued more than 5 minutes ago: sign in with Test again.")
    refused(api, recovery, op.id_token(nonce, sub=sub, clock_offset=3600), "id_token_not_yet_valid")


def test_forged_tokens_are_refused(api: Api, op: OpenIDProvider, account: Any) -> None:
    user, _, sub = account
    recovery = start_recovery(api, user.username)
    now = int(time.time())
    claims = {
        "iss": op.issuer,
        "aud": "vouch-test",
        "sub": sub,
        "iat": now,
        "exp": now + 300,
        "nonce": oidc_nonce_for(recovery.message()),
    }
    kid = op.keys()[0]["kid"]
    assert refused(api, recovery, forge({"alg": "none"}, claims), "id_token_algorithm") == (
        "This ID token is signed with 'none'; Test signs with RS256."
    )
    public = json.dumps({k: op.keys()[0][k] for k in ("kty", "n", "e")}).encode()
    hs256 = forge({"alg": "HS256", "kid": kid, "typ": "JWT"}, claims, public)
    refused(api, recovery, hs256, "id_token_algorithm")
    # A real token with its claims changed: the signature no longer verifies.
    real = op.id_token(oidc_nonce_for(recovery.message()), sub="attacker")
    header, _, signature = real.split(".")
    payload = jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
    refused(api, recovery, f"{header}.{payload}.{signature}", "id_token_signature")
    # A key id the provider does not publish.
    other_header = jwt.utils.base64url_encode(b'{"alg":"RS256","kid":"nope"}').decode()
    unknown = f"{other_header}.{payload}.{signature}"
    refused(api, recovery, unknown, "id_token_unknown_key")


@pytest.mark.parametrize(
    "token",
    [
        "not-a-token",
        "a.b",
        "!!!.???.***",
        "eyJhbGciOiJSUzI1NiJ9.not-json.c2ln",
        "e30.e30.",  # {} header: no alg
        "x" * 8000,
    ],
)
def test_malformed_tokens_are_a_400(api: Api, op: OpenIDProvider, account: Any, token: str) -> None:
    user, _, _ = account
    recovery = start_recovery(api, user.username)
    response = api.request(
        "POST",
        "/api/recovery/check",
        check_body(recovery, approval(recovery.start["guardians"][0]["id"], token)),
    )
    assert response.status_code == 400, response.text
    # (A readable header with an unreadable payload fails at the signature, checked first.)
    codes = ("id_token_malformed", "id_token_algorithm", "id_token_signature")
    assert response.json()["error"]["code"] in codes


def test_a_huge_token_is_refused_by_the_schema(api: Api, account: Any) -> None:
    user, _, _ = account
    recovery = start_recovery(api, user.username)
    body = check_body(recovery, approval(recovery.start["guardians"][0]["id"], "x" * 9000))
    api.refused("POST", "/api/recovery/check", body, status=400, code="invalid_body")


def test_a_used_token_is_refused(
    api: Api, op: OpenIDProvider, account: Any, vouch: LiveServer
) -> None:
    user, guardian, sub = account
    recovery = start_recovery(api, user.username)
    token = op.id_token(oidc_nonce_for(recovery.message()), sub=sub)
    with sqlite3.connect(vouch.database) as connection:
        connection.execute(
            "INSERT INTO used_id_tokens (hash, account_id, guardian_id, expires_at)"
            " VALUES (?, 'another', ?, ?)",
            (token_hash(token), guardian.id, int(time.time()) + 600),
        )
    assert refused(api, recovery, token, "id_token_used", status=409) == (
        "This ID token was already used: sign in again to get a new one."
    )


def test_an_executed_recovery_records_its_token(
    api: Api, op: OpenIDProvider, vouch: LiveServer
) -> None:
    user, _, guardian, sub, _ = linked_account(api, op)
    recovery = start_recovery(api, user.username)
    given = approve(op, recovery, guardian, sub)
    execute(api, recovery, [given])
    with sqlite3.connect(vouch.database) as connection:
        row = connection.execute(
            "SELECT account_id, guardian_id FROM used_id_tokens WHERE hash = ?",
            (token_hash(given["id_token"]),),
        ).fetchone()
    assert row == (user.account, guardian.id)


@pytest.mark.postgres
def test_a_recovery_records_its_token_on_postgresql(
    op: OpenIDProvider, postgres_url: str, tmp_path: Path
) -> None:
    live = start_vouch(tmp_path, op.issuer, "--db", postgres_url)
    try:
        api = Api(live.url, kinds=registry())
        user, _, guardian, sub, _ = linked_account(api, op)
        recovery = start_recovery(api, user.username)
        given = approve(op, recovery, guardian, sub)
        assert execute(api, recovery, [given])["status"] == "complete"
    finally:
        live.stop()
    import psycopg

    with psycopg.connect(postgres_url) as connection:
        row = connection.execute(
            "SELECT account_id, guardian_id FROM used_id_tokens WHERE hash = %s",
            (token_hash(given["id_token"]),),
        ).fetchone()
    assert row == (user.account, guardian.id)


def test_a_time_locked_recovery_spends_its_token_when_held(
    op: OpenIDProvider, tmp_path: Path
) -> None:
    """With --recovery-delay the token is recorded when the recovery is held (it cannot
    approve a second recovery meanwhile), the owner sees it pending, and a held recovery
    completes later without a new sign-in at the provider."""
    live = start_vouch(tmp_path, op.issuer, "--recovery-delay", "1")
    try:
        api = Api(live.url, kinds=registry())
        user, _, guardian, sub, _ = linked_account(api, op)
        recovery = start_recovery(api, user.username)
        given = approve(op, recovery, guardian, sub)
        pending = api.call(
            "POST", "/api/recovery/execute", recovery.execute_body([given]), status=202
        )
        assert pending["status"] == "pending"
        with sqlite3.connect(live.database) as connection:
            (count,) = connection.execute(
                "SELECT count(*) FROM used_id_tokens WHERE hash = ?",
                (token_hash(given["id_token"]),),
            ).fetchone()
        assert count == 1
        # The owner still signs in, sees it pending, and could cancel it.
        account = api.call("GET", "/api/account", session=user.session)
        assert [p["recovery_id"] for p in account["pending_recoveries"]] == [recovery.reference]
        time.sleep(max(0.0, pending["effective_at"] - time.time() + 0.05))
        done = api.call("POST", "/api/recovery/complete", {"recovery_id": recovery.id})
        assert done["status"] == "complete"
        assert done["account"] == user.account
    finally:
        live.stop()

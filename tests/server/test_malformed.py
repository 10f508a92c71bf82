"""Malformed and oversized requests: a specific 4xx every time, never a 500, never a write."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.server.helpers import (
    Api,
    backup_codes_guardian,
    confirm_change,
    passkey_guardian,
    passphrase_guardian,
    register,
    save_guardians,
    snapshot,
    start_recovery,
)
from tests.support.live_server import LiveServer
from vouch.server.routes import all_endpoints

BODY_ENDPOINTS = [(e.method, e.path) for e in all_endpoints() if e.request_schema is not None]
JUNK: list[Any] = [None, "", "!!not base64!!", -1, 10**30, 1.5, True, [], {}, "A" * 3000]


@pytest.mark.parametrize(("method", "path"), BODY_ENDPOINTS)
def test_bodies_that_are_not_json_objects_are_refused(api: Api, method: str, path: str) -> None:
    http = api.http
    for content, headers, status, code in [
        (b"{}", {}, 415, "unsupported_media_type"),
        (b"{}", {"content-type": "text/plain"}, 415, "unsupported_media_type"),
        (b"{", {"content-type": "application/json"}, 400, "invalid_json"),
        (b"\xff\xfe", {"content-type": "application/json"}, 400, "invalid_json"),
        (b"[]", {"content-type": "application/json"}, 400, "invalid_body"),
        (b"7", {"content-type": "application/json"}, 400, "invalid_body"),
        (b'{"unexpected": 1}', {"content-type": "application/json"}, 400, "invalid_body"),
        (b" " * 70_000 + b"{}", {"content-type": "application/json"}, 413, "payload_too_large"),
    ]:
        headers = {**headers, "authorization": "Bearer nothing"}
        response = http.request(method, path, content=content, headers=headers)
        if response.status_code == 401:  # signed-in endpoints may check the session first
            continue
        assert response.status_code == status, (content[:20], response.text)
        assert response.json()["error"]["code"] == code


def test_a_streamed_body_is_cut_at_the_limit(api: Api) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"username": "'
        for _ in range(100):
            yield b"x" * 1024
        yield b'"}'

    response = api.http.post(
        "/api/recovery/start", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"] == {
        "code": "payload_too_large",
        "message": "Request body is over the limit of 65536 bytes",
    }


# Optional in PublicKeyCredential JSON, ignored by the verifier: junk there changes nothing.
IGNORED = {"authenticatorData", "transports", "publicKeyAlgorithm", "publicKey", "userHandle",
           "clientExtensionResults", "authenticatorAttachment"}  # fmt: skip


def essential(value: Any) -> Any:
    """`value` without the optional fields a verifier ignores."""
    if isinstance(value, dict):
        return {k: essential(v) for k, v in value.items() if k not in IGNORED}
    if isinstance(value, list):
        return [essential(item) for item in value]
    return value


def leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every position in a JSON value, containers included."""
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaves(item, (*path, index))


def replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copied = copy.deepcopy(value)
    target = copied
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = new
    return copied


@pytest.fixture(scope="module")
def valid_bodies(server: LiveServer) -> list[tuple[str, str, dict[str, Any], str | None]]:
    """One valid body for each endpoint that verifies something (unused, so still valid)."""
    api = Api(server.url)
    user = register(api)
    passphrase, codes = passphrase_guardian(user), backup_codes_guardian(user)
    passkey = passkey_guardian(api, user)
    save_guardians(api, user, 2, [passphrase, codes, passkey])
    recovery = start_recovery(api, user.username)
    approvals = [recovery.approve(passphrase), recovery.approve(codes), recovery.approve(passkey)]
    signin = api.call("POST", "/api/signin/options", {})
    register_options = api.call("POST", "/api/register/options", {})
    config = {"threshold": 1, "guardians": [passphrase.entry, codes.entry]}
    bodies = [
        ("POST", "/api/recovery/execute", recovery.execute_body(approvals), None),
        (
            "POST",
            "/api/recovery/check",
            {
                "recovery_id": recovery.id,
                "new_credential": recovery.new_credential_json(),
                "approval": approvals[2],
            },
            None,
        ),
        ("PUT", "/api/guardians", confirm_change(api, user, config), user.session),
        (
            "POST",
            "/api/signin/verify",
            {
                "challenge_id": signin["challenge_id"],
                "credential": user.device.get(signin["options"]),
            },
            None,
        ),
        (
            "POST",
            "/api/register/verify",
            {
                "challenge_id": register_options["challenge_id"],
                "username": "someone-new",
                "credential": user.device.create(register_options["options"]),
            },
            None,
        ),
    ]
    return [(method, path, essential(body), session) for method, path, body, session in bodies]


def test_junk_anywhere_in_a_valid_body_is_a_4xx(
    api: Api, server: LiveServer, valid_bodies: list[tuple[str, str, dict[str, Any], str | None]]
) -> None:
    before = snapshot(server.database)
    failures = []
    for method, path, body, session in valid_bodies:
        for position in leaves(body):
            if not position:
                continue
            for junk in JUNK:
                mutated = replaced(body, position, junk)
                if mutated == body:
                    continue
                response = api.request(method, path, mutated, session=session)
                if not 400 <= response.status_code < 500 or "error" not in response.json():
                    failures.append((path, position, junk, response.status_code, response.text))
    assert not failures, json.dumps(failures[:5], default=str)
    # Nothing changed the accounts: every mutated body was refused before any write.
    assert snapshot(server.database)["credentials"] == before["credentials"]
    assert snapshot(server.database)["guardians"] == before["guardians"]

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


def _raw(api: Api, method: str, path: str, content: bytes, session: str | None = None) -> Any:
    headers = {"content-type": "application/json", "authorization": f"Bearer {session or 'x'}"}
    return api.http.request(method, path, content=content, headers=headers)


@pytest.mark.parametrize(("method", "path"), BODY_ENDPOINTS)
def test_json_that_python_could_not_handle_later_is_refused_at_the_door(
    api: Api, method: str, path: str
) -> None:
    for content, message in [
        (b'{"a": ' + b"[" * 1000 + b"]" * 1000 + b"}", "nested"),
        (b'{"a": ' + b"[" * 40 + b"]" * 40 + b"}", "nested more than 32 levels"),
        (b'{"threshold": ' + b"9" * 5000 + b"}", "a number of 5000 digits"),
        (b'{"threshold": -' + b"9" * 25 + b"}", "a number of 25 digits"),
        (b'{"threshold": NaN}', "NaN"),
        (b'{"threshold": -Infinity}', "-Infinity"),
        (b'{"username": "\\ud800"}', "lone surrogate"),
        (b'{"\\udfff": 1}', "lone surrogate"),
        (b'{"username": "\xed\xa0\x80"}', "lone surrogate"),  # one encoded in UTF-8
    ]:
        response = _raw(api, method, path, content)
        if response.status_code == 401:  # signed-in endpoints may check the session first
            continue
        assert response.status_code == 400, (path, content[:30], response.text)
        error = response.json()["error"]
        assert error["code"] == "invalid_json"
        assert message in error["message"], error


def test_a_surrogate_pair_is_still_text(api: Api) -> None:
    """The check refuses lone surrogates only: an escaped emoji is a valid name."""
    response = _raw(api, "POST", "/api/recovery/start", b'{"username": "x\\ud83d\\ude00"}')
    assert response.status_code in (200, 400), response.text
    assert "surrogate" not in response.text


def test_a_lone_surrogate_anywhere_in_a_valid_body_is_a_400(
    api: Api, server: LiveServer, valid_bodies: list[tuple[str, str, dict[str, Any], str | None]]
) -> None:
    before = snapshot(server.database)
    failures = []
    for method, path, body, session in valid_bodies:
        for position in leaves(body):
            if not position or not isinstance(_at(body, position), str):
                continue
            mutated = replaced(body, position, "a\ud800b")
            response = _raw(api, method, path, json.dumps(mutated).encode(), session)
            if response.status_code != 400 or "surrogate" not in response.text:
                failures.append((path, position, response.status_code, response.text))
    assert not failures, json.dumps(failures[:5], default=str)
    assert snapshot(server.database)["credentials"] == before["credentials"]


def _at(body: Any, position: tuple[Any, ...]) -> Any:
    for part in position:
        body = body[part]
    return body


@pytest.mark.parametrize("transports", ["usb", 7, {"a": 1}, [1, 2], ["x" * 40], ["usb"] * 9])
def test_registration_transports_must_be_a_short_list_of_names(
    api: Api, server: LiveServer, transports: Any
) -> None:
    before = snapshot(server.database)
    options = api.call("POST", "/api/register/options", {})
    user = register(api)  # a device to make a real registration with
    credential = user.device.create(options["options"])
    credential["response"]["transports"] = transports
    body = {"challenge_id": options["challenge_id"], "username": "t-user", "credential": credential}
    error = api.refused("POST", "/api/register/verify", body, status=400, code="invalid_body")
    assert "transports" in error["message"]
    after = snapshot(server.database)
    assert len(after["accounts"]) == len(before["accounts"]) + 1  # only `user` was added


def test_input_cannot_forge_a_log_line(api: Api, server: LiveServer) -> None:
    """A crafted clientDataJSON.type reaches the log escaped, on the line it belongs to."""
    user = register(api)
    passkey = passkey_guardian(api, user)
    save_guardians(api, user, 1, [passkey])
    recovery = start_recovery(api, user.username)
    approval = recovery.approve(passkey)
    client_data = json.loads(_unb64(approval["assertion"]["response"]["clientDataJSON"]))
    client_data["type"] = "webauthn.get\nFORGED vouch: recovery approved"
    approval["assertion"]["response"]["clientDataJSON"] = _b64(json.dumps(client_data).encode())
    body = {
        "recovery_id": recovery.id,
        "new_credential": recovery.new_credential_json(),
        "approval": approval,
    }
    api.refused("POST", "/api/recovery/check", body, status=400, code="approval_invalid")
    log = server.log()
    assert "webauthn.get\\nFORGED" in log
    assert not any(line.startswith("FORGED") for line in log.splitlines())


def _b64(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))

"""Rate limits: per client address and per account, kept in the database (so processes
sharing it share them), answered with 429 and Retry-After."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.server.helpers import (
    Api,
    passphrase_guardian,
    register,
    save_guardians,
    sign_in,
    unique_name,
)
from tests.support.live_server import LiveServer, start_server

LIMITS = [
    "--rate-limit", "recovery_start_address=4/60",
    "--rate-limit", "recovery_start_account_address=2/60",
    "--rate-limit", "recovery_check_account_address=2/600",
    "--rate-limit", "signin_address=3/60",
]  # fmt: skip


@pytest.fixture
def twins(tmp_path: Path) -> Iterator[tuple[LiveServer, LiveServer]]:
    """Two server processes on one database file, with small limits."""
    first = start_server(tmp_path, *LIMITS)
    second = start_server(tmp_path, *LIMITS)
    yield first, second
    first.stop()
    second.stop()


def from_address(server: LiveServer, address: str) -> Api:
    return Api(
        server.url,
        base_url=f"http://127.0.0.1:{server.port}",
        transport=httpx.HTTPTransport(local_address=address),
    )


def limited(response: httpx.Response) -> int:
    assert response.status_code == 429, response.text
    error = response.json()["error"]
    assert error["code"] == "rate_limited"
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= 600
    assert error["retry_after"] == retry_after
    assert error["message"].startswith("Too many attempts: try again in ")
    return retry_after


def start(api: Api, name: str) -> httpx.Response:
    return api.request("POST", "/api/recovery/start", {"username": name})


def test_recovery_start_is_limited_per_account_and_address_and_per_address(
    twins: tuple[LiveServer, LiveServer],
) -> None:
    first, second = twins
    here, there = from_address(first, "127.0.0.2"), from_address(second, "127.0.0.2")
    assert start(here, "alice").status_code == 200
    assert start(there, "alice").status_code == 200  # the other process counts it too
    assert limited(start(here, "alice")) <= 60
    assert limited(start(there, "ALICE")) <= 60  # the account name, normalised
    assert start(here, "bob").status_code == 200
    assert start(there, "carol").status_code == 200
    limited(start(here, "dave"))  # 4 per address
    elsewhere = from_address(first, "127.0.0.3")
    assert start(elsewhere, "alice").status_code == 200  # alice's budget was 127.0.0.2's
    assert start(elsewhere, "dave").status_code == 200


def test_sign_in_is_limited_per_address(twins: tuple[LiveServer, LiveServer]) -> None:
    first, _ = twins
    api = from_address(first, "127.0.0.4")
    user = register(api)
    for _ in range(3):
        assert sign_in(api, user.device).status_code == 200
    limited(sign_in(api, user.device))


def test_failed_checks_count_against_the_account_and_address(
    twins: tuple[LiveServer, LiveServer],
) -> None:
    first, second = twins
    api = from_address(first, "127.0.0.5")
    user = register(api)
    guardian = passphrase_guardian(user)
    save_guardians(api, user, 1, [guardian])
    start_answer = api.call("POST", "/api/recovery/start", {"username": user.username})
    body = {
        "recovery_id": start_answer["recovery_id"],
        "new_credential": {"id": "AAAA", "public_key_sha256": "A" * 43},
        "approval": {"guardian_id": guardian.id, "signature": "A" * 86},
    }
    here, there = from_address(first, "127.0.0.6"), from_address(second, "127.0.0.6")
    for api_ in (here, there):  # two processes, one count
        api_.refused("POST", "/api/recovery/check", body, status=400, code="approval_invalid")
    limited(here.request("POST", "/api/recovery/check", body))
    # Another client's checks of the same account are its own.
    api.refused("POST", "/api/recovery/check", body, status=400, code="approval_invalid")


def test_forwarding_headers_do_not_change_the_address_counted(
    twins: tuple[LiveServer, LiveServer],
) -> None:
    """No proxy header is trusted, not even from 127.0.0.1 (uvicorn's default would)."""
    first, _ = twins
    api = from_address(first, "127.0.0.1")
    for n in range(5):
        spoofed = {"X-Forwarded-For": f"203.0.113.{n}", "Forwarded": f"for=203.0.113.{n}"}
        response = api.http.post(
            "/api/recovery/start", json={"username": f"name-{n}"}, headers=spoofed
        )
        if n < 4:
            assert response.status_code == 200, response.text
        else:
            limited(response)  # the 5th start from 127.0.0.1, whatever the headers say


def test_a_failed_sign_in_uses_up_its_challenge(api: Api) -> None:
    user = register(api)
    options = api.call("POST", "/api/signin/options", {})
    assertion = user.device.get(options["options"])
    forged = {**assertion, "response": {**assertion["response"], "signature": "AAAA"}}
    body = {"challenge_id": options["challenge_id"], "credential": forged}
    api.refused("POST", "/api/signin/verify", body, status=400, code="verification_failed")
    body = {"challenge_id": options["challenge_id"], "credential": assertion}
    api.refused("POST", "/api/signin/verify", body, status=400, code="challenge_used")


def test_one_sign_up_challenge_probes_one_name(api: Api) -> None:
    """A taken name is told only after a verified registration, and the challenge is gone
    after that one try: it cannot be reused to test name after name."""
    taken = register(api)
    options = api.call("POST", "/api/register/options", {})
    credential = taken.device.create(options["options"])
    body = {"challenge_id": options["challenge_id"], "username": taken.username}
    junk = {**credential, "response": {**credential["response"], "attestationObject": "AAAA"}}
    api.refused(
        "POST", "/api/register/verify", {**body, "credential": junk},
        status=400, code="verification_failed",
    )  # fmt: skip
    for name in (taken.username, unique_name()):
        api.refused(
            "POST", "/api/register/verify", {**body, "username": name, "credential": credential},
            status=400, code="challenge_used",
        )  # fmt: skip


def test_sign_ups_are_limited_per_address(tmp_path: Path) -> None:
    server = start_server(tmp_path, "--rate-limit", "register_address=2/60")
    try:
        api = Api(server.url)
        register(api)
        register(api)
        with pytest.raises(AssertionError, match="rate_limited"):
            register(api)
    finally:
        server.stop()

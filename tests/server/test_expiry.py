"""Expired recoveries and challenges are refused, and change nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.server.conftest import start
from tests.server.helpers import (
    Api,
    confirm_change,
    passphrase_guardian,
    register,
    save_guardians,
    snapshot,
    start_recovery,
)
from tests.support.live_server import LiveServer

TTL = 1


@pytest.fixture(scope="module")
def hasty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Recoveries and challenges that expire one second after they are issued."""
    live = start(
        tmp_path_factory.mktemp("hasty"), "--recovery-ttl", str(TTL), "--challenge-ttl", str(TTL)
    )
    yield live
    live.stop()


def wait_past(expires: int) -> None:
    time.sleep(max(0.0, expires - time.time() + 0.05))


def test_an_expired_recovery_is_refused(hasty: LiveServer) -> None:
    api = Api(hasty.url)
    user = register(api)
    guardian = passphrase_guardian(user)
    save_guardians(api, user, 1, [guardian])
    recovery = start_recovery(api, user.username)
    body = recovery.execute_body([recovery.approve(guardian)])
    check = {
        "recovery_id": recovery.id,
        "new_credential": recovery.new_credential_json(),
        "approval": recovery.approve(guardian),
    }
    wait_past(recovery.start["expires"])
    before = snapshot(hasty.database)
    error = api.refused("POST", "/api/recovery/execute", body, status=400, code="challenge_expired")
    assert error["message"] == "This recovery has expired: start again."
    api.refused("POST", "/api/recovery/check", check, status=400, code="challenge_expired")
    assert snapshot(hasty.database) == before


def test_an_expired_guardian_change_is_refused(hasty: LiveServer) -> None:
    api = Api(hasty.url)
    user = register(api)
    body = confirm_change(
        api, user, {"threshold": 1, "guardians": [passphrase_guardian(user).entry]}
    )
    time.sleep(TTL + 1)
    before = snapshot(hasty.database)
    error = api.refused(
        "PUT", "/api/guardians", body, session=user.session, status=400, code="challenge_expired"
    )
    assert error["message"] == "This challenge has expired: start again."
    assert snapshot(hasty.database) == before

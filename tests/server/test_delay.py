"""--recovery-delay: an executed recovery waits; the owner, signing in with an old passkey,
can see and cancel it; after the delay the recovering user completes it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.server.conftest import start
from tests.server.helpers import (
    Api,
    backup_codes_guardian,
    passphrase_guardian,
    register,
    save_guardians,
    sign_in,
    snapshot,
    start_recovery,
)
from tests.support.live_server import LiveServer

DELAY = 1


@pytest.fixture(scope="module")
def delayed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start(tmp_path_factory.mktemp("delayed"), "--recovery-delay", str(DELAY))
    yield live
    live.stop()


def wait_until(effective_at: int) -> None:
    """Until the server's clock (Unix seconds, the same as ours) reaches `effective_at`."""
    time.sleep(max(0.0, effective_at - time.time() + 0.05))


def held(api: Api, *, codes: bool = False) -> tuple[Any, Any, Any, dict[str, Any]]:
    user = register(api)
    guardian = backup_codes_guardian(user) if codes else passphrase_guardian(user)
    save_guardians(api, user, 1, [guardian])
    recovery = start_recovery(api, user.username)
    body = recovery.execute_body([recovery.approve(guardian)])
    pending = api.call("POST", "/api/recovery/execute", body, status=202)
    assert pending["status"] == "pending"
    assert pending["recovery_id"] == recovery.id
    return user, guardian, recovery, pending


def test_a_held_recovery_changes_nothing_until_completed(delayed: LiveServer) -> None:
    api = Api(delayed.url)
    before_tables = ("credentials", "sessions", "backup_codes", "guardians")
    user = register(api)
    codes = backup_codes_guardian(user)
    save_guardians(api, user, 1, [codes])
    before = snapshot(delayed.database, before_tables)
    recovery = start_recovery(api, user.username)
    pending = api.call(
        "POST",
        "/api/recovery/execute",
        recovery.execute_body([recovery.approve(codes)]),
        status=202,
    )
    assert snapshot(delayed.database, before_tables) == before
    assert pending["effective_at"] >= time.time() + DELAY - 1
    # The owner still signs in with the old passkey and sees it.
    assert sign_in(api, user.device).status_code == 200
    account = api.call("GET", "/api/account", session=user.session)
    assert [p["recovery_id"] for p in account["pending_recoveries"]] == [recovery.reference]
    # Too early.
    error = api.refused(
        "POST",
        "/api/recovery/complete",
        {"recovery_id": recovery.id},
        status=409,
        code="recovery_not_ready",
    )
    assert error["effective_at"] == pending["effective_at"]
    # Executing it again is refused: the recovery was consumed.
    api.refused(
        "POST",
        "/api/recovery/execute",
        recovery.execute_body([recovery.approve(codes)]),
        status=400,
        code="challenge_used",
    )
    wait_until(pending["effective_at"])
    done = api.call("POST", "/api/recovery/complete", {"recovery_id": recovery.id})
    assert done["status"] == "complete"
    assert done["account"] == user.account
    assert sign_in(api, user.device).json()["error"]["code"] == "unknown_credential"
    assert sign_in(api, recovery.device).status_code == 200
    account = api.call("GET", "/api/account", session=done["session"])
    assert account["guardians"][0]["codes_remaining"] == 9
    assert account["pending_recoveries"] == []
    api.refused(
        "POST",
        "/api/recovery/complete",
        {"recovery_id": recovery.id},
        status=409,
        code="recovery_finished",
    )


def test_the_owner_cancels_a_held_recovery(delayed: LiveServer) -> None:
    api = Api(delayed.url)
    user, _, recovery, pending = held(api)
    assert sign_in(api, user.device).status_code == 200
    cancelled = api.call(
        "POST", "/api/recovery/cancel", {"recovery_id": recovery.reference}, session=user.session
    )
    assert cancelled == {"status": "cancelled"}
    wait_until(pending["effective_at"])
    body = {"recovery_id": recovery.id}
    error = api.refused(
        "POST", "/api/recovery/complete", body, status=409, code="recovery_cancelled"
    )
    body = {"recovery_id": recovery.reference}  # what the owner cancels by
    assert error["message"] == "This recovery was cancelled by someone signed in to the account."
    api.refused(
        "POST",
        "/api/recovery/cancel",
        body,
        session=user.session,
        status=409,
        code="recovery_not_pending",
    )
    assert sign_in(api, user.device).status_code == 200
    kinds = [
        event["kind"] for event in api.call("GET", "/api/audit", session=user.session)["events"]
    ]
    assert "recovery_cancelled" in kinds
    assert "recovery_pending" in kinds


def test_only_the_owner_can_cancel(delayed: LiveServer) -> None:
    api = Api(delayed.url)
    _, _, recovery, _ = held(api)
    stranger = register(api)
    api.refused(
        "POST",
        "/api/recovery/cancel",
        {"recovery_id": recovery.id},
        session=stranger.session,
        status=400,
        code="unknown_recovery",
    )


def test_a_guardian_change_during_the_delay_voids_the_recovery(delayed: LiveServer) -> None:
    api = Api(delayed.url)
    user, guardian, recovery, pending = held(api)
    save_guardians(api, user, 1, [guardian])  # unchanged, but confirmed again by the owner
    wait_until(pending["effective_at"])
    before = snapshot(delayed.database)
    api.refused(
        "POST",
        "/api/recovery/complete",
        {"recovery_id": recovery.id},
        status=409,
        code="guardians_changed",
    )
    assert snapshot(delayed.database) == before


def test_completing_one_recovery_cancels_the_others(delayed: LiveServer) -> None:
    api = Api(delayed.url)
    user = register(api)
    codes = backup_codes_guardian(user)
    save_guardians(api, user, 1, [codes])
    recoveries = [start_recovery(api, user.username) for _ in range(2)]
    pendings = [
        api.call(
            "POST",
            "/api/recovery/execute",
            recovery.execute_body([recovery.approve(codes, code=0)]),
            status=202,
        )
        for recovery in recoveries
    ]
    wait_until(max(p["effective_at"] for p in pendings))
    api.call("POST", "/api/recovery/complete", {"recovery_id": recoveries[1].id})
    api.refused(
        "POST",
        "/api/recovery/complete",
        {"recovery_id": recoveries[0].id},
        status=409,
        code="recovery_cancelled",
    )

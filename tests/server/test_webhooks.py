"""Webhooks and the outbox with real parts: a real HTTP receiver verifies every delivery
with the standardwebhooks library; a receiver that refuses, or is not there, is logged and
retried; kill -9 of serve.py between commit and send, or during a send, then a restart,
delivers each event id once; SMTP down at first, then up, gets its mail later; two server
processes on one PostgreSQL database send each delivery once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from tests.server.conftest import start
from tests.server.helpers import Api, register
from tests.server.outbox_helpers import (
    SECRET,
    held_recovery,
    rows,
    verify_email,
    wait_for_mails,
    with_guardian,
)
from tests.support.live_server import LiveServer
from tests.support.ports import free_port
from tests.support.smtp_sink import SmtpSink
from tests.support.webhook_receiver import Received, WebhookReceiver


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    hooks = WebhookReceiver().start()
    yield hooks
    hooks.stop()


def hooked(directory: Path, *urls: str, extra: tuple[str, ...] = ()) -> LiveServer:
    secret = directory / "webhook.secret"
    secret.write_text(SECRET + "\n")
    args = [arg for url in urls for arg in ("--webhook", url)]
    return start(
        directory,
        *args,
        "--webhook-secret-file",
        str(secret),
        "--recovery-delay",
        "3600",
        "--outbox-poll",
        "0.2",
        *extra,
    )


def verified(received: list[Received]) -> list[dict[str, Any]]:
    """Each delivery's body, verified with the library as a receiver would."""
    webhook = Webhook(SECRET)
    return [webhook.verify(item.body, item.headers) for item in received]


def events_of(received: list[Received], account: str) -> list[str]:
    return [body["type"] for body in verified(received) if body["data"]["account"] == account]


def test_every_event_arrives_signed_and_verifies_with_the_library(
    tmp_path: Path, receiver: WebhookReceiver
) -> None:
    live = hooked(tmp_path, receiver.url)
    try:
        api = Api(live.url)
        user = register(api)
        guardian = with_guardian(api, user)
        recovery = held_recovery(api, user, guardian)
        api.call(
            "POST",
            "/api/recovery/cancel",
            {"recovery_id": recovery.reference},
            session=user.session,
        )
        wanted = [
            "account.created",
            "guardians.changed",
            "recovery.started",
            "recovery.pending",
            "recovery.cancelled",
        ]
        received = receiver.wait_for(lambda got: len(got) >= len(wanted))
    finally:
        live.stop()
    assert sorted(events_of(received, user.account)) == sorted(wanted)
    bodies = {body["type"]: body for body in verified(received)}
    assert bodies["recovery.pending"]["data"]["recovery"] == recovery.reference
    assert bodies["guardians.changed"]["data"]["threshold"] == 1
    assert all(item.path == "/hooks/vouch" for item in received)
    assert all(item.headers["webhook-id"].startswith("evt_") for item in received)
    assert len({item.headers["webhook-id"] for item in received}) == len(received)
    # A body changed in transit, or signed with another secret, does not verify.
    item = received[0]
    with pytest.raises(Exception, match="signature"):
        Webhook(SECRET).verify(item.body.replace(b"}", b" }", 1), item.headers)
    other = "whsec_" + "A" * 43
    with pytest.raises(Exception, match="signature"):
        Webhook(other).verify(item.body, item.headers)


def test_a_receiver_that_refuses_is_logged_and_retried_until_it_takes_it(
    tmp_path: Path, receiver: WebhookReceiver
) -> None:
    receiver.status = 500
    gone = f"http://127.0.0.1:{free_port()}/nobody"
    live = hooked(tmp_path, receiver.url, gone, extra=("--outbox-retry", "1"))
    try:
        api = Api(live.url)
        user = register(api)
        receiver.wait_for(lambda got: len(got) >= 2)  # refused twice: tried again
        receiver.status = 200
        received = receiver.wait_for(lambda got: len(got) >= 3)

        def sent() -> list[tuple[Any, ...]]:
            return rows(
                live.database,
                "SELECT destination, status, attempts, last_error FROM outbox"
                " WHERE account_id = ? ORDER BY destination",
                (user.account,),
            )

        deadline_rows = None
        for _ in range(200):
            deadline_rows = sent()
            if any(row[0] == receiver.url and row[1] == "sent" for row in deadline_rows):
                break
            time.sleep(0.05)
        log = live.log()
    finally:
        live.stop()
    assert len({item.headers["webhook-id"] for item in received}) == 1  # one event, retried
    assert f"webhook {receiver.url} refused it: HTTP 500" in log
    assert f"webhook {gone} unreachable: connection refused" in log
    assert deadline_rows is not None
    by_url = {row[0]: row for row in deadline_rows}
    assert by_url[receiver.url][1] == "sent"
    assert by_url[receiver.url][2] >= 3
    assert by_url[gone][1] == "pending"
    assert "connection refused" in by_url[gone][3]
    attempts = rows(
        live.database,
        "SELECT a.ok, a.detail FROM outbox_attempts a JOIN outbox o ON o.id = a.outbox_id"
        " WHERE o.destination = ? ORDER BY a.attempt",
        (receiver.url,),
    )
    assert attempts[0] == (0, f"webhook {receiver.url} refused it: HTTP 500 no")
    assert attempts[-1] == (1, "HTTP 200")


def test_killed_between_commit_and_send_a_restart_sends_each_event_once(
    tmp_path: Path, receiver: WebhookReceiver
) -> None:
    """--no-outbox-worker holds the committed deliveries where a kill would find them
    between commit and send; kill -9, restart with the worker: each arrives once."""
    quiet = hooked(tmp_path, receiver.url, extra=("--no-outbox-worker",))
    api = Api(quiet.url)
    users = [register(api) for _ in range(3)]
    address = f"{users[0].username}@example.org"
    mail_dir = tmp_path / "mail"
    queued = rows(quiet.database, "SELECT COUNT(*) FROM outbox WHERE status = 'pending'")
    quiet.process.kill()  # SIGKILL
    quiet.process.wait(timeout=10)
    assert queued == [(3,)]
    assert receiver.received == []
    live = hooked(tmp_path, receiver.url, extra=("--origin", quiet.url))
    try:
        received = receiver.wait_for(lambda got: len(got) >= 3)
        # Some more work after the restart: nothing of before arrives a second time.
        api = Api(live.url)
        verify_email(
            api, users[0], address, lambda: wait_for_mails(mail_dir, lambda ms: len(ms) >= 1)[0]
        )
        with_guardian(api, users[0])
        wait_for_mails(mail_dir, lambda ms: len(ms) >= 2)
        received = receiver.wait_for(lambda got: len(got) >= 4)
    finally:
        live.stop()
    ids = [item.headers["webhook-id"] for item in received]
    assert len(ids) == len(set(ids)) == 4
    assert sorted(body["type"] for body in verified(received)) == [
        "account.created",
        "account.created",
        "account.created",
        "guardians.changed",
    ]
    assert rows(live.database, "SELECT status, COUNT(*) FROM outbox GROUP BY status") == [
        ("sent", 5)
    ]


def test_killed_during_a_send_the_restart_sends_it_again_under_the_same_id(
    tmp_path: Path, receiver: WebhookReceiver
) -> None:
    """The receiver holds the request open; serve.py is killed before it can mark the row
    sent. After the lease the restarted server sends it again, with the same webhook-id,
    which the receiver deduplicates: once per event id."""
    receiver.hold.set()
    first = hooked(tmp_path, receiver.url, extra=("--outbox-lease", "4"))
    user = register(Api(first.url))
    assert receiver.held.wait(timeout=30)
    first.process.kill()
    first.process.wait(timeout=10)
    receiver.hold.clear()
    assert rows(first.database, "SELECT status, attempts FROM outbox") == [("pending", 0)]
    live = hooked(tmp_path, receiver.url, extra=("--outbox-lease", "4", "--origin", first.url))
    try:
        received = receiver.wait_for(lambda got: len(got) >= 2)
        for _ in range(200):
            if rows(live.database, "SELECT status FROM outbox") == [("sent",)]:
                break
            time.sleep(0.05)
    finally:
        live.stop()
    ids = {item.headers["webhook-id"] for item in received}
    assert len(received) == 2
    assert len(ids) == 1
    assert [body["data"]["account"] for body in verified(received)] == [user.account] * 2
    assert rows(live.database, "SELECT status, attempts FROM outbox") == [("sent", 1)]


def test_mail_waits_while_smtp_is_down_and_goes_once_it_is_up(tmp_path: Path) -> None:
    sink = SmtpSink()  # not listening yet
    live = start(
        tmp_path,
        "--smtp",
        sink.url,
        "--outbox-poll",
        "0.2",
        "--outbox-retry",
        "1",
        "--recovery-delay",
        "3600",
    )
    try:
        api = Api(live.url)
        user = register(api)
        # The address is verified with a code sent while SMTP is up...
        sink.start()
        verify_email(api, user, f"{user.username}@example.org", lambda: sink.wait_for(1)[0])
        sink.stop()
        # ...then SMTP goes down, and the guardians change.
        with_guardian(api, user)
        for _ in range(400):
            if "unreachable" in live.log():
                break
            time.sleep(0.05)
        assert rows(live.database, "SELECT status FROM outbox WHERE channel = 'mail'") == [
            ("pending",)
        ]
        sink = SmtpSink(sink.port).start()
        (mail,) = sink.wait_for(1)
        log = live.log()
    finally:
        live.stop()
        sink.stop()
    assert "guardians" in str(mail["Subject"])
    assert "unreachable" in log
    ((status, attempts),) = rows(
        live.database, "SELECT status, attempts FROM outbox WHERE channel = 'mail'"
    )
    assert status == "sent"
    assert attempts >= 2


@pytest.mark.postgres
def test_two_processes_on_one_postgresql_database_send_each_delivery_once(
    tmp_path: Path, postgres_url: str, receiver: WebhookReceiver
) -> None:
    servers = []
    try:
        for n in range(2):
            directory = tmp_path / f"p{n}"
            directory.mkdir()
            servers.append(
                hooked(
                    directory, receiver.url, extra=("--db", postgres_url, "--outbox-poll", "0.1")
                )
            )
        apis = [Api(server.url) for server in servers]
        users = [register(apis[n % 2]) for n in range(16)]
        received = receiver.wait_for(lambda got: len(got) >= 16)
        time.sleep(1)  # room for a duplicate to show up, if either process sent one
        received = list(receiver.received)
    finally:
        for server in servers:
            server.stop()
    ids = [item.headers["webhook-id"] for item in received]
    assert len(ids) == len(set(ids)) == 16
    assert {body["data"]["account"] for body in verified(received)} == {u.account for u in users}
    sent_by = [
        sum(
            "outbox: webhook account.created" in line and " sent (try 1)" in line
            for line in server.log().splitlines()
        )
        for server in servers
    ]
    assert sum(sent_by) == 16, sent_by

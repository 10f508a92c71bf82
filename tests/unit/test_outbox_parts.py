"""The outbox's small parts on their own: the device name, the option parsers, the backoff,
the cancel-link tokens, and a claim's lease on a real SQLite file."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from vouch.server import cancel_links
from vouch.server.outbox import store
from vouch.server.outbox.settings import (
    OutboxSettings,
    SettingError,
    parse_address,
    parse_smtp_url,
    parse_webhook_secret,
    parse_webhook_url,
)
from vouch.server.outbox.user_agent import describe
from vouch.server.outbox.worker import backoff
from vouch.server.storage import open_database

SAFARI_IOS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15"
    " (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
EDGE_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0"
)
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0"


def test_the_device_is_named_coarsely_and_the_specific_browser_wins() -> None:
    assert describe(SAFARI_IOS) == "Safari on iOS"
    assert describe(EDGE_WINDOWS) == "Edge on Windows"
    assert describe(FIREFOX_LINUX) == "Firefox on Linux"
    assert describe("python-httpx/0.28.1") == "an unknown browser"
    assert describe(None) == "an unknown browser"


def test_smtp_urls_are_parsed_and_a_password_in_one_is_refused() -> None:
    relay = parse_smtp_url("smtp://mailer@relay.example.com", "pw")
    assert (relay.host, relay.port, relay.implicit_tls, relay.username) == (
        "relay.example.com",
        587,
        False,
        "mailer",
    )
    assert "pw" not in repr(relay)
    assert relay.url == "smtp://mailer@relay.example.com:587"
    assert parse_smtp_url("smtps://relay.example.com", None).port == 465
    with pytest.raises(SettingError, match="carries a password"):
        parse_smtp_url("smtp://u:secret@relay.example.com", None)
    with pytest.raises(SettingError, match="is not smtp://"):
        parse_smtp_url("http://relay.example.com", None)


def test_malformed_webhook_urls_secrets_and_addresses_are_refused() -> None:
    assert parse_webhook_url("https://app.example.com/hooks") == "https://app.example.com/hooks"
    for url, message in [
        ("ftp://app.example.com/", "not an http"),
        ("https:///nohost", "not an http"),
        ("https://user:pw@app.example.com/", "carries credentials"),
        ("https://app.example.com/#x", "fragment"),
        ("https://app.example.com:99999/", "port"),
    ]:
        with pytest.raises(SettingError, match=message):
            parse_webhook_url(url)
    good = "whsec_" + base64.b64encode(b"k" * 32).decode()
    assert parse_webhook_secret(good + "\n", source="f") == good
    with pytest.raises(SettingError, match="does not start with whsec_"):
        parse_webhook_secret("k" * 40, source="f")
    with pytest.raises(SettingError, match="8 bytes, expected 24 to 64"):
        parse_webhook_secret("whsec_" + base64.b64encode(b"k" * 8).decode(), source="f")
    with pytest.raises(SettingError, match="needs a secret"):
        OutboxSettings(webhooks=("https://app.example.com/",))
    assert parse_address("vouch <v@example.com>", what="--mail-from") == "vouch <v@example.com>"
    with pytest.raises(SettingError, match="not a mail address"):
        parse_address("nobody", what="--mail-from")


def test_backoff_doubles_up_to_its_cap() -> None:
    def none(_n: int) -> int:
        return 0

    assert [backoff(n, base=10, cap=60, jitter=none) for n in range(1, 6)] == [10, 20, 40, 60, 60]
    assert backoff(10_000, base=10, cap=3600, jitter=none) == 3600


def test_backoff_takes_off_up_to_half_at_random_so_failed_deliveries_spread_out() -> None:
    def most(n: int) -> int:
        return n - 1

    assert [backoff(n, base=10, cap=60, jitter=most) for n in range(1, 5)] == [5, 10, 20, 30]
    assert backoff(1, base=1, cap=60) == 1  # a second is never cut to nothing
    waits = {backoff(4, base=10, cap=3600) for _ in range(200)}
    assert waits <= set(range(40, 81))
    assert len(waits) > 10  # spread out, not one value


def test_a_cancel_token_names_one_recovery_and_cannot_be_moved_to_another() -> None:
    key = b"k" * 32
    token = cancel_links.token(key, "ref-a")
    assert cancel_links.reference_of(key, token) == "ref-a"
    mac = token.partition(".")[2]
    assert cancel_links.reference_of(key, f"ref-b.{mac}") is None
    assert cancel_links.reference_of(b"x" * 32, token) is None
    assert cancel_links.reference_of(key, "ref-a") is None
    assert cancel_links.reference_of(key, token + "A") is None


def test_a_lease_keeps_a_row_from_a_second_claim_until_it_runs_out(tmp_path: Path) -> None:
    database = open_database(str(tmp_path / "v.db"))
    try:
        database.run_sync(
            lambda tx: store.enqueue(
                tx,
                event_id="evt_1",
                event="account.created",
                account_id=None,
                channel=store.WEBHOOK,
                destination="https://app.example.com/",
                payload={"body": "{}"},
                now=100,
            )
        )

        def claim(owner: str, now: int) -> list[store.Delivery]:
            return database.run_sync(
                lambda tx: store.claim(
                    tx, "sqlite", owner=owner, now=now, lease_seconds=60, limit=10
                )
            )

        (first,) = claim("a", 100)
        assert claim("b", 159) == []  # leased to a
        (again,) = claim("b", 160)  # a's lease ran out: a died
        assert again.event_id == first.event_id == "evt_1"
        # a, back too late, cannot undo b's outcome; b's "sent" holds.
        database.run_sync(
            lambda tx: store.mark_failed(tx, first, owner="a", now=161, error="x", retry_at=170)
        )
        database.run_sync(lambda tx: store.mark_sent(tx, again, now=162, detail="HTTP 200"))
        assert claim("c", 10_000) == []
        ((status, attempts),) = [
            (row["status"], row["attempts"]) for row in database.run_sync(store.log_of)
        ]
        assert (status, attempts) == ("sent", 1)
    finally:
        database.close()

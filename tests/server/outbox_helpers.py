"""What the mail, webhook and outbox tests share: a webhook secret, reading the mails a
server wrote or an SMTP server received, a verified address, a held recovery."""

from __future__ import annotations

import base64
import email
import email.policy
import re
import sqlite3
import time
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from tests.server.helpers import (
    Api,
    Guardian,
    Recovery,
    User,
    recovery_code_guardian,
    save_guardians,
    start_recovery,
)

SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()
CHROME_ON_ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/126.0.0.0 Mobile Safari/537.36"
)


def mails_in(directory: Path) -> list[EmailMessage]:
    """The .eml files a server wrote, oldest first."""
    messages = []
    for path in sorted(directory.glob("*.eml")) if directory.exists() else []:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        messages.append(message)
    return messages


def wait_for_mails(
    directory: Path, predicate: Callable[[list[EmailMessage]], bool], timeout: float = 30
) -> list[EmailMessage]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = mails_in(directory)
        if predicate(found):
            return found
        time.sleep(0.05)
    raise AssertionError(f"mails not there in time: {[m['Subject'] for m in mails_in(directory)]}")


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def html_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


def code_in(message: EmailMessage) -> str:
    match = re.search(r"^(\d{8})\r?$", text_of(message), re.MULTILINE)
    assert match, text_of(message)
    return match.group(1)


def cancel_link_in(message: EmailMessage) -> str:
    match = re.search(r"(http://\S+/recovery/cancel\?token=\S+)", text_of(message))
    assert match, text_of(message)
    return match.group(1)


def add_email(api: Api, user: User, address: str) -> dict[str, Any]:
    return api.call("POST", "/api/account/email", {"address": address}, session=user.session)


def verify_email(
    api: Api, user: User, address: str, latest_mail: Callable[[], EmailMessage]
) -> None:
    """Add `address` and enter the code from the mail `latest_mail` returns once it is in."""
    started = add_email(api, user, address)
    code = code_in(latest_mail())
    body = {"verification_id": started["verification_id"], "code": code}
    api.call("POST", "/api/account/email/verify", body, session=user.session)


def with_guardian(api: Api, user: User) -> Guardian:
    guardian = recovery_code_guardian(user)
    save_guardians(api, user, 1, [guardian])
    return guardian


def held_recovery(api: Api, user: User, guardian: Guardian) -> Recovery:
    """A recovery of `user`'s account approved and held by --recovery-delay."""
    recovery = start_recovery(api, user.username)
    body = recovery.execute_body([recovery.approve(guardian)])
    assert api.call("POST", "/api/recovery/execute", body, status=202)["status"] == "pending"
    return recovery


def rows(database: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        return [tuple(row) for row in connection.execute(sql, params).fetchall()]

"""The recovery screens and the kinds' approval steps on CPython, against a fake Shell.

One choice per guardian, in its kind's words; an approval counts only once the server has
checked it; a mistyped code or a refused check records nothing; execute once enough.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from typing import Any

import pytest

from tests.support.fake_dialog import FakeApi, FakeScreen, FakeShell
from vouch.core import codes
from vouch.core.b64url import b64url_decode, b64url_encode
from vouch.core.kdf import Argon2Params
from vouch.core.messages import verify_guardian_signature
from vouch.crypto.native import NativeProvider
from vouch.dialog.api import ApiError
from vouch.dialog.kinds import backup_codes, passkey, passphrase, recovery_code
from vouch.dialog.recovery_screens import RecoveryScreens
from vouch.dialog.shell import Arrival

CHEAP = Argon2Params(memory_kib=19 * 1024, iterations=2, lanes=1)
ACCOUNT = "acct-1"
PASSPHRASE = "quartz lantern orbit meadow"
CHECK = "/api/recovery/check"


class Guardians:
    """Four guardians of one account, their entries and the secrets behind them."""

    def __init__(self) -> None:
        provider = NativeProvider()
        self.code = codes.new_recovery_code()
        self.backups = codes.new_backup_codes(3)

        async def build() -> list[dict[str, Any]]:
            return [
                await passphrase.build_entry(
                    provider, PASSPHRASE, account=ACCOUNT, label="Passphrase", params=CHEAP
                ),
                await recovery_code.build_entry(
                    provider, self.code, account=ACCOUNT, label="Drawer"
                ),
                await backup_codes.build_entry(
                    provider, self.backups, account=ACCOUNT, label="Backup codes"
                ),
                passkey.build_entry("Y3JlZA", label="Second passkey"),
            ]

        self.entries = asyncio.run(build())

    def public(self) -> list[dict[str, Any]]:
        hidden = ("public_key", "public_keys")
        return [{k: v for k, v in e.items() if k not in hidden} for e in self.entries]


@pytest.fixture(scope="module")
def guardians() -> Guardians:
    return Guardians()


def started(guardians: Guardians, threshold: int = 2) -> dict[str, Any]:
    return {
        "recovery_id": "r1",
        "account": ACCOUNT,
        "username": "alice",
        "challenge": b64url_encode(bytes(range(32))),
        "expires": int(time.time()) + 300,
        "rp_id": "localhost",
        "threshold": threshold,
        "guardians": guardians.public(),
        "registration": {"challenge_id": "reg-1", "options": {"challenge": "Y2g"}},
    }


NEW_CREDENTIAL = {
    "id": b64url_encode(b"new"),
    "rawId": b64url_encode(b"new"),
    "response": {"publicKey": b64url_encode(b"spki")},
}


def recovering(guardians: Guardians, threshold: int = 2) -> tuple[FakeShell, RecoveryScreens]:
    """Past the account name and the new passkey: the guardians' screen."""
    api = FakeApi({("POST", "/api/recovery/start"): started(guardians, threshold)})
    shell = FakeShell(api)
    shell.page.credential = NEW_CREDENTIAL
    screens = RecoveryScreens(shell)
    screens.show_name()
    screen = shell.current()
    screen.set_value("#recover-username", "Alice")
    screen.submit("[data-form=recover-name]")
    shell.settle()
    assert api.sent("/api/recovery/start") == [{"username": "alice"}]
    shell.current().click("[data-action=create-passkey]")
    shell.settle()
    assert shell.current().template_id == "tpl-recover-guardians"
    return shell, screens


def choices(screen: FakeScreen) -> list[tuple[str, str, bool]]:
    return [
        (item.text("button"), item.text("[data-slot=status]"), item.find("button").disabled)
        for item in screen.items["[data-slot=choices]"]
    ]


def choose(shell: FakeShell, text: str) -> None:
    screen = shell.current()
    (item,) = [item for item in screen.items["[data-slot=choices]"] if item.text("button") == text]
    item.click("button")


def test_one_choice_per_guardian_in_its_kinds_words(guardians: Guardians) -> None:
    shell, _ = recovering(guardians)
    screen = shell.current()
    assert choices(screen) == [
        ("Use passphrase", "", False),
        ("Use recovery code (Drawer)", "", False),
        ("Use a backup code", "", False),
        ("Use other passkey", "", False),
    ]
    assert screen.text("[data-slot=needed]") == "Approve with 2 of your 4 guardians."
    assert screen.text("[data-slot=progress]") == "2 more approvals needed."


def test_a_name_that_is_no_account_name_is_refused_in_place() -> None:
    shell = FakeShell()
    RecoveryScreens(shell).show_name()
    screen = shell.current()
    screen.set_value("#recover-username", "bad name!")
    screen.submit("[data-form=recover-name]")
    assert shell.alert is not None
    assert screen.focused == "#recover-username"
    assert shell.api.requests == []


def test_a_code_approval_counts_once_the_server_has_checked_it(guardians: Guardians) -> None:
    shell, screens = recovering(guardians)
    shell.api.answers[("POST", CHECK)] = {"ok": True}
    choose(shell, "Use recovery code (Drawer)")
    secret = shell.current()
    assert secret.template_id == "tpl-recover-secret"
    assert secret.text("h2") == "Enter your recovery code"
    assert secret.text("label") == "Recovery code"
    assert secret.attribute("#secret", "type") == "text"
    assert secret.attribute("#secret", "autocomplete") == "off"
    assert secret.focused == "#secret"
    secret.set_value("#secret", guardians.code.lower().replace("-", " "))
    secret.submit("[data-form=secret]")
    shell.settle()
    assert shell.busy[-1] == "Checking…"
    (body,) = shell.api.sent(CHECK)
    approval = body["approval"]
    assert body["recovery_id"] == "r1"
    assert body["new_credential"]["id"] == NEW_CREDENTIAL["rawId"]
    assert screens.flow is not None
    assert screens.flow.approvals == {guardians.entries[1]["id"]: approval}
    key = b64url_decode(guardians.entries[1]["public_key"])
    assert asyncio.run(
        verify_guardian_signature(
            NativeProvider(), key, screens.flow.message(), b64url_decode(approval["signature"])
        )
    )
    screen = shell.current()
    assert screen.template_id == "tpl-recover-guardians"
    assert choices(screen)[1] == ("Use recovery code (Drawer)", "Approved", True)
    assert screen.text("[data-slot=progress]") == "1 more approval needed."


def test_a_refused_check_records_nothing_and_asks_again(guardians: Guardians) -> None:
    shell, screens = recovering(guardians)
    shell.api.answers[("POST", CHECK)] = ApiError(403, "approval_invalid", "That did not match.")
    choose(shell, "Use passphrase")
    secret = shell.current()
    assert secret.text("h2") == "Enter your passphrase"
    assert secret.attribute("#secret", "type") == "password"
    secret.set_value("#secret", PASSPHRASE + " typo")
    secret.submit("[data-form=secret]")
    shell.settle()
    assert shell.busy[-1] == "Checking your passphrase… this takes a few seconds."
    assert shell.alert == "That did not match. Check the account name too: \u201calice\u201d."
    again = shell.current()
    assert again.template_id == "tpl-recover-secret"
    assert again.value("#secret") == PASSPHRASE + " typo"  # kept, to fix in place
    assert not again.find("[data-action=rename]").hidden
    assert screens.flow is not None
    assert screens.flow.approvals == {}


def test_a_mistyped_code_is_refused_before_anything_is_sent(guardians: Guardians) -> None:
    shell, screens = recovering(guardians)
    choose(shell, "Use a backup code")
    secret = shell.current()
    assert secret.text("h2") == "Enter one of your backup codes"
    typo = guardians.backups[0][:-1] + ("0" if guardians.backups[0][-1] != "0" else "1")
    secret.set_value("#secret", typo)
    secret.submit("[data-form=secret]")
    shell.settle()
    assert shell.alert is not None
    assert shell.alert == "The last character of group 3 looks wrong."
    assert shell.api.sent(CHECK) == []
    assert screens.flow is not None
    assert screens.flow.approvals == {}
    shell.current().click("[data-action=back]")
    assert shell.current().template_id == "tpl-recover-guardians"


def test_the_passkey_step_asks_for_an_assertion_of_the_message_hash(
    guardians: Guardians,
) -> None:
    shell, screens = recovering(guardians)
    shell.api.answers[("POST", CHECK)] = {"ok": True}
    assertion = {"id": "Y3JlZA", "response": {}}
    shell.page.credential = assertion
    choose(shell, "Use other passkey")
    (options,) = shell.page.got  # started inside the click
    assert screens.flow is not None
    digest = hashlib.sha256(screens.flow.message()).digest()
    assert b64url_decode(options["challenge"]) == digest
    assert options["allowCredentials"] == []  # discoverable: no ID is known
    shell.settle()
    assert shell.busy[-1] == "Use your other passkey or security key now…"
    passkey_id = guardians.entries[3]["id"]
    assert screens.flow.approvals == {
        passkey_id: {"guardian_id": passkey_id, "assertion": assertion}
    }


def test_enough_approvals_execute_the_recovery_and_sign_in(guardians: Guardians) -> None:
    shell, screens = recovering(guardians, threshold=1)
    result = {"status": "complete", "account": ACCOUNT, "username": "alice", "token": "t"}
    shell.api.answers[("POST", CHECK)] = {"ok": True}
    shell.api.answers[("POST", "/api/recovery/execute")] = result
    choose(shell, "Use a backup code")
    shell.current().set_value("#secret", guardians.backups[2])
    shell.current().submit("[data-form=secret]")
    shell.settle()
    (body,) = shell.api.sent("/api/recovery/execute")
    assert body["credential"] == NEW_CREDENTIAL
    assert [a["guardian_id"] for a in body["approvals"]] == [guardians.entries[2]["id"]]
    assert shell.calls == [("signed_in", result)]
    assert shell.arrivals == [Arrival("recovery", used=())]  # a burnt code needs no renewal
    assert screens.flow is None


def test_a_recovery_that_used_the_recovery_code_says_so_for_its_renewal(
    guardians: Guardians,
) -> None:
    shell, _ = recovering(guardians, threshold=2)
    result = {"status": "complete", "account": ACCOUNT, "username": "alice", "token": "t"}
    shell.api.answers[("POST", CHECK)] = {"ok": True}
    shell.api.answers[("POST", "/api/recovery/execute")] = result
    choose(shell, "Use recovery code (Drawer)")
    shell.current().set_value("#secret", guardians.code)
    shell.current().submit("[data-form=secret]")
    shell.settle()
    choose(shell, "Use a backup code")
    shell.current().set_value("#secret", guardians.backups[0])
    shell.current().submit("[data-form=secret]")
    shell.settle()
    assert shell.calls == [("signed_in", result)]
    assert shell.arrivals == [Arrival("recovery", used=(guardians.entries[1]["id"],))]


def test_a_refused_execute_says_why_and_offers_to_start_again(guardians: Guardians) -> None:
    shell, _ = recovering(guardians, threshold=1)
    shell.api.answers[("POST", CHECK)] = {"ok": True}
    refusal = ApiError(403, "not_enough_approvals", "Not enough guardians approved.")
    shell.api.answers[("POST", "/api/recovery/execute")] = refusal
    shell.page.credential = {"id": "Y3JlZA"}
    choose(shell, "Use other passkey")
    shell.settle()
    assert shell.current().template_id == "tpl-recover-failed"
    assert shell.alert == "Not enough guardians approved."
    shell.current().click("[data-action=restart]")
    assert shell.current().template_id == "tpl-recover-name"

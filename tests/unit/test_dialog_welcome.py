"""What the dialog offers once someone is in, on CPython against a fake Shell.

After sign-up: the recommended pair, saved with one passkey confirmation before its kits
show the codes; "Later" goes on at once. On a sign-in while the account has no guardians:
the same, as a reminder. After a recovery that used the recovery code: a new one for it.
"""

from __future__ import annotations

import asyncio

from tests.support.fake_dialog import FakeApi, FakeShell
from tests.unit.test_dialog_account_screens import (
    ADDED,
    SAVE_OPTIONS,
    account_api,
    saved_guardians,
)
from vouch.core.b64url import b64url_encode
from vouch.core.kinds import BACKUP_CODES, RECOVERY_CODE
from vouch.crypto.native import NativeProvider
from vouch.dialog.account_screens import AccountScreens
from vouch.dialog.embed import Launch
from vouch.dialog.errors import WebAuthnError
from vouch.dialog.kinds import backup_codes, recovery_code
from vouch.dialog.shell import Arrival
from vouch.dialog.welcome import Welcome

RESULT = {"account": "acct-1", "username": "alice", "token": "t", "session": "s"}


def arriving(
    arrival: Arrival, api: FakeApi | None = None, *, mode: str = "signin"
) -> tuple[FakeShell, Welcome, list[str]]:
    launch = Launch(mode=mode, host_origin="https://host.example", display="popup", nonce="n")
    shell = FakeShell(api or account_api(guardians=[], threshold=0), launch=launch)
    welcome = Welcome(shell, AccountScreens(shell))
    finished: list[str] = []
    welcome.arrive(RESULT, arrival, lambda: finished.append("finished"))
    return shell, welcome, finished


def kit_codes(shell: FakeShell) -> list[str]:
    kit = shell.current()
    assert kit.template_id == "tpl-kit"
    return [li.text_content for li in kit.find("[data-slot=codes]").children]


def leave_kit(shell: FakeShell) -> None:
    shell.current().check("#saved")
    shell.current().click("[data-action=confirm]")


def test_sign_up_offers_the_recommended_pair_and_saves_it_with_one_confirmation() -> None:
    shell, _, finished = arriving(Arrival("signup"))
    offer = shell.current()
    assert offer.template_id == "tpl-offer"
    assert offer.text("h2") == "Protect your account"
    assert len(offer.find("[data-slot=items]").children) == 2
    assert offer.text("[data-action=accept]") == "Set up now"
    assert offer.text("[data-action=decline]") == "Later"
    shell.settle()  # built while the screen is read: the account, the options, the codes
    assert ("load_deferred", None) in shell.calls
    offer.click("[data-action=accept]")
    assert len(shell.page.got) == 1  # the passkey was asked inside the click
    shell.settle()
    (body,) = shell.api.sent("/api/guardians")
    config = body["config"]
    assert body["challenge_id"] == SAVE_OPTIONS["challenge_id"]
    assert config["threshold"] == 1
    assert [g["kind"] for g in config["guardians"]] == [RECOVERY_CODE.name, BACKUP_CODES.name]
    # Saved first, then shown: the recovery code's kit, then the backup codes'.
    (code,) = kit_codes(shell)
    assert shell.current().text("[data-action=confirm]") == "Next: backup codes"
    key = asyncio.run(
        recovery_code.derive_key(NativeProvider(), config["guardians"][0], code, account="acct-1")
    )
    assert b64url_encode(key.public_key) == config["guardians"][0]["public_key"]
    leave_kit(shell)
    codes = kit_codes(shell)
    assert len(codes) == 10
    key = asyncio.run(
        backup_codes.derive_key(
            NativeProvider(), config["guardians"][1], codes[0], account="acct-1"
        )
    )
    assert b64url_encode(key.public_key) == config["guardians"][1]["public_keys"][0]
    assert shell.current().text("[data-action=confirm]") == "Done"
    assert finished == []
    leave_kit(shell)
    assert finished == ["finished"]
    assert code not in str(shell.api.requests)


def test_later_goes_on_at_once_and_saves_nothing() -> None:
    shell, _, finished = arriving(Arrival("signup"))
    shell.settle()
    shell.current().click("[data-action=decline]")
    assert finished == ["finished"]
    assert shell.api.sent("/api/guardians") == []
    assert shell.page.got == []


def test_set_up_before_it_is_ready_confirms_on_a_second_screen() -> None:
    shell, _, finished = arriving(Arrival("signup"))
    shell.current().click("[data-action=accept]")  # nothing prepared yet
    assert shell.page.got == []
    shell.settle()
    confirm = shell.current()
    assert confirm.template_id == "tpl-confirm"
    assert confirm.text("h2") == "Set up recovery"
    confirm.click("[data-action=confirm]")
    shell.settle()
    assert len(shell.api.sent("/api/guardians")) == 1
    assert shell.current().template_id == "tpl-kit"
    assert finished == []


def test_a_dismissed_prompt_in_the_set_up_shows_no_code_and_can_be_left() -> None:
    shell, _, finished = arriving(Arrival("signup"))
    shell.settle()
    shell.page.credential = WebAuthnError("NotAllowedError", "dismissed")
    shell.current().click("[data-action=accept]")
    shell.settle()
    assert shell.api.sent("/api/guardians") == []
    assert shell.current().template_id == "tpl-confirm"
    shell.current().click("[data-action=back]")
    assert finished == ["finished"]


def test_a_sign_in_without_guardians_reminds_and_with_guardians_goes_on() -> None:
    shell, _, finished = arriving(Arrival("signin"))
    shell.settle()
    reminder = shell.current()
    assert reminder.template_id == "tpl-offer"
    assert reminder.text("h2") == "Recovery is not set up"
    assert reminder.text("[data-action=decline]") == "Not now"
    reminder.click("[data-action=decline]")
    assert finished == ["finished"]

    shell, _, finished = arriving(Arrival("signin"), account_api())
    shell.settle()
    assert finished == ["finished"]
    assert shell.current().template_id == "tpl-busy"


def test_managing_the_account_goes_straight_to_it() -> None:
    shell, _, finished = arriving(Arrival("signin"), mode="account")
    assert finished == ["finished"]
    assert shell.api.requests == []


def test_a_recovery_that_used_the_recovery_code_offers_a_new_one_in_its_place() -> None:
    used = {
        "id": "g-code",
        "kind": RECOVERY_CODE.name,
        "label": "Recovery code",
        "public_key": "b2xk",
        "salt": "c2FsdA",
        "created_at": ADDED,
    }
    api = account_api(guardians=[*saved_guardians(), used], threshold=1)
    shell, _, finished = arriving(Arrival("recovery", used=("g-code",)), api)
    shell.settle()
    offer = shell.current()
    assert offer.text("h2") == "Replace your recovery code"
    assert offer.text("[data-action=accept]") == "Get a new recovery code"
    offer.click("[data-action=accept]")
    shell.settle()
    (body,) = api.sent("/api/guardians")
    guardians = body["config"]["guardians"]
    assert [g["id"] for g in guardians] == ["g-phrase", "g-codes", "g-code"]
    renewed = guardians[2]
    assert renewed["label"] == "Recovery code"
    assert renewed["public_key"] != "b2xk"
    (code,) = kit_codes(shell)
    key = asyncio.run(recovery_code.derive_key(NativeProvider(), renewed, code, account="acct-1"))
    assert b64url_encode(key.public_key) == renewed["public_key"]
    leave_kit(shell)
    assert finished == ["finished"]


def test_a_recovery_without_a_reusable_code_goes_on() -> None:
    shell, _, finished = arriving(Arrival("recovery"), account_api())
    shell.settle()
    assert finished == ["finished"]

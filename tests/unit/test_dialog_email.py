"""Email in the dialog, on CPython against a fake Shell: the account's address (verified by
a mailed code), the email guardian (weaker, and said so), its recovery step (a code the
server mails and records itself), and the banner every sign-in shows while a recovery of
the account is pending."""

from __future__ import annotations

import time
from typing import Any

from tests.support.fake_dialog import FakeApi, FakeShell
from tests.support.fake_dialog import recovering as recovering_shell
from tests.unit.test_dialog_account_screens import account_api, add_button, opened
from tests.unit.test_dialog_welcome import RESULT
from vouch.core.kinds import EMAIL
from vouch.dialog.account_screens import AccountScreens
from vouch.dialog.api import ApiError
from vouch.dialog.email_address import typed_code
from vouch.dialog.embed import Launch
from vouch.dialog.kinds import email
from vouch.dialog.recovery_screens import RecoveryScreens
from vouch.dialog.shell import Arrival
from vouch.dialog.welcome import Welcome

VERIFIED = {"address": "alice@example.com", "verified_at": 1_700_000_000}


def with_email(api: FakeApi, address: dict[str, Any] | None = VERIFIED) -> FakeApi:
    answer = api.answers[("GET", "/api/account")]
    assert isinstance(answer, dict)
    api.answers[("GET", "/api/account")] = {**answer, "email": address, "email_pending": None}
    return api


# The account's address --------------------------------------------------------------------


def test_an_address_counts_once_the_mailed_code_comes_back() -> None:
    api = with_email(account_api(), None)
    api.answers[("POST", "/api/account/email")] = {
        "verification_id": "v-1",
        "address": "alice@example.com",
        "expires_at": int(time.time()) + 900,
    }
    api.answers[("POST", "/api/account/email/verify")] = VERIFIED
    shell, _ = opened(api)
    account = shell.current()
    assert account.text("[data-slot=email-text]").startswith("Add an email address")
    assert "Add email guardian" not in account.buttons("[data-slot=add-buttons]")
    account.click("[data-action=email]")
    screen = shell.current()
    assert screen.template_id == "tpl-email-address"
    screen.set_value("#email-address", "alice example.com")
    screen.submit("[data-form=email-address]")
    assert shell.alert == "Type the whole address, with its @."
    assert api.sent("/api/account/email") == []
    screen.set_value("#email-address", " alice@example.com ")
    screen.submit("[data-form=email-address]")
    shell.settle()
    assert api.sent("/api/account/email") == [{"address": "alice@example.com"}]
    code = shell.current()
    assert code.template_id == "tpl-email-verify"
    assert "We sent a code to alice@example.com." in code.text("[data-slot=sent]")
    code.set_value("#email-verify-code", "1234 5678")
    with_email(api)  # the reload after it finds the address verified
    code.submit("[data-form=email-verify]")
    shell.settle()
    assert api.sent("/api/account/email/verify") == [{"verification_id": "v-1", "code": "12345678"}]
    account = shell.current()
    assert account.template_id == "tpl-account"
    assert account.text("[data-slot=notice]") == "Email address verified: notices go there now."
    assert account.text("[data-slot=email-text]") == "Notices go to alice@example.com."
    assert account.text("[data-action=email]") == "Change email address"


def test_a_wrong_code_keeps_what_was_typed_and_says_why() -> None:
    api = with_email(account_api(), None)
    api.answers[("POST", "/api/account/email/verify")] = ApiError(
        400, "email_code_wrong", "That code is not right: 4 tries left."
    )
    shell, screens = opened(api)
    screens.email.show_code({"verification_id": "v-1", "address": "a@example.com"})
    shell.current().set_value("#email-verify-code", "11111111")
    shell.current().submit("[data-form=email-verify]")
    shell.settle()
    assert shell.alert == "That code is not right: 4 tries left."
    assert shell.current().value("#email-verify-code") == "11111111"


# The email guardian -----------------------------------------------------------------------


def test_the_email_guardian_is_offered_for_the_verified_address_and_called_weaker() -> None:
    shell, _ = opened(with_email(account_api()))
    add_button(shell.current(), "Add email guardian").click("button")
    confirm = shell.current()
    assert confirm.template_id == "tpl-confirm"
    summary = confirm.text("[data-slot=summary]")
    assert "alice@example.com" in summary
    assert "weaker than your other guardians" in summary
    assert "with 2 approvals needed" in summary
    confirm.click("[data-action=confirm]")
    shell.settle()
    (body,) = shell.api.sent("/api/guardians")
    entry = body["config"]["guardians"][-1]
    assert {k: entry[k] for k in ("kind", "label", "address")} == {
        "kind": EMAIL.name,
        "label": EMAIL.label,
        "address": "alice@example.com",
    }
    assert tuple(entry) == EMAIL.entry_fields


GUARDIAN = {"id": "g-mail", "kind": EMAIL.name, "label": EMAIL.label}
CODE_GUARDIAN = {"id": "g-code", "kind": "recovery_code", "label": "Recovery code", "salt": "c2E"}


def recovering(threshold: int = 1) -> tuple[FakeShell, RecoveryScreens]:
    return recovering_shell(
        [GUARDIAN, CODE_GUARDIAN],
        threshold=threshold,
        answers={
            ("POST", "/api/recovery/email/send"): {"sent": True, "expires_at": 1},
            ("POST", "/api/recovery/email/verify"): {"ok": True, "guardian_id": "g-mail"},
        },
    )


def choose_email(shell: FakeShell) -> None:
    (item,) = [
        i
        for i in shell.current().items["[data-slot=choices]"]
        if i.text("button") == "Email me a code"
    ]
    item.click("button")
    shell.settle()


def test_an_emailed_code_is_recorded_by_the_server_and_counts() -> None:
    shell, screens = recovering(threshold=2)
    choose_email(shell)
    assert shell.api.sent("/api/recovery/email/send") == [
        {"recovery_id": "r1", "guardian_id": "g-mail"}
    ]
    code = shell.current()
    assert code.template_id == "tpl-recover-email"
    code.set_value("#email-code", "12345 67890")
    code.submit("[data-form=email-code]")
    shell.settle()
    assert shell.api.sent("/api/recovery/email/verify") == [
        {"recovery_id": "r1", "guardian_id": "g-mail", "code": "1234567890"}
    ]
    assert screens.flow is not None
    assert screens.flow.recorded == {"g-mail"}
    assert screens.flow.approvals == {}  # nothing of this guardian is sent at execute
    guardians = shell.current()
    assert guardians.template_id == "tpl-recover-guardians"
    assert guardians.text("[data-slot=progress]") == "1 more approval needed."
    statuses = [i.text("[data-slot=status]") for i in guardians.items["[data-slot=choices]"]]
    assert statuses == ["Approved", ""]


def test_a_refused_code_keeps_what_was_typed_and_offers_the_name_again() -> None:
    shell, screens = recovering()
    shell.api.answers[("POST", "/api/recovery/email/verify")] = ApiError(
        400,
        "approval_invalid",
        "That code is not right. Check the latest mail, or send a new code.",
    )
    choose_email(shell)
    shell.current().set_value("#email-code", "99999 99999")
    shell.current().submit("[data-form=email-code]")
    shell.settle()
    again = shell.current()
    assert again.template_id == "tpl-recover-email"
    assert again.value("#email-code") == "99999 99999"
    assert not again.find("[data-action=rename]").hidden
    assert shell.alert is not None
    assert shell.alert.startswith("That code is not right.")
    assert screens.flow is not None
    assert screens.flow.recorded == set()


def test_a_short_code_is_refused_before_anything_is_sent() -> None:
    shell, _ = recovering()
    choose_email(shell)
    shell.current().set_value("#email-code", "123")
    shell.current().submit("[data-form=email-code]")
    assert shell.alert == "Type the code from the mail: its digits, with or without spaces."
    assert shell.api.sent("/api/recovery/email/verify") == []


def test_enough_recorded_approvals_execute_with_none_sent() -> None:
    shell, _ = recovering(threshold=1)
    shell.api.answers[("POST", "/api/recovery/execute")] = {
        "session": "s",
        "account": "acct-1",
        "username": "alice",
        "token": "t",
    }
    choose_email(shell)
    shell.current().set_value("#email-code", "1234567890")
    shell.current().submit("[data-form=email-code]")
    shell.settle()
    (execute,) = shell.api.sent("/api/recovery/execute")
    assert execute["approvals"] == []


# The pending-recovery banner ----------------------------------------------------------------


def test_every_sign_in_while_a_recovery_is_pending_shows_it_with_cancel() -> None:
    api = account_api()
    answer = api.answers[("GET", "/api/account")]
    assert isinstance(answer, dict)
    pending = {
        "recovery_id": "ref-1",
        "effective_at": 1_900_000_000,
        "created_at": 1,
        "executed_at": 1,
        "device": "Chrome on Android",
    }
    api.answers[("GET", "/api/account")] = {**answer, "pending_recoveries": [pending]}
    api.answers[("POST", "/api/recovery/cancel")] = {"status": "cancelled"}
    launch = Launch(mode="signin", host_origin="https://host.example", display="popup", nonce="n")
    shell = FakeShell(api, launch=launch)
    welcome = Welcome(shell, AccountScreens(shell))
    finished: list[str] = []
    welcome.arrive(RESULT, Arrival("signin"), lambda: finished.append("on"))
    shell.settle()
    banner = shell.current()
    assert banner.template_id == "tpl-pending-banner"
    (item,) = banner.items["[data-slot=pending-list]"]
    assert "from Chrome on Android" in item.text("[data-slot=text]")
    assert finished == []
    item.click("button")
    shell.settle()
    assert api.sent("/api/recovery/cancel") == [{"recovery_id": "ref-1"}]
    after = shell.current()
    assert after.text("h2") == "Recovery cancelled"
    assert after.text("[data-slot=notice]").startswith("The recovery was cancelled.")
    assert after.text("[data-action=continue]") == "Continue"
    after.click("[data-action=continue]")
    assert finished == ["on"]


def test_the_entry_builder_names_exactly_the_kinds_fields() -> None:
    entry = email.build_entry("a@example.com", label="Email")
    assert tuple(entry) == EMAIL.entry_fields
    assert typed_code(" 12-34 56 ") == "123456"
    assert typed_code("12345") == ""  # too few digits to be a mailed code


def test_the_account_screen_lists_the_latest_activity_in_words() -> None:
    api = account_api()
    api.answers[("GET", "/api/audit")] = {
        "events": [
            {"at": 1_800_000_060, "kind": "recovery_pending", "detail": {}},
            {"at": 1_800_000_030, "kind": "recovery_check_failed", "detail": {}},
            {"at": 1_800_000_020, "kind": "recovery_check_failed", "detail": {}},
            {"at": 1_800_000_000, "kind": "account_created", "detail": {}},
            {"at": 1_800_000_000, "kind": "some_new_event", "detail": {}},
        ]
    }
    shell, _ = opened(api)
    account = shell.current()
    assert not account.find("[data-slot=activity]").hidden
    lines = [li.text_content for li in account.find("[data-slot=activity-list]").children]
    assert lines == [
        "A recovery was scheduled · 2027-01-15 08:01 UTC",
        "A recovery attempt was refused · 2027-01-15 08:00 UTC",
        "Account created · 2027-01-15 08:00 UTC",
        "Some new event · 2027-01-15 08:00 UTC",
    ]

"""Errors that keep what was typed and say what to do, on the recovery screens.

A mistyped code is refused in the page, in place, saying (and marking) where; a code of
the other kind offers that guardian's step with the code moved over; a refused approval
suggests checking the account name, in the same words whether the account is real or a
decoy, and every field keeps its text.
"""

from __future__ import annotations

import pytest

from tests.support.fake_dialog import FakeShell
from tests.unit.test_dialog_recovery_screens import (
    CHECK,
    PASSPHRASE,
    Guardians,
    choose,
    recovering,
)
from vouch.core import codes
from vouch.dialog.api import ApiError
from vouch.dialog.errors import NetworkError
from vouch.dialog.kinds._secret import marked
from vouch.dialog.recovery_screens import RecoveryScreens, refusal_message


@pytest.fixture(scope="module")
def four() -> Guardians:
    return Guardians()


def swap_in(code: str, index: int) -> str:
    """`code` with its `index`th symbol (separators not counted) replaced by another."""
    symbols = [char for char in code if char != "-"]
    symbols[index] = "0" if symbols[index] != "0" else "1"
    flat = "".join(symbols)
    return "-".join(flat[i : i + 6] for i in range(0, len(flat), 6))


def test_the_typed_code_is_shown_in_its_groups_with_the_wrong_ones_marked() -> None:
    assert marked("abcdef ghjkmn-pq", (7,)) == [
        ("ABCDEF-G", False),
        ("H", True),
        ("JKMN-PQ", False),
    ]
    assert marked("ABCDEF", ()) == [("ABCDEF", False)]


def test_a_mistyped_code_stays_in_the_field_and_the_screen_says_where(four: Guardians) -> None:
    shell, screens = recovering(four)
    choose(shell, "Use a backup code")
    screen = shell.current()
    typo = swap_in(four.backups[0], 7)  # the second character of group 2
    screen.set_value("#secret", typo.lower())
    screen.submit("[data-form=secret]")
    assert shell.alert == "The second character of group 2 looks wrong."
    assert shell.current() is screen  # no busy screen, no re-render: nothing to retype
    assert screen.value("#secret") == typo.lower()
    assert screen.attribute("#secret", "aria-invalid") == "true"
    assert screen.attribute("#secret", "aria-describedby") == "error"
    assert screen.focused == "#secret"
    echo = screen.find("[data-slot=typed]")
    assert not echo.hidden
    (wrong,) = [child.text for child in echo.children if child.tag == "mark"]
    assert wrong == typo[8]  # group 2's second character, after the dash
    assert "".join(child.text for child in echo.children) == typo
    assert screen.find("[data-action=switch]").hidden
    shell.settle()
    assert shell.api.sent(CHECK) == []
    assert screens.flow is not None
    assert screens.flow.approvals == {}


def test_a_recovery_code_in_the_backup_code_box_offers_use_recovery_code(
    four: Guardians,
) -> None:
    shell, screens = recovering(four)
    shell.api.answers[("POST", CHECK)] = {"ok": True}
    choose(shell, "Use a backup code")
    screen = shell.current()
    screen.set_value("#secret", four.code)
    screen.submit("[data-form=secret]")
    assert shell.alert == "This looks like a recovery code, not a backup code."
    assert screen.value("#secret") == four.code
    switch = screen.find("[data-action=switch]")
    assert not switch.hidden
    assert screen.text("[data-action=switch]") == "Use recovery code (Drawer)"
    screen.click("[data-action=switch]")
    moved = shell.current()
    assert moved.text("h2") == "Enter your recovery code"
    assert moved.value("#secret") == four.code  # moved over, not retyped
    moved.submit("[data-form=secret]")
    shell.settle()
    assert screens.flow is not None
    assert list(screens.flow.approvals) == [four.entries[1]["id"]]


def test_no_offer_when_the_other_kinds_guardian_has_already_approved(four: Guardians) -> None:
    shell, _ = recovering(four, threshold=3)
    shell.api.answers[("POST", CHECK)] = {"ok": True}
    choose(shell, "Use a backup code")
    shell.current().set_value("#secret", four.backups[1])
    shell.current().submit("[data-form=secret]")
    shell.settle()
    choose(shell, "Use recovery code (Drawer)")
    screen = shell.current()
    screen.set_value("#secret", four.backups[2])
    screen.submit("[data-form=secret]")
    assert shell.alert == "This looks like a backup code, not a recovery code."
    assert screen.find("[data-action=switch]").hidden


def test_a_refusal_suggests_checking_the_name_and_the_name_can_be_corrected(
    four: Guardians,
) -> None:
    shell, screens = recovering(four)
    refusal = "That recovery code is not right."
    shell.api.answers[("POST", CHECK)] = ApiError(403, "approval_invalid", refusal)
    choose(shell, "Use recovery code (Drawer)")
    assert shell.current().find("[data-action=rename]").hidden  # nothing refused yet
    wrong = codes.new_recovery_code()
    shell.current().set_value("#secret", wrong)
    shell.current().submit("[data-form=secret]")
    shell.settle()
    assert shell.alert == f"{refusal} Check the account name too: \u201calice\u201d."
    screen = shell.current()
    assert screen.value("#secret") == wrong
    assert not screen.find("[data-action=rename]").hidden
    screen.click("[data-action=back]")
    guardians = shell.current()
    assert not guardians.find("[data-action=rename]").hidden
    guardians.click("[data-action=rename]")
    name = shell.current()
    assert name.template_id == "tpl-recover-name"
    assert name.value("#recover-username") == "alice"
    assert screens.flow is None


def test_the_hint_has_the_same_words_for_every_account() -> None:
    """A decoy's guardians refuse with the server's same sentence per kind; the dialog adds
    the same words whatever the account, so the answer tells nobody which names exist."""
    real = refusal_message("That passphrase is not right.", "alice")
    decoy = refusal_message("That passphrase is not right.", "alicee")
    assert real.replace("alice", "NAME") == decoy.replace("alicee", "NAME")


def test_other_failures_say_why_without_the_name_hint(four: Guardians) -> None:
    shell, _ = recovering(four)
    shell.api.answers[("POST", CHECK)] = ApiError(429, "rate_limited", "Too many tries.")
    choose(shell, "Use passphrase")
    shell.current().set_value("#secret", PASSPHRASE)
    shell.current().submit("[data-form=secret]")
    shell.settle()
    assert shell.alert == "Too many tries."
    assert shell.current().value("#secret") == PASSPHRASE
    assert shell.current().find("[data-action=rename]").hidden


def test_the_typed_passphrase_can_be_shown(four: Guardians) -> None:
    shell, _ = recovering(four)
    choose(shell, "Use passphrase")
    screen = shell.current()
    toggle = "[data-action=toggle]"
    assert not screen.find(toggle).hidden
    assert screen.text(toggle) == "Show passphrase"
    screen.click(toggle)
    assert screen.attribute("#secret", "type") == "text"
    assert screen.text(toggle) == "Hide passphrase"
    screen.click("[data-action=back]")
    choose(shell, "Use a backup code")
    assert shell.current().find(toggle).hidden  # codes are typed in the open anyway


def test_the_account_name_stays_when_the_server_cannot_be_reached() -> None:
    shell = FakeShell()
    shell.api.answers[("POST", "/api/recovery/start")] = NetworkError("offline")
    RecoveryScreens(shell).show_name()
    shell.current().set_value("#recover-username", "Alice ")
    shell.current().submit("[data-form=recover-name]")
    shell.settle()
    assert shell.alert == "The server could not be reached. Check your connection and try again."
    assert shell.current().template_id == "tpl-recover-name"
    assert shell.current().value("#recover-username") == "Alice "

"""The account screen and the kinds' setup screens on CPython, against a fake Shell.

The fake screen is a copy of the page's own template (tests/support/fake_dialog.py), so
these run the screens as the page does, with no browser: what is drawn from the model and
the registry, and what each click does.
"""

from __future__ import annotations

from typing import Any

from tests.support.fake_dialog import FakeApi, FakeScreen, FakeShell
from vouch.core.b64url import b64url_decode, b64url_encode
from vouch.core.kinds import BACKUP_CODES, KINDS, PASSKEY, PASSPHRASE, RECOVERY_CODE
from vouch.core.messages import GuardiansChange, guardians_message, webauthn_challenge_for
from vouch.dialog.account_screens import AccountScreens
from vouch.dialog.guardian_setup import config_entry
from vouch.dialog.kinds import REGISTRY

ADDED = 1_700_000_000  # 2023-11-14
SAVE_OPTIONS = {
    "challenge_id": "save-1",
    "challenge": b64url_encode(bytes(32)),
    "options": {"rpId": "localhost", "allowCredentials": []},
}
PASSKEY_OPTIONS = {"challenge_id": "pk-1", "options": {"challenge": "Y2g", "rp": {}}}


def saved_guardians() -> list[dict[str, Any]]:
    return [
        {
            "id": "g-phrase",
            "kind": PASSPHRASE.name,
            "label": "Passphrase",
            "public_key": "cGs",
            "salt": "c2FsdA",
            "kdf": {},
            "created_at": ADDED,
        },
        {
            "id": "g-codes",
            "kind": BACKUP_CODES.name,
            "label": "Codes in the drawer",
            "salt": "c2FsdA",
            "public_keys": ["cGs"],
            "created_at": ADDED,
            "codes_remaining": 7,
        },
    ]


def account_api(guardians: list[dict[str, Any]] | None = None, threshold: int = 1) -> FakeApi:
    account = {
        "account": "acct-1",
        "username": "alice",
        "guardians": saved_guardians() if guardians is None else guardians,
        "threshold": threshold,
        "pending_recoveries": [],
    }
    return FakeApi(
        {
            ("GET", "/api/account"): account,
            ("POST", "/api/guardians/options"): SAVE_OPTIONS,
            ("POST", "/api/guardians/passkey/options"): PASSKEY_OPTIONS,
        }
    )


def opened(api: FakeApi | None = None) -> tuple[FakeShell, AccountScreens]:
    shell = FakeShell(api or account_api())
    screens = AccountScreens(shell)
    screens.open({"account": "acct-1", "username": "alice", "token": "t", "session": "s"})
    shell.settle()
    assert shell.current().template_id == "tpl-account"
    return shell, screens


def guardian_rows(screen: FakeScreen) -> list[tuple[str, str]]:
    return [
        (item.text("[data-slot=kind]"), item.text("[data-slot=detail]"))
        for item in screen.items.get("[data-slot=guardians]", [])
    ]


def add_button(screen: FakeScreen, text: str) -> Any:
    (item,) = [
        item for item in screen.items["[data-slot=add-buttons]"] if item.text("button") == text
    ]
    return item


def test_the_account_screen_draws_the_saved_guardians_and_one_add_button_per_kind() -> None:
    shell, screens = opened()
    screen = shell.current()
    assert screen.text("[data-slot=user]") == "Signed in as alice"
    assert screen.text("[data-slot=status]") == "1 of 2 guardians needed to recover this account."
    assert guardian_rows(screen) == [
        ("Passphrase", "added 2023-11-14"),
        ("Backup codes", "Codes in the drawer · added 2023-11-14 · 7 codes left"),
    ]
    removes = [
        item.find("button").attrs["aria-label"] for item in screen.items["[data-slot=guardians]"]
    ]
    assert removes == ["Remove Passphrase", "Remove Codes in the drawer"]
    assert screen.buttons("[data-slot=add-buttons]") == [d.add_text for d in REGISTRY.values()]
    actions = [
        item.find("button").attrs["data-action"] for item in screen.items["[data-slot=add-buttons]"]
    ]
    assert actions == [f"add-{name.replace('_', '-')}" for name in KINDS]
    assert screen.options("#threshold") == [("1 of 2", True), ("2 of 2", False)]
    assert screen.find("[data-slot=empty]").hidden
    assert screen.find("[data-action=save]").disabled
    assert screen.find("[data-slot=unsaved]").hidden
    # The single-use options were fetched before any click: the passkey kind's among them.
    assert screens.save_options == SAVE_OPTIONS
    assert screens.prepared == {PASSKEY.name: PASSKEY_OPTIONS}


def test_an_account_without_guardians_says_so() -> None:
    shell, _ = opened(account_api(guardians=[], threshold=0))
    screen = shell.current()
    assert not screen.find("[data-slot=empty]").hidden
    assert screen.text("[data-slot=status]").startswith("Recovery is not set up")
    assert screen.find("#threshold").disabled
    assert guardian_rows(screen) == []


def test_removing_a_guardian_and_the_threshold_change_the_draft_until_discarded() -> None:
    shell, screens = opened()
    shell.current().select("#threshold", "2")
    assert screens.model is not None
    assert screens.model.threshold == 2
    screen = shell.current()
    assert screen.focused == "#threshold"
    assert screen.options("#threshold") == [("1 of 2", False), ("2 of 2", True)]
    assert not screen.find("[data-slot=unsaved]").hidden
    screen.items["[data-slot=guardians]"][0].click("button")
    screen = shell.current()
    assert [kind for kind, _ in guardian_rows(screen)] == ["Backup codes"]
    assert screen.options("#threshold") == [("1 of 1", True)]
    screen.click("[data-action=discard]")
    assert len(guardian_rows(shell.current())) == 2
    assert shell.current().find("[data-action=save]").disabled


def test_saving_confirms_the_exact_configuration_with_the_passkey() -> None:
    api = account_api()
    api.answers[("PUT", "/api/guardians")] = {}
    shell, screens = opened(api)
    shell.current().select("#threshold", "2")
    assert screens.model is not None
    config = screens.model.config()
    shell.current().click("[data-action=save]")
    (options,) = shell.page.got
    change = GuardiansChange(account="acct-1", challenge=bytes(32), config=config)
    expected = webauthn_challenge_for(guardians_message(change))
    assert b64url_decode(options["challenge"]) == expected
    shell.settle()
    (body,) = api.sent("/api/guardians")
    assert body == {"challenge_id": "save-1", "config": config, "assertion": shell.page.credential}
    assert shell.current().text("[data-slot=notice]") == "Your guardians are saved."


def test_the_passphrase_setup_refuses_a_weak_passphrase_with_the_message() -> None:
    shell, screens = opened()
    add_button(shell.current(), "Add passphrase").click()
    shell.settle()
    screen = shell.current()
    assert screen.template_id == "tpl-passphrase"
    screen.fill("#passphrase", "alice2024")
    assert screen.text("[data-slot=strength]").startswith(("Very weak.", "Weak."))
    assert "too easy to guess" in screen.text("[data-slot=strength]")
    screen.submit("[data-form=passphrase]")
    assert shell.alert is not None
    assert shell.alert.startswith("This passphrase is too easy to guess.")
    assert shell.current() is screen  # still there, the field focused, nothing derived
    assert screen.focused == "#passphrase"
    assert shell.busy == ["Loading your account…"]
    assert screens.model is not None
    assert len(screens.model.draft) == 2


def test_the_passphrase_setup_generates_shows_and_adds_a_strong_one() -> None:
    shell, screens = opened()
    add_button(shell.current(), "Add passphrase").click()
    shell.settle()
    screen = shell.current()
    screen.click("[data-action=generate]")
    generated = screen.value("#passphrase")
    assert screen.attribute("#passphrase", "type") == "text"
    assert screen.text("[data-action=toggle]") == "Hide passphrase"
    assert not screen.find("[data-slot=generated]").hidden
    assert screen.text("[data-slot=strength]").endswith("Good: this passphrase is hard to guess.")
    screen.click("[data-action=toggle]")
    assert screen.attribute("#passphrase", "type") == "password"
    screen.submit("[data-form=passphrase]")
    shell.settle()
    assert shell.busy[-1] == "Securing your passphrase… this takes a few seconds."
    account = shell.current()
    assert account.text("[data-slot=notice]") == "Passphrase added. Save changes to start using it."
    assert screens.model is not None
    added = screens.model.draft[-1]
    assert tuple(added) == PASSPHRASE.entry_fields
    assert added["label"] == "Passphrase 2"  # the saved one is "Passphrase"
    assert generated not in str(added)
    assert ("Passphrase", "Passphrase 2 · not saved yet") in guardian_rows(account)
    assert not account.find("[data-action=save]").disabled


def test_the_recovery_code_kit_adds_its_guardian_once_saved() -> None:
    shell, screens = opened()
    add_button(shell.current(), "Add recovery code").click()
    shell.settle()
    kit = shell.current()
    assert kit.template_id == "tpl-kit"
    assert kit.text("h2") == "Save your recovery code"
    assert kit.text("[data-slot=hint]").startswith("This is the only time the code will be shown.")
    (code,) = [li.text_content for li in kit.find("[data-slot=codes]").children]
    assert kit.find("[data-slot=qr]").attrs["src"].startswith("data:image/svg+xml")
    kit.click("[data-action=copy]")
    kit.click("[data-action=download]")
    shell.settle()
    assert shell.page.copied == [shell.page.downloaded[0][1]]
    assert code in shell.page.copied[0]
    assert shell.page.downloaded[0][0] == "vouch-recovery-code-alice.txt"
    assert kit.text("[data-slot=copied]") == "Copied."
    assert kit.find("[data-action=confirm]").disabled
    kit.check("#saved")
    kit.click("[data-action=confirm]")
    shell.settle()
    assert shell.current().text("[data-slot=notice]").startswith("Recovery code added.")
    assert screens.model is not None
    added = screens.model.draft[-1]
    assert added["kind"] == RECOVERY_CODE.name
    assert tuple(config_entry(added)) == RECOVERY_CODE.entry_fields


def test_the_backup_codes_kit_lists_ten_codes() -> None:
    shell, screens = opened()
    add_button(shell.current(), "Add backup codes").click()
    shell.settle()
    kit = shell.current()
    assert kit.text("h2") == "Save your backup codes"
    assert len(kit.find("[data-slot=codes]").children) == 10
    assert kit.text("[data-action=confirm]") == "Add backup codes"
    kit.click("[data-action=back]")
    assert shell.current().template_id == "tpl-account"
    assert screens.model is not None
    assert len(screens.model.draft) == 2


def test_the_passkey_setup_starts_its_ceremony_inside_the_click() -> None:
    api = account_api()
    api.answers[("POST", "/api/guardians/passkey")] = {"credential_id": "bmV3LWtleQ"}
    shell, screens = opened(api)
    add_button(shell.current(), "Add second passkey").click()
    assert shell.page.created == [PASSKEY_OPTIONS["options"]]  # before any await
    shell.settle()
    assert api.sent("/api/guardians/passkey") == [
        {"challenge_id": "pk-1", "credential": shell.page.credential}
    ]
    assert screens.model is not None
    added = screens.model.draft[-1]
    assert added["credential_id"] == "bmV3LWtleQ"
    assert tuple(added) == PASSKEY.entry_fields
    assert shell.current().text("[data-slot=notice]").startswith("Second passkey added.")
    assert screens.prepared == {PASSKEY.name: PASSKEY_OPTIONS}  # fetched again, for the next


def test_a_passkey_click_before_its_options_arrive_asks_to_wait() -> None:
    shell, screens = opened()
    screens.prepared.clear()
    add_button(shell.current(), "Add second passkey").click()
    assert shell.alert == "Still preparing: try again in a moment."
    assert shell.page.created == []
    shell.settle()
    assert screens.prepared == {PASSKEY.name: PASSKEY_OPTIONS}

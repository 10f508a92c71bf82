"""The account screen and the kinds' setup screens on CPython, against a fake Shell.

The fake screen is a copy of the page's own template (tests/support/fake_dialog.py), so
these run the screens as the page does, with no browser: what is drawn from the model and
the registry, and what each click does.
"""

from __future__ import annotations

import asyncio
from typing import Any

from tests.support.fake_dialog import FakeApi, FakeScreen, FakeShell
from vouch.core.b64url import b64url_decode, b64url_encode
from vouch.core.kinds import BACKUP_CODES, KINDS, PASSKEY, PASSPHRASE, RECOVERY_CODE
from vouch.core.messages import GuardiansChange, guardians_message, webauthn_challenge_for
from vouch.crypto.native import NativeProvider
from vouch.dialog.account_screens import AccountScreens
from vouch.dialog.errors import WebAuthnError
from vouch.dialog.kinds import backup_codes, recovery_code

ADDED = 1_700_000_000  # 2023-11-14
SAVE_OPTIONS = {
    "challenge_id": "save-1",
    "challenge": b64url_encode(bytes(32)),
    "options": {"rpId": "localhost", "allowCredentials": []},
}
PASSKEY_OPTIONS = {"challenge_id": "pk-1", "options": {"challenge": "Y2g", "rp": {}}}
# GET /api/contacts of an account nobody invited and that invited nobody.
NO_CONTACTS = {"fingerprint": "0000-0000", "invited": [], "vouching_for": [], "requests": []}


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
            ("GET", "/api/audit"): {"events": []},
            ("GET", "/api/contacts"): NO_CONTACTS,
            ("POST", "/api/guardians/options"): SAVE_OPTIONS,
            ("POST", "/api/guardians/passkey/options"): PASSKEY_OPTIONS,
            ("PUT", "/api/guardians"): stored,
        }
    )


def stored(body: dict[str, Any]) -> dict[str, Any]:
    """The server's answer to a confirmed change: the configuration with its own fields."""
    config = body["config"]
    guardians = [{**entry, "created_at": ADDED} for entry in config["guardians"]]
    return {"threshold": config["threshold"], "guardians": guardians}


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
    # The account has a set of backup codes: its button renews that set.
    assert screen.buttons("[data-slot=add-buttons]") == [
        "Add passphrase",
        "Add recovery code",
        "Get new backup codes",
        "Add second passkey",
        "Add trusted contact",
    ]
    actions = [
        item.find("button").attrs["data-action"] for item in screen.items["[data-slot=add-buttons]"]
    ]
    # A linked account has one button per OpenID provider the server runs (none here), and
    # an email guardian needs a verified address (none here).
    assert actions == [
        f"add-{name.replace('_', '-')}" for name in KINDS if name not in ("oidc", "email")
    ]
    assert screen.text("[data-slot=threshold-text]") == "1 of 2"
    assert not screen.find("[data-action=threshold]").hidden
    assert screen.find("[data-slot=empty]").hidden
    # Nothing to save: every change is stored when it is confirmed.
    assert "Save changes" not in screen.buttons("[data-slot=threshold]")
    # The single-use options were fetched before any click: the passkey kind's among them.
    assert screens.save_options == SAVE_OPTIONS
    assert screens.prepared == {PASSKEY.name: PASSKEY_OPTIONS}


def test_an_account_without_guardians_says_so_and_shows_no_empty_threshold() -> None:
    shell = FakeShell(account_api(guardians=[], threshold=0))
    screens = AccountScreens(shell)
    offered: list[str] = []
    screens.recommend = lambda: offered.append("recommended")
    screens.open({"account": "acct-1", "username": "alice", "token": "t", "session": "s"})
    shell.settle()
    screen = shell.current()
    assert not screen.find("[data-slot=empty]").hidden
    assert screen.text("[data-slot=status]").startswith("Recovery is not set up")
    assert screen.find("[data-slot=threshold]").hidden
    assert guardian_rows(screen) == []
    screen.click("[data-action=recommended]")
    assert offered == ["recommended"]


def test_one_guardian_has_a_threshold_in_words_and_nothing_to_choose() -> None:
    shell, _ = opened(account_api(guardians=saved_guardians()[:1], threshold=1))
    screen = shell.current()
    assert not screen.find("[data-slot=threshold]").hidden
    assert screen.text("[data-slot=threshold-text]") == "1 of 1"
    assert screen.find("[data-action=threshold]").hidden


def confirmed_config(shell: FakeShell, config: dict[str, Any], index: int = -1) -> None:
    """The passkey was asked to sign exactly `config` (its challenge is the message hash)."""
    options = shell.page.got[index]
    change = GuardiansChange(account="acct-1", challenge=bytes(32), config=config)
    assert b64url_decode(options["challenge"]) == webauthn_challenge_for(guardians_message(change))


def test_the_threshold_is_chosen_on_its_own_screen_and_confirmed_at_once() -> None:
    shell, screens = opened()
    shell.current().click("[data-action=threshold]")
    screen = shell.current()
    assert screen.template_id == "tpl-threshold"
    assert screen.focused == "#threshold"
    assert screen.options("#threshold") == [("1 of 2", True), ("2 of 2", False)]
    assert screen.text("[data-slot=meaning]").startswith("Any one of your 2 guardians")
    screen.select("#threshold", "2")
    assert "losing any one of them locks you out" in screen.text("[data-slot=meaning]")
    screen.click("[data-action=confirm]")
    assert screens.model is not None
    config = screens.model.with_threshold(2)
    confirmed_config(shell, config)  # the ceremony started inside the click
    shell.settle()
    (body,) = shell.api.sent("/api/guardians")
    assert body == {"challenge_id": "save-1", "config": config, "assertion": shell.page.credential}
    account = shell.current()
    assert account.template_id == "tpl-account"
    assert account.text("[data-slot=notice]") == "Recovery now needs 2 of 2 guardians."
    assert account.text("[data-slot=threshold-text]") == "2 of 2"


def test_removing_a_guardian_says_what_follows_and_is_stored_when_confirmed() -> None:
    shell, _ = opened()
    shell.current().items["[data-slot=guardians]"][0].click("button")
    screen = shell.current()
    assert screen.template_id == "tpl-confirm"
    assert screen.text("h2") == "Remove Passphrase?"
    assert screen.text("[data-slot=summary]") == (
        "Passphrase will no longer recover this account. "
        "Afterwards: 1 of 1 guardian needed to recover this account."
    )
    assert shell.page.got == []  # nothing asked of the passkey before the click
    screen.click("[data-action=confirm]")
    shell.settle()
    (body,) = shell.api.sent("/api/guardians")
    assert [entry["id"] for entry in body["config"]["guardians"]] == ["g-codes"]
    assert [kind for kind, _ in guardian_rows(shell.current())] == ["Backup codes"]
    assert shell.current().text("[data-slot=notice]") == "Passphrase removed."


def test_cancelling_a_confirmation_changes_nothing() -> None:
    shell, _ = opened()
    shell.current().items["[data-slot=guardians]"][0].click("button")
    shell.current().click("[data-action=back]")
    assert shell.current().template_id == "tpl-account"
    assert len(guardian_rows(shell.current())) == 2
    assert shell.api.sent("/api/guardians") == []


def add_recovery_code(shell: FakeShell) -> FakeScreen:
    add_button(shell.current(), "Add recovery code").click()
    shell.settle()
    confirm = shell.current()
    assert confirm.template_id == "tpl-confirm"
    assert confirm.text("h2") == "Add recovery code"
    return confirm


def test_a_recovery_code_is_stored_before_its_kit_shows_it() -> None:
    shell, screens = opened()
    add_recovery_code(shell).click("[data-action=confirm]")
    shell.settle()
    (body,) = shell.api.sent("/api/guardians")
    config = body["config"]
    confirmed_config(shell, config)
    assert config["threshold"] == 1
    added = config["guardians"][-1]
    assert added["kind"] == RECOVERY_CODE.name
    assert tuple(added) == RECOVERY_CODE.entry_fields
    kit = shell.current()
    assert kit.template_id == "tpl-kit"
    assert kit.text("h2") == "Save your recovery code"
    assert kit.text("[data-slot=hint]").startswith("Your recovery code now protects this account.")
    (code,) = [li.text_content for li in kit.find("[data-slot=codes]").children]
    assert code not in str(shell.api.requests)  # the code never leaves the page
    # The code shown is the one saved: it derives the stored public key.
    key = asyncio.run(recovery_code.derive_key(NativeProvider(), added, code, account="acct-1"))
    assert b64url_encode(key.public_key) == added["public_key"]
    assert kit.find("[data-slot=qr]").attrs["src"].startswith("data:image/svg+xml")
    kit.click("[data-action=copy]")
    kit.click("[data-action=download]")
    shell.settle()
    assert code in shell.page.copied[0]
    assert shell.page.downloaded[0][0] == "vouch-recovery-code-alice.txt"
    assert kit.find("[data-action=confirm]").disabled
    assert kit.text("[data-action=confirm]") == "Done"
    kit.check("#saved")
    kit.click("[data-action=confirm]")
    account = shell.current()
    assert account.template_id == "tpl-account"
    assert account.text("[data-slot=notice]") == "Recovery code saved."
    assert ("Recovery code", "added 2023-11-14") in guardian_rows(account)
    assert screens.model is not None
    assert len(screens.model.guardians) == 3


def test_a_dismissed_passkey_prompt_stores_and_shows_nothing() -> None:
    shell, screens = opened()
    confirm = add_recovery_code(shell)
    shell.page.credential = WebAuthnError("NotAllowedError", "dismissed")
    confirm.click("[data-action=confirm]")
    shell.settle()
    assert shell.api.sent("/api/guardians") == []
    again = shell.current()
    assert again.template_id == "tpl-confirm"  # no kit: no code was shown
    assert shell.alert is not None
    assert screens.save_options == SAVE_OPTIONS  # fresh options for the next try
    shell.page.credential = {"id": "cred", "rawId": "cred"}
    again.click("[data-action=confirm]")
    shell.settle()
    assert shell.current().template_id == "tpl-kit"


def test_a_click_before_the_confirmation_options_arrive_asks_to_wait() -> None:
    shell, screens = opened()
    confirm = add_recovery_code(shell)
    screens.save_options = None
    confirm.click("[data-action=confirm]")
    assert shell.alert == "Still preparing the confirmation: try again in a moment."
    assert shell.page.got == []
    shell.settle()
    assert screens.save_options == SAVE_OPTIONS


def test_new_backup_codes_replace_the_old_set_in_one_change() -> None:
    shell, _ = opened()
    add_button(shell.current(), "Get new backup codes").click()
    shell.settle()
    confirm = shell.current()
    assert confirm.text("h2") == "Replace your backup codes"
    assert confirm.text("[data-slot=summary]").startswith("Ten new backup codes replace")
    confirm.click("[data-action=confirm]")
    shell.settle()
    (body,) = shell.api.sent("/api/guardians")
    guardians = body["config"]["guardians"]
    assert [(g["id"], g["label"]) for g in guardians] == [
        ("g-phrase", "Passphrase"),
        ("g-codes", "Codes in the drawer"),  # the same guardian, not "Backup codes 2"
    ]
    renewed = guardians[1]
    assert renewed["public_keys"] != ["cGs"]
    kit = shell.current()
    codes = [li.text_content for li in kit.find("[data-slot=codes]").children]
    assert len(codes) == 10
    key = asyncio.run(
        backup_codes.derive_key(NativeProvider(), renewed, codes[4], account="acct-1")
    )
    assert renewed["public_keys"][4] == b64url_encode(key.public_key)
    kit.check("#saved")
    kit.click("[data-action=confirm]")
    assert shell.current().text("[data-slot=notice]") == (
        "New backup codes saved. The old ones no longer work."
    )


def test_the_passphrase_setup_refuses_a_weak_passphrase_with_the_message() -> None:
    shell, _ = opened()
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


def test_a_generated_passphrase_is_confirmed_then_stored() -> None:
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
    confirm = shell.current()
    assert confirm.template_id == "tpl-confirm"
    assert confirm.text("h2") == "Add passphrase"
    confirm.click("[data-action=confirm]")
    shell.settle()
    (body,) = shell.api.sent("/api/guardians")
    added = body["config"]["guardians"][-1]
    assert tuple(added) == PASSPHRASE.entry_fields
    assert added["label"] == "Passphrase 2"  # the saved one is "Passphrase"
    assert generated not in str(shell.api.requests)
    account = shell.current()
    assert account.text("[data-slot=notice]") == "Passphrase saved."
    assert ("Passphrase", "Passphrase 2 · added 2023-11-14") in guardian_rows(account)
    assert screens.model is not None
    assert len(screens.model.guardians) == 3


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
    confirm = shell.current()
    assert confirm.template_id == "tpl-confirm"
    confirm.click("[data-action=confirm]")
    shell.settle()
    (body,) = api.sent("/api/guardians")
    added = body["config"]["guardians"][-1]
    assert added["credential_id"] == "bmV3LWtleQ"
    assert tuple(added) == PASSKEY.entry_fields
    assert shell.current().text("[data-slot=notice]") == "Second passkey saved."
    assert screens.prepared == {PASSKEY.name: PASSKEY_OPTIONS}  # fetched again, for the next


def test_a_passkey_click_before_its_options_arrive_asks_to_wait() -> None:
    shell, screens = opened()
    screens.prepared.clear()
    add_button(shell.current(), "Add second passkey").click()
    assert shell.alert == "Still preparing: try again in a moment."
    assert shell.page.created == []
    shell.settle()
    assert screens.prepared == {PASSKEY.name: PASSKEY_OPTIONS}

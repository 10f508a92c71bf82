"""Linked accounts (OpenID guardians) in the dialog, on CPython against a fake Shell.

The ID token itself comes from the real provider in the browser and server tests; here
the question is what the screens bind it to: the sign-in window opens from the click with
a nonce that is SHA-256 of exactly the change being confirmed (or the recovery being
approved), and the token goes to the server with that change, and nothing else.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.support.fake_dialog import FakeShell
from tests.support.fake_dialog import recovering as recovering_shell
from tests.unit.test_dialog_account_screens import (
    SAVE_OPTIONS,
    account_api,
    add_button,
    opened,
)
from vouch.core.b64url import b64url_encode
from vouch.core.kinds import OIDC
from vouch.core.messages import GuardiansChange, guardians_message, oidc_nonce_for
from vouch.dialog.api import ApiError
from vouch.dialog.errors import SignInFailed
from vouch.dialog.kinds import oidc
from vouch.dialog.recovery_screens import RecoveryScreens

PROVIDER = {
    "name": "google",
    "display_name": "Google",
    "icon": None,
    "issuer": "https://accounts.google.com",
    "client_id": "client-1.apps.googleusercontent.com",
    "authorization_endpoint": "https://accounts.google.com/o/oauth2/v2/auth",
    "response_type": "id_token",
    "response_mode": "fragment",
    "scope": "openid",
    "redirect_uri": "http://localhost:8000/oidc-callback.html",
    "available": True,
    "message": None,
}
DOWN = {
    **PROVIDER,
    "name": "work",
    "display_name": "Work",
    "authorization_endpoint": None,
    "available": False,
    "message": "Work cannot be reached right now: use another guardian, or try again later.",
}
CONFIG = {"origin": "http://localhost:8000", "oidc_providers": [PROVIDER, DOWN]}


def token_for(claims: dict[str, Any]) -> str:
    """An ID token's shape (the screens only read its payload, to show who signed in)."""
    return f"eyJhbGciOiJSUzI1NiJ9.{b64url_encode(json.dumps(claims).encode())}.c2ln"


def query(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def test_the_authorization_url_asks_for_an_id_token_with_the_nonce() -> None:
    url = oidc.authorization_url(PROVIDER, nonce="n-1", state="s-1")
    assert url.startswith(str(PROVIDER["authorization_endpoint"]) + "?")
    assert query(url) == {
        "client_id": PROVIDER["client_id"],
        "response_type": "id_token",
        "response_mode": "fragment",
        "scope": "openid",
        "redirect_uri": PROVIDER["redirect_uri"],
        "nonce": "n-1",
        "state": "s-1",
    }
    with_query = {**PROVIDER, "authorization_endpoint": "https://op.example/auth?tenant=a"}
    assert "/auth?tenant=a&client_id=" in oidc.authorization_url(with_query, nonce="n", state="s")


def test_one_link_button_per_provider_once_the_config_has_answered() -> None:
    shell, screens = opened()
    assert not [b for b in shell.current().buttons("[data-slot=add-buttons]") if "Link" in b]
    shell.server_config = CONFIG
    screens.show()
    buttons = shell.current().buttons("[data-slot=add-buttons]")
    assert [b for b in buttons if b.startswith("Link")] == [
        "Link Google account",
        "Link Work account",
    ]


def linking(label: str = "") -> tuple[FakeShell, Any]:
    """The Google button clicked, a label typed, Continue submitted."""
    shell, screens = opened(account_api())
    shell.server_config = CONFIG
    screens.show()
    add_button(shell.current(), "Link Google account").click("button")
    screen = shell.current()
    assert screen.template_id == "tpl-oidc-link"
    assert screen.text("h2") == "Link your Google account"
    assert screen.text("[data-action=continue]") == "Continue with Google"
    screen.set_value("#oidc-label", label)
    screen.submit("[data-form=oidc-link]")
    return shell, screens


def test_linking_binds_the_token_to_the_change_it_confirms() -> None:
    shell, _ = linking("Work address")
    # The window opened in the click, before any await, with the change's nonce.
    (window,) = shell.page.sign_ins
    shell.page.sign_in_answer = {"id_token": token_for({"sub": "1", "email": "a@example.com"})}
    shell.settle()
    confirm = shell.current()
    assert confirm.template_id == "tpl-confirm"
    assert confirm.text("h2") == "Link Google account"
    assert "You signed in with Google as a@example.com." in confirm.text("[data-slot=summary]")

    confirm.click("[data-action=confirm]")
    shell.settle()
    (body,) = shell.api.sent("/api/guardians")
    entry = body["config"]["guardians"][-1]
    assert entry["kind"] == OIDC.name
    assert entry["label"] == "Work address"
    assert entry["provider"] == "google"
    assert len(entry["salt"]) >= 22  # 16 random bytes
    assert body["challenge_id"] == SAVE_OPTIONS["challenge_id"]
    assert body["links"] == [{"guardian_id": entry["id"], "id_token": window_token(shell)}]
    message = guardians_message(
        GuardiansChange(account="acct-1", challenge=bytes(32), config=body["config"])
    )
    params = query(window.url)
    assert params["nonce"] == oidc_nonce_for(message)
    assert params["state"] == window.state
    assert len(window.state) >= 16
    account = shell.current()
    assert account.template_id == "tpl-account"
    rows = account.items["[data-slot=guardians]"]
    assert rows[-1].text("[data-slot=kind]") == "Google account"
    assert rows[-1].text("[data-slot=detail]").startswith("Work address · added ")


def window_token(shell: FakeShell) -> str:
    answer = shell.page.sign_in_answer
    assert isinstance(answer, dict)
    return answer["id_token"]


def test_a_linked_account_without_a_label_has_the_kinds_label_as_decoys_do() -> None:
    shell, _ = linking("")
    shell.settle()
    shell.current().click("[data-action=confirm]")
    shell.settle()
    (body,) = shell.api.sent("/api/guardians")
    assert body["config"]["guardians"][-1]["label"] == OIDC.label


def test_a_closed_sign_in_window_links_nothing() -> None:
    shell, _ = linking()
    shell.page.sign_in_answer = SignInFailed("The sign-in window was closed before you finished.")
    shell.settle()
    assert shell.current().template_id == "tpl-account"
    assert shell.alert == "The sign-in window was closed before you finished."
    assert shell.api.sent("/api/guardians") == []


def test_an_unreachable_provider_says_so_and_opens_nothing() -> None:
    shell, screens = opened()
    shell.server_config = CONFIG
    screens.show()
    add_button(shell.current(), "Link Work account").click("button")
    assert shell.current().template_id == "tpl-account"
    assert shell.alert == DOWN["message"]
    assert shell.page.sign_ins == []


# Recovery -----------------------------------------------------------------------------

GUARDIAN = {"id": "g-google", "kind": OIDC.name, "label": OIDC.label, "provider": "google"}


@pytest.fixture
def recovering() -> tuple[FakeShell, RecoveryScreens]:
    return recovering_shell([GUARDIAN], config=CONFIG)


def test_the_recovery_choice_names_the_provider(
    recovering: tuple[FakeShell, RecoveryScreens],
) -> None:
    shell, _ = recovering
    (item,) = shell.current().items["[data-slot=choices]"]
    assert item.text("button") == "Sign in with Google"
    labelled = {**GUARDIAN, "label": "Work address"}
    assert oidc.choice_text(labelled, CONFIG) == "Sign in with Google (Work address)"


def test_a_recovery_sign_in_is_bound_to_the_recovery_message(
    recovering: tuple[FakeShell, RecoveryScreens],
) -> None:
    shell, screens = recovering
    shell.api.answers[("POST", "/api/recovery/check")] = {"ok": True}
    shell.api.answers[("POST", "/api/recovery/execute")] = {
        "session": "s",
        "account": "acct-1",
        "username": "alice",
        "token": "t",
    }
    shell.current().items["[data-slot=choices]"][0].click("button")
    (window,) = shell.page.sign_ins
    assert screens.flow is not None
    assert query(window.url)["nonce"] == oidc_nonce_for(screens.flow.message())
    shell.settle()
    (check,) = shell.api.sent("/api/recovery/check")
    assert check["approval"] == {"guardian_id": "g-google", "id_token": window_token(shell)}
    (execute,) = shell.api.sent("/api/recovery/execute")
    assert execute["approvals"] == [check["approval"]]


def test_a_token_that_aged_before_execute_is_asked_for_again(
    recovering: tuple[FakeShell, RecoveryScreens],
) -> None:
    shell, screens = recovering
    shell.api.answers[("POST", "/api/recovery/check")] = {"ok": True}
    shell.api.answers[("POST", "/api/recovery/execute")] = ApiError(
        400, "id_token_too_old", "This ID token was issued more than 5 minutes ago."
    )
    shell.current().items["[data-slot=choices]"][0].click("button")
    shell.settle()
    assert screens.flow is not None
    assert screens.flow.approvals == {}
    assert shell.current().template_id == "tpl-recover-guardians"
    assert shell.alert == "This ID token was issued more than 5 minutes ago. Approve with it again."

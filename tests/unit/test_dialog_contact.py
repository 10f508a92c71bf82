"""Trusted contacts in the dialog, on CPython against a fake Shell: both people's screens.

The owner invites a contact and confirms them once they accepted (the summary shows the
fingerprint of the very account id the change adds); the contact answers with an assertion
over the answer message; the locked-out requester shows a link and a code and waits; the
contact, signed in from the link, types the code and approves with an assertion over the
recovery message. The code is computed by both pages and sent only by the contact's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.fake_dialog import FakeApi, FakeScreen, FakeShell
from tests.support.fake_dialog import recovering as recovering_shell
from tests.unit.test_dialog_account_screens import (
    ADDED,
    NO_CONTACTS,
    SAVE_OPTIONS,
    account_api,
    add_button,
    confirmed_config,
    guardian_rows,
    opened,
    saved_guardians,
)
from vouch.core.b64url import b64url_decode, b64url_encode
from vouch.core.contacts import answer_message, fingerprint, verification_code
from vouch.core.kinds import CONTACT
from vouch.dialog.account_screens import AccountScreens
from vouch.dialog.api import ApiError
from vouch.dialog.embed import Launch
from vouch.dialog.errors import NetworkError, WebAuthnError
from vouch.dialog.kinds import REGISTRY, contact, link_in
from vouch.dialog.kinds.base import LinkStep
from vouch.dialog.kinds.contact import asking, builders, helping
from vouch.dialog.recovery_screens import RecoveryScreens
from vouch.dialog.shell import Arrival
from vouch.dialog.welcome import Welcome

BOB = "acct-bob"
CAROL = "acct-carol"
ALICE = "acct-alice"
ALLOWED = [{"type": "public-key", "id": "Y3I"}]  # the contact's own sign-in passkeys
ANSWER_OPTIONS: dict[str, Any] = {
    "challenge_id": "ans-1",
    "challenge": b64url_encode(bytes(range(32))),
    "account": "acct-1",
    "options": {"rpId": "localhost", "allowCredentials": ALLOWED},
}


def person(account: str, username: str, status: str) -> dict[str, Any]:
    return {
        "account": account,
        "username": username,
        "fingerprint": fingerprint(account),
        "status": status,
        "created_at": ADDED,
        "answered_at": None,
    }


def with_contacts(api: FakeApi, **contacts: Any) -> FakeApi:
    api.answers[("GET", "/api/contacts")] = {**NO_CONTACTS, **contacts}
    api.answers[("POST", "/api/contacts/options")] = ANSWER_OPTIONS
    return api


def section(screen: FakeScreen, slot: str) -> list[str]:
    return [item.text("[data-slot=text]") for item in screen.items.get(slot, [])]


# Pure builders --------------------------------------------------------------------------


def test_the_entry_names_the_contacts_account_and_nothing_else() -> None:
    entry = contact.build_entry(BOB, label="Bob")
    assert tuple(entry) == CONTACT.entry_fields
    assert entry["account"] == BOB
    assert REGISTRY[CONTACT.name] is contact.DIALOG


def test_an_answer_signs_the_answer_message_and_a_help_approval_the_recovery_message() -> None:
    options = contact.answer_options(ANSWER_OPTIONS, ALICE, "accept")
    message = answer_message("acct-1", ALICE, "accept", bytes(range(32)))
    assert b64url_decode(options["challenge"]) == hashlib.sha256(message).digest()
    assert options["allowCredentials"] == ALLOWED
    assert contact.answer_options(ANSWER_OPTIONS, ALICE, "decline") != options

    recovery = b"vouch/v1/recovery\n{}"
    opened = {"message": b64url_encode(recovery), "options": {"rpId": "localhost"}}
    challenge = contact.help_options(opened)["challenge"]
    assert b64url_decode(challenge) == hashlib.sha256(recovery).digest()


def test_a_typed_code_is_its_six_digits_or_nothing() -> None:
    assert contact.typed_code(" 042 917 ") == "042917"
    assert contact.typed_code("042-917") == "042917"
    assert contact.typed_code("04291") == ""
    assert contact.typed_code("0429170") == ""


def test_the_words_name_the_contact_by_label_only_when_it_says_more() -> None:
    assert builders.who({"label": CONTACT.label}) == "your trusted contact"
    assert builders.who({"label": "Bob"}) == "Bob"
    assert builders.status_line("waiting", "Bob") == "Waiting for Bob to open the link…"
    assert builders.status_line("declined", "your trusted contact").startswith(
        "Your trusted contact declined."
    )
    assert builders.wrong_code_message("That code is not right.", 4) == (
        "That code is not right. 4 tries left."
    )
    assert builders.wrong_code_message("Wrong: 1 try left.", 1) == "Wrong: 1 try left."
    assert builders.attachment_of({"authenticatorAttachment": "platform"}) == "platform"
    assert builders.attachment_of({"authenticatorAttachment": "other"}) is None
    assert builders.qr_svg_data_uri("http://localhost/dialog.html#help=x").startswith(
        "data:image/svg+xml"
    )


def test_the_help_link_is_found_by_its_fragment_key() -> None:
    found = link_in({"help": "tok-1"})
    assert found is not None
    link, value = found
    assert (link.key, value) == ("help", "tok-1")
    assert link_in({}) is None
    assert link_in({"help": ""}) is None


# The owner: invite, wait, confirm --------------------------------------------------------


def invite(shell: FakeShell, name: str) -> FakeScreen:
    add_button(shell.current(), "Add trusted contact").click()
    shell.settle()
    screen = shell.current()
    assert screen.template_id == "tpl-contact-invite"
    screen.set_value("#contact-username", name)
    screen.submit("[data-form=contact-invite]")
    return screen


def test_inviting_sends_the_name_and_the_account_screen_says_what_comes_next() -> None:
    api = with_contacts(account_api())
    api.answers[("POST", "/api/contacts/invite")] = {"contact": person(BOB, "bob", "pending")}
    shell, _ = opened(api)
    invite(shell, " Bob ")
    api.answers[("GET", "/api/contacts")] = {
        **NO_CONTACTS,
        "invited": [person(BOB, "bob", "pending")],
    }
    shell.settle()
    assert api.sent("/api/contacts/invite") == [{"username": "bob"}]
    account = shell.current()
    assert account.template_id == "tpl-account"
    assert account.text("[data-slot=notice]") == (
        "Invitation sent to bob. When they accept, confirm them here."
    )
    assert section(account, "[data-slot=contact-invited]") == [
        "Waiting for bob to accept your invitation."
    ]
    (item,) = account.items["[data-slot=contact-invited]"]
    assert item.find("button").attrs["aria-label"] == "Withdraw invitation to bob"


def test_an_invitation_to_oneself_or_to_no_name_is_refused_before_anything_is_sent() -> None:
    shell, _ = opened(with_contacts(account_api()))
    invite(shell, "Alice")
    assert shell.alert == "That is your own account: invite someone you trust."
    shell.current().set_value("#contact-username", "  ")
    shell.current().submit("[data-form=contact-invite]")
    assert shell.alert == "Enter an account name."
    assert shell.api.sent("/api/contacts/invite") == []


def test_an_unknown_name_keeps_what_was_typed_and_says_why() -> None:
    api = with_contacts(account_api())
    api.answers[("POST", "/api/contacts/invite")] = ApiError(
        400, "unknown_contact", "No vouch account is named bobb."
    )
    shell, _ = opened(api)
    invite(shell, "bobb")
    shell.settle()
    again = shell.current()
    assert again.template_id == "tpl-contact-invite"
    assert again.value("#contact-username") == "bobb"
    assert shell.alert == "No vouch account is named bobb."


def test_each_invitation_says_where_it_stands() -> None:
    invited = [
        person(BOB, "bob", "accepted"),
        person(CAROL, "carol", "declined"),
        person("acct-dave", "dave", "removed"),
    ]
    shell, _ = opened(with_contacts(account_api(), invited=invited))
    account = shell.current()
    assert section(account, "[data-slot=contact-invited]") == [
        "bob accepted. Confirm them as a guardian, after they read you their fingerprint.",
        "carol declined your invitation.",
        "dave is no longer your contact.",
    ]
    buttons = [item.find("button") for item in account.items["[data-slot=contact-invited]"]]
    assert buttons[0].text_content == "Confirm bob as guardian"
    assert [button.hidden for button in buttons] == [False, True, True]
    # Nothing asked of this account: no fingerprint to read out, no answer to prefetch.
    assert account.find("[data-slot=contact-fingerprint]").hidden
    assert shell.api.sent("/api/contacts/options") == []


def test_confirming_shows_the_fingerprint_of_the_account_id_it_adds() -> None:
    # The server names Bob with another fingerprint: the dialog shows the one of the id the
    # change adds, never the server's word for it.
    accepted = {**person(BOB, "bob", "accepted"), "fingerprint": "XXXX-XXXX"}
    api = with_contacts(account_api(), invited=[accepted])
    shell, _ = opened(api)
    (item,) = shell.current().items["[data-slot=contact-invited]"]
    item.click("button")
    screen = shell.current()
    assert screen.template_id == "tpl-contact-confirm"
    assert screen.text("h2") == "Confirm bob as guardian"
    assert screen.text("[data-slot=summary]").startswith(
        f"Ask bob to read you their fingerprint: {fingerprint(BOB)}. It must match before "
        "you confirm."
    )
    assert screen.text("[data-slot=fingerprint]") == fingerprint(BOB)
    assert "XXXX-XXXX" not in screen.text("[data-slot=summary]")
    assert shell.page.got == []
    screen.set_value("#contact-label", "  my brother ")
    screen.submit("[data-form=contact-confirm]")
    assert len(shell.page.got) == 1  # the passkey prompt started inside the click
    shell.settle()
    (body,) = api.sent("/api/guardians")
    saved = body["config"]["guardians"][-1]
    assert tuple(saved) == CONTACT.entry_fields
    assert (saved["kind"], saved["label"], saved["account"]) == (CONTACT.name, "my brother", BOB)
    confirmed_config(shell, body["config"])
    assert body["challenge_id"] == SAVE_OPTIONS["challenge_id"]
    assert shell.current().text("[data-slot=notice]") == "bob is now a guardian."


def test_a_contact_confirmed_without_a_name_gets_the_kinds_label() -> None:
    api = with_contacts(account_api(), invited=[person(BOB, "bob", "accepted")])
    shell, _ = opened(api)
    shell.current().items["[data-slot=contact-invited]"][0].click("button")
    shell.current().submit("[data-form=contact-confirm]")
    shell.settle()
    (body,) = api.sent("/api/guardians")
    assert body["config"]["guardians"][-1]["label"] == CONTACT.label


def test_a_dismissed_confirmation_keeps_the_name_typed_and_stores_nothing() -> None:
    api = with_contacts(account_api(), invited=[person(BOB, "bob", "accepted")])
    shell, _ = opened(api)
    shell.current().items["[data-slot=contact-invited]"][0].click("button")
    shell.page.credential = WebAuthnError("NotAllowedError", "dismissed")
    shell.current().set_value("#contact-label", "a friend")
    shell.current().submit("[data-form=contact-confirm]")
    shell.settle()
    again = shell.current()
    assert again.template_id == "tpl-contact-confirm"
    assert again.value("#contact-label") == "a friend"
    assert api.sent("/api/guardians") == []
    again.click("[data-action=back]")
    assert shell.current().template_id == "tpl-account"


def test_a_contact_guardian_names_its_person_and_says_when_it_no_longer_counts() -> None:
    guardians = [
        *saved_guardians(),
        {"id": "g-bob", "kind": CONTACT.name, "label": CONTACT.label, "account": BOB},
        {"id": "g-carol", "kind": CONTACT.name, "label": "Carol", "account": CAROL},
    ]
    guardians[2:] = [{**guardian, "created_at": ADDED} for guardian in guardians[2:]]
    invited = [person(BOB, "bob", "accepted"), person(CAROL, "carol", "removed")]
    shell, _ = opened(with_contacts(account_api(guardians), invited=invited))
    account = shell.current()
    assert guardian_rows(account)[2:] == [
        ("Trusted contact", "bob · added 2023-11-14"),
        (
            "Trusted contact",
            "Carol · carol · no longer your contact, so this guardian does not count: "
            "remove it · added 2023-11-14",
        ),
    ]
    # An accepted contact who is a guardian already needs nothing more in the list.
    assert section(account, "[data-slot=contact-invited]") == ["carol is no longer your contact."]


def test_withdrawing_an_invitation_reloads_the_account() -> None:
    api = with_contacts(account_api(), invited=[person(BOB, "bob", "pending")])
    api.answers[("POST", "/api/contacts/withdraw")] = {"ok": True}
    shell, _ = opened(api)
    shell.current().items["[data-slot=contact-invited]"][0].click("button")
    api.answers[("GET", "/api/contacts")] = NO_CONTACTS
    shell.settle()
    assert api.sent("/api/contacts/withdraw") == [{"account": BOB}]
    assert shell.current().text("[data-slot=notice]") == "The invitation to bob is withdrawn."
    assert shell.current().items.get("[data-slot=contact-invited]") is None


def test_an_account_screen_works_without_the_contacts_api() -> None:
    api = account_api()
    api.answers[("GET", "/api/contacts")] = ApiError(404, "not_found", "Not found.")
    shell, _ = opened(api)
    assert shell.current().find("[data-slot=parts]").children == []


# The contact: invitations and whom they vouch for ----------------------------------------


def test_an_invitation_is_answered_with_a_passkey_over_the_answer_message() -> None:
    api = with_contacts(
        account_api(),
        vouching_for=[{"account": ALICE, "username": "alice2", "status": "pending"}],
    )
    api.answers[("POST", "/api/contacts/answer")] = {"owner": None}
    shell = FakeShell(api)
    screens = AccountScreens(shell)
    screens.open({"account": "acct-1", "username": "alice", "token": "t", "session": "s"})
    shell.settle()
    account = shell.current()
    (item,) = account.items["[data-slot=contact-vouching]"]
    assert item.text("[data-slot=text]").startswith("alice2 asks you to be their trusted contact.")
    assert item.find("[data-action=accept]").attrs["aria-label"] == "Accept alice2's invitation"
    assert not account.find("[data-slot=contact-fingerprint]").hidden
    assert fingerprint("acct-1") in account.text("[data-slot=contact-fingerprint]")
    assert not item.find("[data-action=accept]").disabled  # its options came before the click
    item.click("[data-action=accept]")
    (options,) = shell.page.got  # started inside the click
    message = answer_message("acct-1", ALICE, "accept", bytes(range(32)))
    assert b64url_decode(options["challenge"]) == hashlib.sha256(message).digest()
    api.answers[("GET", "/api/contacts")] = {
        **NO_CONTACTS,
        "vouching_for": [{"account": ALICE, "username": "alice2", "status": "accepted"}],
    }
    shell.settle()
    assert api.sent("/api/contacts/answer") == [
        {
            "challenge_id": "ans-1",
            "owner": ALICE,
            "answer": "accept",
            "assertion": shell.page.credential,
        }
    ]
    account = shell.current()
    assert account.text("[data-slot=notice]").startswith("You are now alice2's trusted contact.")
    assert section(account, "[data-slot=contact-vouching]") == ["You vouch for alice2."]
    (item,) = account.items["[data-slot=contact-vouching]"]
    assert item.text("button") == "Stop being alice2's contact"
    item.click("button")
    shell.settle()
    assert [body["answer"] for body in api.sent("/api/contacts/answer")] == ["accept", "remove"]
    assert shell.current().text("[data-slot=notice]") == "You are no longer alice2's contact."


def test_an_answer_clicked_before_its_options_arrive_waits_for_them() -> None:
    api = with_contacts(
        account_api(),
        vouching_for=[{"account": ALICE, "username": "alice2", "status": "pending"}],
    )
    api.answers[("POST", "/api/contacts/options")] = ApiError(503, "down", "Try again.")
    shell, screens = opened(api)
    (item,) = shell.current().items["[data-slot=contact-vouching]"]
    assert item.find("[data-action=decline]").disabled
    api.answers[("POST", "/api/contacts/options")] = ANSWER_OPTIONS
    shell.settle()
    shell.spawn(screens.prefetch())
    shell.settle()
    assert not item.find("[data-action=decline]").disabled


def test_a_dismissed_passkey_prompt_answers_nothing() -> None:
    api = with_contacts(
        account_api(),
        vouching_for=[{"account": ALICE, "username": "alice2", "status": "pending"}],
    )
    shell, _ = opened(api)
    shell.page.credential = WebAuthnError("NotAllowedError", "dismissed")
    shell.current().items["[data-slot=contact-vouching]"][0].click("[data-action=decline]")
    shell.settle()
    assert api.sent("/api/contacts/answer") == []
    assert shell.current().template_id == "tpl-account"
    assert shell.alert is not None
    assert shell.alert.startswith("No passkey was used")


# The contact: a help request --------------------------------------------------------------

RECOVERY_MESSAGE = b"vouch/v1/recovery\n" + b'{"account":"acct-alice"}'
CODE = verification_code(RECOVERY_MESSAGE)
OPENED: dict[str, Any] = {
    "request_id": "tok-1",
    "username": "alice2",
    "created_at": 1_800_000_000,
    "expires_at": 1_800_000_900,
    "device": "Chrome on Linux",
    "authenticator": "platform",
    "message": b64url_encode(RECOVERY_MESSAGE),
    "options": {"rpId": "localhost", "allowCredentials": ALLOWED},
    "status": "opened",
}


def helping_shell(**answers: Any) -> tuple[FakeShell, list[str]]:
    api = FakeApi(
        {
            ("POST", "/api/contact-requests/open"): OPENED,
            ("POST", "/api/contact-requests/approve"): {"ok": True, "username": "alice2"},
            ("POST", "/api/contact-requests/decline"): {"ok": True},
        }
    )
    api.answers.update({("POST", path): answer for path, answer in answers.items()})
    shell = FakeShell(api)
    done: list[str] = []
    helping.answer(shell, "tok-1", done=lambda: done.append("account"))
    shell.settle()
    return shell, done


def test_a_help_request_says_who_asks_when_from_where_and_with_what() -> None:
    shell, _ = helping_shell()
    assert shell.api.sent("/api/contact-requests/open") == [{"request_id": "tok-1"}]
    screen = shell.current()
    assert screen.template_id == "tpl-contact-help"
    assert screen.text("h2") == "alice2 asks for your help"
    facts = [li.text_content for li in screen.find("[data-slot=facts]").children]
    assert facts == [
        "Asked on 2027-01-15 at 08:00 UTC, from Chrome on Linux.",
        "Their new passkey is on the device they are using (a phone or computer).",
        "The request is open until 2027-01-15 at 08:15 UTC.",
    ]
    assert screen.text("[data-slot=code-label]") == "Code alice2 reads to you"


def test_approving_needs_the_code_and_signs_the_recovery_message() -> None:
    shell, done = helping_shell()
    screen = shell.current()
    screen.set_value("#help-code", "12")
    screen.submit("[data-form=help-code]")
    assert shell.alert == "Type the six digits alice2 reads to you."
    assert shell.page.got == []  # no code, no passkey prompt
    screen.set_value("#help-code", CODE)
    screen.submit("[data-form=help-code]")
    (options,) = shell.page.got
    assert b64url_decode(options["challenge"]) == hashlib.sha256(RECOVERY_MESSAGE).digest()
    assert options["allowCredentials"] == ALLOWED
    shell.settle()
    assert shell.api.sent("/api/contact-requests/approve") == [
        {"request_id": "tok-1", "code": CODE.replace(" ", ""), "assertion": shell.page.credential}
    ]
    finished = shell.current()
    assert finished.template_id == "tpl-contact-help-done"
    assert finished.text("h2") == "You vouched for alice2"
    finished.click("[data-action=continue]")
    assert done == ["account"]


def test_a_wrong_code_is_the_servers_refusal_with_the_tries_left_and_stays_typed() -> None:
    shell, _ = helping_shell(
        **{
            "/api/contact-requests/approve": ApiError(
                400, "contact_code_wrong", "That is not the code.", {"attempts_left": 4}
            )
        }
    )
    shell.current().set_value("#help-code", "111 111")
    shell.current().submit("[data-form=help-code]")
    shell.settle()
    again = shell.current()
    assert again.template_id == "tpl-contact-help"
    assert again.value("#help-code") == "111 111"
    assert again.focused == "#help-code"
    assert shell.alert == "That is not the code. 4 tries left."


@pytest.mark.parametrize(
    "code",
    ["help_request_closed", "not_your_request", "contact_recently_recovered", "not_a_contact"],
)
def test_a_request_that_cannot_be_answered_says_why_plainly(code: str) -> None:
    refusal = ApiError(403, code, f"The server's words for {code}.")
    shell, done = helping_shell(**{"/api/contact-requests/open": refusal})
    screen = shell.current()
    assert screen.template_id == "tpl-contact-help-done"
    assert screen.text("h2") == "This request cannot be answered"
    assert screen.text("[data-slot=text]") == f"The server's words for {code}."
    screen.click("[data-action=continue]")
    assert done == ["account"]


def test_declining_sends_no_code_and_no_assertion() -> None:
    shell, _ = helping_shell()
    shell.current().set_value("#help-code", CODE)
    shell.current().click("[data-action=decline]")
    shell.settle()
    assert shell.api.sent("/api/contact-requests/decline") == [{"request_id": "tok-1"}]
    assert shell.page.got == []
    assert shell.current().text("h2") == "You declined"


def test_a_help_link_asks_to_sign_in_first_then_opens_the_request() -> None:
    shell = FakeShell(FakeApi({("POST", "/api/contact-requests/open"): OPENED}))
    signed: list[str] = []

    def sign_in(then: Any, on_error: Any) -> None:
        signed.append("passkey")
        then()

    step = LinkStep(value="tok-1", sign_in=sign_in, done=lambda: None, leave=lambda: None)
    helping.open_link(shell, step)
    intro = shell.current()
    assert intro.template_id == "tpl-contact-help-signin"
    assert shell.api.requests == []  # nobody is named before the contact signs in
    intro.click("[data-action=signin]")
    shell.settle()
    assert signed == ["passkey"]
    assert shell.current().text("h2") == "alice2 asks for your help"


def test_requests_on_the_account_screen_open_the_same_screen() -> None:
    request = {**OPENED, "status": "waiting"}
    api = with_contacts(account_api(), requests=[request])
    api.answers[("POST", "/api/contact-requests/open")] = OPENED
    shell, _ = opened(api)
    (item,) = shell.current().items["[data-slot=contact-requests]"]
    assert item.text("[data-slot=text]").startswith("alice2 asks you to approve their recovery")
    assert item.find("button").attrs["aria-label"] == "Open alice2's request"
    item.click("button")
    shell.settle()
    assert shell.current().template_id == "tpl-contact-help"
    shell.current().click("[data-action=back]")
    shell.settle()
    assert shell.current().template_id == "tpl-account"


# The requester: the link, the code, the live status ---------------------------------------

GUARDIAN = {"id": "g-bob", "kind": CONTACT.name, "label": "Bob"}
PHRASE_GUARDIAN = saved_guardians()[0]
LINK = "http://localhost:8000/dialog.html#help=tok-1"


@pytest.fixture(autouse=True)
def no_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(asking, "POLL_SECONDS", 0)


def statuses(*answers: str | Exception) -> Any:
    """The status poll's answers in turn (the last one repeats)."""
    remaining: Iterator[str | Exception] = iter(answers)
    last: list[str | Exception] = [answers[-1]]

    def answer(_body: Any) -> dict[str, Any]:
        value = next(remaining, last[0])
        if isinstance(value, Exception):
            raise value
        return {"status": value}

    return answer


def asking_shell(
    *answers: str | Exception, threshold: int = 2
) -> tuple[FakeShell, RecoveryScreens]:
    shell, screens = recovering_shell(
        [GUARDIAN, PHRASE_GUARDIAN],
        threshold=threshold,
        answers={
            ("POST", "/api/recovery/contact/request"): {
                "request_id": "tok-1",
                "link": LINK,
                "expires_at": 4_000_000_000,
            },
            ("POST", "/api/recovery/contact/status"): statuses(*answers),
        },
    )
    assert screens.flow is not None
    assert screens.flow.credential is not None
    screens.flow.credential["authenticatorAttachment"] = "cross-platform"
    return shell, screens


def choose_contact(shell: FakeShell) -> None:
    (item,) = [
        i
        for i in shell.current().items["[data-slot=choices]"]
        if i.text("button") == "Ask a trusted contact (Bob)"
    ]
    item.click("button")


def test_the_requester_shows_the_link_its_qr_code_and_the_code_and_never_sends_the_code() -> None:
    shell, screens = asking_shell("waiting")
    shown: list[FakeScreen] = []

    def look_then_leave(_body: Any) -> dict[str, Any]:
        shown.append(shell.current())
        shell.current().click("[data-action=back]")
        return {"status": "waiting"}

    shell.api.answers[("POST", "/api/recovery/contact/status")] = look_then_leave
    choose_contact(shell)
    shell.settle()
    assert screens.flow is not None
    (request,) = shell.api.sent("/api/recovery/contact/request")
    assert request == {
        "recovery_id": "r1",
        "guardian_id": "g-bob",
        "new_credential": screens.flow.new_credential_json(),
        "authenticator": "cross-platform",
    }
    assert ("load_deferred", None) in shell.calls  # segno, for the QR code
    (screen,) = shown
    code = verification_code(screens.flow.message())
    assert screen.template_id == "tpl-recover-contact"
    assert screen.value("#contact-link") == LINK
    assert str(screen.attribute("[data-slot=qr]", "src")).startswith("data:image/svg+xml")
    assert screen.text("[data-slot=code-for]") == "Read this code to Bob when they ask:"
    assert screen.text("[data-slot=code]") == code
    assert screen.text("[data-slot=status]") == "Waiting for Bob to open the link…"
    screen.click("[data-action=copy]")
    shell.settle()
    assert shell.page.copied == [LINK]
    assert screen.text("[data-slot=copied]") == "Link copied."
    for _method, _path, body in shell.api.requests:
        assert code not in repr(body)
        assert code.replace(" ", "") not in repr(body)


def test_the_status_is_polled_until_the_contact_approves_and_then_it_counts() -> None:
    shell, screens = asking_shell("waiting", "opened", "approved")
    choose_contact(shell)
    texts: list[str] = []
    original = shell.api.answers[("POST", "/api/recovery/contact/status")]
    assert callable(original)

    def watching(body: Any) -> dict[str, Any]:
        texts.append(shell.current().text("[data-slot=status]"))
        return original(body)

    shell.api.answers[("POST", "/api/recovery/contact/status")] = watching
    shell.settle()
    assert texts == [
        "Waiting for Bob to open the link…",
        "Waiting for Bob to open the link…",
        "They opened it: Bob now asks you for the code.",
    ]
    assert screens.flow is not None
    assert screens.flow.recorded == {"g-bob"}
    assert screens.flow.approvals == {}  # nothing of the contact's is sent at execute
    guardians = shell.current()
    assert guardians.template_id == "tpl-recover-guardians"
    assert guardians.text("[data-slot=progress]") == "1 more approval needed."


def test_a_declined_request_says_so_and_offers_another_guardian() -> None:
    shell, screens = asking_shell("opened", "declined")
    choose_contact(shell)
    shell.settle()
    screen = shell.current()
    assert screen.template_id == "tpl-recover-contact"
    assert screen.text("[data-slot=status]") == "Bob declined. Choose another way to approve."
    assert screen.find("[data-slot=asking]").hidden
    assert screen.find("[data-action=back]").attrs["class"] == "primary"
    assert len(shell.api.sent("/api/recovery/contact/status")) == 2  # then it stopped
    screen.click("[data-action=back]")
    assert shell.current().template_id == "tpl-recover-guardians"
    assert screens.flow is not None
    assert screens.flow.recorded == set()


def test_leaving_stops_the_polling_and_coming_back_keeps_the_same_link() -> None:
    shell, screens = asking_shell("waiting")
    choose_contact(shell)
    original = shell.api.answers[("POST", "/api/recovery/contact/status")]
    assert callable(original)

    def leave_now(body: Any) -> dict[str, Any]:
        shell.current().click("[data-action=back]")
        return original(body)

    shell.api.answers[("POST", "/api/recovery/contact/status")] = leave_now
    shell.settle()
    assert shell.current().template_id == "tpl-recover-guardians"
    assert len(shell.api.sent("/api/recovery/contact/status")) == 1
    shell.api.answers[("POST", "/api/recovery/contact/status")] = statuses("approved")
    choose_contact(shell)
    shell.settle()
    # The contact may have the first link already: it was not replaced.
    assert len(shell.api.sent("/api/recovery/contact/request")) == 1
    assert screens.flow is not None
    assert screens.flow.recorded == {"g-bob"}


def test_a_dropped_connection_keeps_polling_and_an_ended_recovery_stops_it() -> None:
    shell, _ = asking_shell(
        NetworkError("offline"),
        ApiError(400, "challenge_expired", "This recovery has expired: start again."),
    )
    choose_contact(shell)
    shell.settle()
    assert len(shell.api.sent("/api/recovery/contact/status")) == 2
    assert shell.alert == "This recovery has expired: start again."
    assert shell.current().template_id == "tpl-recover-contact"


def test_an_authenticator_the_browser_did_not_name_is_left_out_of_the_request() -> None:
    shell, screens = asking_shell("approved")
    assert screens.flow is not None
    assert screens.flow.credential is not None
    del screens.flow.credential["authenticatorAttachment"]
    choose_contact(shell)
    shell.settle()
    (request,) = shell.api.sent("/api/recovery/contact/request")
    assert "authenticator" not in request


WELCOME_RESULT = {"account": "acct-1", "username": "alice", "token": "t", "session": "s"}


# A sign-in for a site, while someone waits for the contact's answer ------------------------


def signing_in_for_a_site(api: FakeApi) -> tuple[FakeShell, list[str]]:
    """The contact signs in from a host app's embedded dialog, which goes straight back."""
    launch = Launch(mode="signin", host_origin="https://host.example", display="popup", nonce="n")
    shell = FakeShell(api, launch=launch)
    finished: list[str] = []
    Welcome(shell, AccountScreens(shell)).arrive(
        WELCOME_RESULT, Arrival("signin"), lambda: finished.append("finished")
    )
    shell.settle()
    return shell, finished


def test_a_sign_in_for_a_site_first_says_who_waits_for_the_contacts_answer() -> None:
    request = {"request_id": "tok-1", "username": "alice2", "created_at": 1_800_000_000}
    api = with_contacts(
        account_api(),
        requests=[request],
        vouching_for=[person(CAROL, "carol", "pending"), person(ALICE, "alice2", "accepted")],
    )
    shell, finished = signing_in_for_a_site(api)
    screen = shell.current()
    assert screen.template_id == "tpl-asked"
    lines = [li.text_content for li in screen.find("[data-slot=asked-list]").children]
    assert lines == [
        "alice2 asks you to approve their recovery.",
        "carol invited you to be their trusted contact.",
    ]
    link = screen.find("a")
    assert (link.attrs["href"], link.attrs["target"]) == ("dialog.html", "_blank")
    assert "noopener" in link.attrs["rel"]
    assert finished == []
    screen.click("[data-action=continue]")
    assert finished == ["finished"]


def test_a_pending_recovery_is_said_first_and_then_who_waits() -> None:
    api = with_contacts(account_api(), vouching_for=[person(CAROL, "carol", "pending")])
    answer = api.answers[("GET", "/api/account")]
    assert isinstance(answer, dict)
    pending = {"recovery_id": "ref-1", "effective_at": 1_900_000_000, "created_at": 1}
    api.answers[("GET", "/api/account")] = {**answer, "pending_recoveries": [pending]}
    shell, finished = signing_in_for_a_site(api)
    assert shell.current().template_id == "tpl-pending-banner"
    shell.current().click("[data-action=continue]")
    assert shell.current().template_id == "tpl-asked"
    shell.current().click("[data-action=continue]")
    assert finished == ["finished"]


def test_nothing_waiting_and_answered_invitations_go_straight_back_to_the_site() -> None:
    api = with_contacts(account_api(), vouching_for=[person(ALICE, "alice2", "accepted")])
    shell, finished = signing_in_for_a_site(api)
    assert finished == ["finished"]
    assert shell.current().template_id != "tpl-asked"


def test_the_dialogs_own_page_shows_them_on_the_account_screen_instead() -> None:
    api = with_contacts(account_api(), vouching_for=[person(CAROL, "carol", "pending")])
    shell = FakeShell(api)  # the dialog's own page: no host site to go back to
    finished: list[str] = []
    Welcome(shell, AccountScreens(shell)).arrive(
        WELCOME_RESULT, Arrival("signin"), lambda: finished.append("finished")
    )
    shell.settle()
    assert finished == ["finished"]

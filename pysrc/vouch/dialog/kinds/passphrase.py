"""Passphrase guardians: a passphrase the user types, stretched by Argon2id into a key.

Setup refuses a weak passphrase (zxcvbn) before anything is derived, and offers a
generated one; the derivation parameters go into the entry, so they can be raised later.
"""

from __future__ import annotations

import contextlib

from vouch.core import keys, kinds
from vouch.core.b64url import b64url_encode
from vouch.core.errors import MalformedInput, WeakPassphrase
from vouch.core.kdf import Argon2Params
from vouch.core.passphrase import check_passphrase_strength, generate_passphrase
from vouch.crypto.provider import Provider
from vouch.dialog import messages
from vouch.dialog.kinds import _kit, _secret
from vouch.dialog.kinds.base import (
    Approval,
    ApprovalStep,
    Change,
    DialogKind,
    Guardian,
    SetupStep,
    new_entry,
    signed_approval,
)
from vouch.dialog.kit import PassphraseSheet
from vouch.dialog.shell import Screen, Shell

KIND = kinds.PASSPHRASE
PROMPT = _secret.SecretPrompt(
    heading="Enter your passphrase",
    label="Passphrase",
    input_type="password",
    autocomplete="current-password",
    checking="Checking your passphrase… this takes a few seconds.",
)

# Pure builders -------------------------------------------------------------------------


async def build_entry(
    provider: Provider,
    passphrase: str,
    *,
    account: str,
    label: str,
    params: Argon2Params | None = None,
) -> Guardian:
    """A passphrase guardian's entry: Argon2id with a fresh salt and `params` (the default
    is RFC 9106's second recommendation). Strength is the setup screen's to check."""
    params = params or Argon2Params()
    salt = await keys.new_salt(provider)
    key = await keys.derive_passphrase_key(
        provider, passphrase, salt=salt, account_id=account, params=params
    )
    return new_entry(
        KIND,
        label=label,
        public_key=b64url_encode(key.public_key),
        salt=b64url_encode(salt),
        kdf=params.to_dict(),
    )


async def derive_key(
    provider: Provider, guardian: Guardian, passphrase: str, *, account: str
) -> keys.GuardianKey:
    """The key behind a passphrase guardian, from its public descriptor and the passphrase."""
    return await keys.derive_passphrase_key(
        provider,
        passphrase,
        salt=_secret.salt_of(guardian),
        account_id=account,
        params=Argon2Params.from_dict(guardian["kdf"]),
    )


async def approval(
    provider: Provider, guardian: Guardian, passphrase: str, message: bytes, *, account: str
) -> Approval:
    """The passphrase's signature over one recovery message."""
    key = await derive_key(provider, guardian, passphrase, account=account)
    return await signed_approval(provider, KIND, guardian, key, message)


# Setup screen --------------------------------------------------------------------------


def setup(shell: Shell, step: SetupStep, typed: str = "") -> None:
    """The passphrase screen; `typed` is put back after a failure, so nothing is retyped."""
    screen = shell.show("tpl-passphrase")
    username = step.model.username
    if typed:
        screen.set_value("#passphrase", typed)
        _show_strength(screen, username)
    screen.on("#passphrase", "input", lambda: _show_strength(screen, username))
    screen.on("[data-action=generate]", "click", lambda: _generate(screen, username))
    screen.on("[data-action=toggle]", "click", lambda: _set_shown(screen, not _shown(screen)))
    screen.on("[data-action=copy]", "click", lambda: shell.spawn(_copy(shell, screen)))
    screen.on("[data-action=print]", "click", lambda: _print_sheet(shell, step, screen))
    screen.on_submit("[data-form=passphrase]", lambda: _add(shell, step, screen))
    screen.on("[data-action=back]", "click", step.back)
    # The Argon2id worker readies the derivation build_entry will ask for.
    shell.provider.prepare(Argon2Params().memory_kib)


def _show_strength(screen: Screen, username: str) -> None:
    text = screen.value("#passphrase")
    score, feedback = 0, ""
    if text.strip():
        try:
            score = check_passphrase_strength(text, account_name=username)
            feedback = "Good: this passphrase is hard to guess."
        except WeakPassphrase as exc:
            score, feedback = exc.score, messages.weak_passphrase_message(exc)
    screen.set_attribute("#strength-meter", "value", str(score))
    screen.set_text(
        "[data-slot=strength]", f"{messages.STRENGTH_WORDS[score]}. {feedback}" if text else ""
    )


def _generate(screen: Screen, username: str) -> None:
    screen.set_value("#passphrase", generate_passphrase(account_name=username))
    _set_shown(screen, True)
    screen.set_hidden("[data-slot=generated]", False)
    _show_strength(screen, username)


def _shown(screen: Screen) -> bool:
    return screen.attribute("#passphrase", "type") == "text"


def _set_shown(screen: Screen, shown: bool) -> None:
    """Show or hide what is typed. The button's name says what it will do (as GOV.UK's
    password input does), so it has no aria-pressed, whose name must not change; the
    status region says what happened."""
    screen.set_attribute("#passphrase", "type", "text" if shown else "password")
    screen.set_text("[data-action=toggle]", "Hide passphrase" if shown else "Show passphrase")
    screen.set_text(
        "[data-slot=status]",
        "Your passphrase is shown." if shown else "Your passphrase is hidden.",
    )


async def _copy(shell: Shell, screen: Screen) -> None:
    """Copy on the user's click only: the clipboard is theirs to hand the passphrase to a
    password manager; nothing else ever reads it."""
    passphrase = screen.value("#passphrase")
    if not passphrase:
        screen.set_text("[data-slot=status]", "Type or generate a passphrase first.")
        return
    copied = await shell.page.copy_text(passphrase)
    screen.set_text(
        "[data-slot=status]",
        "Passphrase copied." if copied else "Copying is blocked here: write it down instead.",
    )


def _print_sheet(shell: Shell, step: SetupStep, screen: Screen) -> None:
    """The passphrase sheet: the kit's words and a space to write it in, or the passphrase
    itself when the box is ticked (a printer keeps what it prints)."""
    sheet = PassphraseSheet(username=step.model.username, date=_kit.today(), site=shell.site)
    included = screen.checked("#sheet-include")
    screen.set_text("[data-slot=print-title]", sheet.heading)
    screen.set_text("[data-slot=print-date]", sheet.created)
    screen.set_text("[data-slot=print-purpose]", sheet.purpose)
    screen.set_text("[data-slot=print-how]", sheet.how)
    screen.set_text("[data-slot=print-write]", sheet.write_here(included))
    screen.set_text("[data-slot=print-passphrase]", screen.value("#passphrase") if included else "")
    screen.set_attribute(
        "[data-slot=print-passphrase]", "class", "write-here filled" if included else "write-here"
    )
    shell.page.print_page()


def _add(shell: Shell, step: SetupStep, screen: Screen) -> None:
    model = step.model
    passphrase = screen.value("#passphrase")
    try:
        check_passphrase_strength(passphrase, account_name=model.username)
    except ValueError as exc:
        shell.error(messages.input_message(exc))
        screen.focus("#passphrase")
        return

    async def derive() -> None:
        shell.show_busy("Securing your passphrase… this takes a few seconds.")
        await shell.page.next_paint()
        guardian = await build_entry(
            shell.provider,
            passphrase,
            account=model.account,
            label=model.default_label(KIND.name),
        )
        step.confirm(
            Change(
                config=model.adding([guardian]),
                heading="Add passphrase",
                summary="Your passphrase will get you back in if you lose your passkey. "
                "Your passkey confirms the change.",
                saved="Passphrase saved.",
                back=lambda: setup(shell, step),
            )
        )

    shell.run(derive, on_error=lambda: setup(shell, step, passphrase))


# Approval step -------------------------------------------------------------------------


def _ready(provider: Provider, guardian: Guardian) -> None:
    """Ready Argon2id while the user types (a malformed descriptor is reported later, by
    the derivation itself)."""
    with contextlib.suppress(MalformedInput, KeyError, TypeError):
        provider.prepare(Argon2Params.from_dict(guardian["kdf"]).memory_kib)


def approve(shell: Shell, step: ApprovalStep) -> None:
    _secret.ask(shell, step, PROMPT, approval, ready=_ready)


DIALOG = DialogKind(
    kind=KIND,
    add_text="Add passphrase",
    use_text="Use passphrase",
    ask_for=PROMPT.heading,
    setup=setup,
    approve=approve,
    deferred=True,  # zxcvbn
)

"""What the kinds proven by a typed secret share: the secret's screen and the signature.

Passphrases, recovery codes and backup codes all become an Ed25519 key in the page
(`vouch.core.keys`), which signs the recovery message; only the words, the derivation and
what may be readied while the user types differ.

Whatever goes wrong, what was typed stays in the field: a person who is locked out and
copying a code from paper should fix one character, not type 24 again. A mistyped code is
caught in the page before anything is sent, and the screen says where (and marks it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from vouch.core import crockford
from vouch.core.b64url import b64url_decode
from vouch.core.codes import RECOVERY_CODE
from vouch.core.errors import InvalidCode
from vouch.crypto.provider import Provider
from vouch.dialog import messages
from vouch.dialog.kinds.base import Approval, ApprovalStep, Guardian, Offer
from vouch.dialog.shell import Screen, Shell

# The groups a code is shown in (a recovery code's and a backup code's are the same size).
GROUP_SIZE = RECOVERY_CODE.group_size


@dataclass(frozen=True)
class SecretPrompt:
    """The words and input attributes of a kind's secret screen."""

    heading: str  # "Enter your passphrase"
    label: str  # the field's label, which is also its accessible name
    input_type: str  # "password" hides what is typed (and offers Show)
    autocomplete: str
    checking: str  # the busy text while the approval is made
    # A code's parser: a typo is refused in place, before anything is derived or sent.
    parse: Callable[[str], object] | None = field(default=None)


class SecretApproval(Protocol):
    """A kind's pure `approval`: what the user typed, signed over the recovery message."""

    def __call__(
        self,
        provider: Provider,
        guardian: Guardian,
        secret: str,
        message: bytes,
        /,
        *,
        account: str,
    ) -> Awaitable[Approval]: ...


def salt_of(guardian: Guardian) -> bytes:
    return b64url_decode(guardian["salt"], what="salt")


def marked(text: str, positions: tuple[int, ...]) -> list[tuple[str, bool]]:
    """The typed code in its groups, as runs of (text, looks wrong): `positions` count the
    symbols, separators not included, as `InvalidCode.positions` does."""
    symbols = [char.upper() for char in text if not crockford.is_separator(char)]
    runs: list[tuple[str, bool]] = []
    for index, char in enumerate(symbols):
        pieces = [("-", False)] if index and index % GROUP_SIZE == 0 else []
        for piece, wrong in [*pieces, (char, index in positions)]:
            if runs and runs[-1][1] == wrong:
                runs[-1] = (runs[-1][0] + piece, wrong)
            else:
                runs.append((piece, wrong))
    return runs


def ask(
    shell: Shell,
    step: ApprovalStep,
    prompt: SecretPrompt,
    sign: SecretApproval,
    *,
    ready: Callable[[Provider, Guardian], None] | None = None,
    typed: str | None = None,
) -> None:
    """The secret's screen, `typed` (or the step's) in the field; `ready` starts what the
    approval will wait for, meanwhile."""
    screen = shell.show("tpl-recover-secret")
    screen.set_text("h2", prompt.heading)
    screen.set_text("[data-slot=progress]", step.flow.progress_text())
    screen.set_text("label[for=secret]", prompt.label)
    screen.set_attribute("#secret", "type", prompt.input_type)
    screen.set_attribute("#secret", "autocomplete", prompt.autocomplete)
    screen.set_value("#secret", step.typed if typed is None else typed)
    screen.set_hidden("[data-action=rename]", not step.flow.refused)
    if prompt.input_type == "password":
        _offer_show(screen, prompt.label)
    offered: list[Offer] = []
    screen.on("[data-action=switch]", "click", lambda: _switch(screen, offered))
    screen.on_submit(
        "[data-form=secret]",
        lambda: _submit(shell, step, screen, prompt, sign, ready, offered),
    )
    screen.on("[data-action=rename]", "click", step.rename)
    screen.on("[data-action=back]", "click", step.back)
    screen.focus("#secret")
    if ready is not None:
        ready(shell.provider, step.guardian)


def _offer_show(screen: Screen, label: str) -> None:
    """Show/Hide for a typed passphrase: a long one is easier to get right when seen."""
    noun = label.lower()

    def toggle() -> None:
        shown = screen.attribute("#secret", "type") == "text"
        screen.set_attribute("#secret", "type", "password" if shown else "text")
        screen.set_text("[data-action=toggle]", f"Show {noun}" if shown else f"Hide {noun}")

    screen.set_text("[data-action=toggle]", f"Show {noun}")
    screen.set_hidden("[data-action=toggle]", False)
    screen.on("[data-action=toggle]", "click", toggle)


def _switch(screen: Screen, offered: list[Offer]) -> None:
    if offered:
        _text, open_step = offered[-1]
        open_step(screen.value("#secret"))


def _mistyped(
    shell: Shell,
    step: ApprovalStep,
    screen: Screen,
    exc: InvalidCode,
    secret: str,
    offered: list[Offer],
) -> None:
    """Say what looks wrong where the person is looking; the field keeps its text."""
    shell.error(messages.input_message(exc))
    screen.set_attribute("#secret", "aria-invalid", "true")
    screen.set_attribute("#secret", "aria-describedby", "error")
    screen.set_text("[data-slot=typed]", "")
    if exc.positions:
        for text, wrong in marked(secret, exc.positions):
            screen.append_text("[data-slot=typed]", "mark" if wrong else "span", text)
    screen.set_hidden("[data-slot=typed]", not exc.positions)
    offer = step.offer(exc.looks_like) if exc.looks_like else None
    offered[:] = [offer] if offer else []
    if offer is not None:
        screen.set_text("[data-action=switch]", offer[0])
    screen.set_hidden("[data-action=switch]", offer is None)
    screen.focus("#secret")


def _submit(
    shell: Shell,
    step: ApprovalStep,
    screen: Screen,
    prompt: SecretPrompt,
    sign: SecretApproval,
    ready: Callable[[Provider, Guardian], None] | None,
    offered: list[Offer],
) -> None:
    secret = screen.value("#secret")
    flow = step.flow
    if prompt.parse is not None:
        try:
            prompt.parse(secret)
        except InvalidCode as exc:
            _mistyped(shell, step, screen, exc, secret, offered)
            return

    def again() -> None:
        ask(shell, step, prompt, sign, ready=ready, typed=secret)

    async def approve() -> None:
        shell.show_busy(prompt.checking)
        await shell.page.next_paint()
        approval = await sign(
            shell.provider, step.guardian, secret, flow.message(), account=flow.account
        )
        await step.check(approval)

    # Refused by the server (the flow now offers "Change account name") or failed: the same
    # screen again, what was typed still in it, and the alert says why.
    shell.run(approve, on_error=again)

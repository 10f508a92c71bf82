"""What the kinds proven by a typed secret share: the secret's screen and the signature.

Passphrases, recovery codes and backup codes all become an Ed25519 key in the page
(`vouch.core.keys`), which signs the recovery message; only the words, the derivation and
what may be readied while the user types differ.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from vouch.core.b64url import b64url_decode
from vouch.crypto.provider import Provider
from vouch.dialog.kinds.base import Approval, ApprovalStep, Guardian
from vouch.dialog.shell import Screen, Shell


@dataclass(frozen=True)
class SecretPrompt:
    """The words and input attributes of a kind's secret screen."""

    heading: str  # "Enter your passphrase"
    label: str  # the field's label, which is also its accessible name
    input_type: str  # "password" hides what is typed
    autocomplete: str
    checking: str  # the busy text while the approval is made


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


def ask(
    shell: Shell,
    step: ApprovalStep,
    prompt: SecretPrompt,
    sign: SecretApproval,
    *,
    ready: Callable[[Provider, Guardian], None] | None = None,
) -> None:
    """The secret's screen; `ready` starts what the approval will wait for, meanwhile."""
    screen = shell.show("tpl-recover-secret")
    screen.set_text("h2", prompt.heading)
    screen.set_text("[data-slot=progress]", step.flow.progress_text())
    screen.set_text("label[for=secret]", prompt.label)
    screen.set_attribute("#secret", "type", prompt.input_type)
    screen.set_attribute("#secret", "autocomplete", prompt.autocomplete)
    screen.on_submit(
        "[data-form=secret]", lambda: _submit(shell, step, screen, prompt, sign, ready)
    )
    screen.on("[data-action=back]", "click", step.back)
    screen.focus("#secret")
    if ready is not None:
        ready(shell.provider, step.guardian)


def _submit(
    shell: Shell,
    step: ApprovalStep,
    screen: Screen,
    prompt: SecretPrompt,
    sign: SecretApproval,
    ready: Callable[[Provider, Guardian], None] | None,
) -> None:
    secret = screen.value("#secret")
    flow = step.flow

    async def approve() -> None:
        shell.show_busy(prompt.checking)
        await shell.page.next_paint()
        approval = await sign(
            shell.provider, step.guardian, secret, flow.message(), account=flow.account
        )
        await step.check(approval)

    def failed() -> None:
        ask(shell, step, prompt, sign, ready=ready)

    shell.run(approve, on_error=failed)

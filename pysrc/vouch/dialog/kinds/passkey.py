"""Passkey guardians: a second passkey or security key, proven by a WebAuthn assertion.

The server registers the credential when it is added (it holds its public key); the entry
only names it. A recovery asks it for an assertion whose challenge is SHA-256 of the
recovery message, so the assertion approves that one recovery and nothing else.
"""

from __future__ import annotations

from typing import Any

from vouch.core import kinds
from vouch.core.b64url import b64url_encode
from vouch.core.messages import webauthn_challenge_for
from vouch.dialog.api import ApiClient
from vouch.dialog.kinds.base import (
    Approval,
    ApprovalStep,
    Change,
    DialogKind,
    Guardian,
    SetupStep,
    approval_of,
    new_entry,
)
from vouch.dialog.shell import Shell

KIND = kinds.PASSKEY
ASK_FOR = "Use your other passkey or security key"

# Pure builders -------------------------------------------------------------------------


def build_entry(credential_id: str, *, label: str) -> Guardian:
    """A passkey guardian's entry, for a credential the server has just registered."""
    return new_entry(KIND, label=label, credential_id=credential_id)


def request_options(guardian: Guardian, message: bytes, *, rp_id: str) -> dict[str, Any]:
    """WebAuthn request options for this guardian: its challenge is SHA-256(message).

    No allowCredentials: a recovery start does not name the guardian's credential (see
    `vouch.server.kinds.passkey`); the key is discoverable and the person picks it."""
    return {
        "challenge": b64url_encode(webauthn_challenge_for(message)),
        "rpId": rp_id,
        "allowCredentials": [],
        "userVerification": "required",
        "timeout": 120_000,
    }


def approval(guardian: Guardian, assertion: dict[str, Any]) -> Approval:
    """The approval of an assertion made with `request_options`."""
    return approval_of(KIND, guardian, assertion)


# Screens -------------------------------------------------------------------------------


async def prepare(api: ApiClient) -> dict[str, Any]:
    return await api.guardian_passkey_options()


def setup(shell: Shell, step: SetupStep) -> None:
    """Register the other passkey at once: the click itself starts the ceremony."""
    prefetched = step.prepared
    if prefetched is None:
        shell.error("Still preparing: try again in a moment.")
        shell.spawn(step.refetch())
        return
    ceremony = shell.page.start_create(prefetched["options"])

    async def register() -> None:
        shell.show_busy(f"{ASK_FOR} now…")
        credential = await ceremony.credential()
        stored = await shell.api.add_guardian_passkey(prefetched["challenge_id"], credential)
        label = step.model.default_label(KIND.name)
        guardian = build_entry(stored["credential_id"], label=label)
        step.confirm(
            Change(
                config=step.model.adding([guardian]),
                heading="Add second passkey",
                summary="Your other passkey or security key is registered. It becomes a "
                "guardian once you confirm with the passkey you sign in with.",
                saved="Second passkey saved.",
            )
        )
        await step.refetch()

    def failed() -> None:
        step.back()
        shell.spawn(step.refetch())

    shell.run(register, on_error=failed)


def approve(shell: Shell, step: ApprovalStep) -> None:
    """Ask the other passkey for its assertion, started inside the click."""
    flow = step.flow
    options = request_options(step.guardian, flow.message(), rp_id=flow.rp_id)
    ceremony = shell.page.start_get(options)

    async def work() -> None:
        shell.show_busy(f"{ASK_FOR} now…")
        assertion = await ceremony.credential()
        await step.check(approval(step.guardian, assertion))

    shell.run(work, on_error=step.back)


DIALOG = DialogKind(
    kind=KIND,
    add_text="Add second passkey",
    use_text="Use other passkey",
    ask_for=ASK_FOR,
    setup=setup,
    approve=approve,
    prepare=prepare,
)

"""Recovery-code guardians: one high-entropy code, shown once in a kit, reusable.

The code's own bytes are the key material (no stretching: it has at least 125 bits).
"""

from __future__ import annotations

from vouch.core import codes, keys, kinds
from vouch.core.b64url import b64url_encode
from vouch.crypto.provider import Provider
from vouch.dialog.kinds import _kit, _secret
from vouch.dialog.kinds.base import (
    Approval,
    ApprovalStep,
    DialogKind,
    Guardian,
    SetupStep,
    new_entry,
    signed_approval,
)
from vouch.dialog.kit import RecoveryKit
from vouch.dialog.shell import Shell

KIND = kinds.RECOVERY_CODE
PROMPT = _secret.SecretPrompt(
    heading="Enter your recovery code",
    label="Recovery code",
    input_type="text",
    autocomplete="off",
    checking="Checking…",
    parse=codes.parse_recovery_code,
)
USE_TEXT = "Use recovery code"

# Pure builders -------------------------------------------------------------------------


async def build_entry(provider: Provider, code: str, *, account: str, label: str) -> Guardian:
    """A recovery-code guardian's entry, from the code as shown in the kit."""
    salt = await keys.new_salt(provider)
    key = await keys.derive_recovery_code_key(
        provider, codes.parse_recovery_code(code), salt=salt, account_id=account
    )
    return new_entry(
        KIND, label=label, public_key=b64url_encode(key.public_key), salt=b64url_encode(salt)
    )


async def derive_key(
    provider: Provider, guardian: Guardian, code: str, *, account: str
) -> keys.GuardianKey:
    """The key behind the guardian; a mistyped code raises InvalidCode before deriving."""
    salt = _secret.salt_of(guardian)
    return await keys.derive_recovery_code_key(
        provider, codes.parse_recovery_code(code), salt=salt, account_id=account
    )


async def approval(
    provider: Provider, guardian: Guardian, code: str, message: bytes, *, account: str
) -> Approval:
    """The code's signature over one recovery message."""
    key = await derive_key(provider, guardian, code, account=account)
    return await signed_approval(provider, KIND, guardian, key, message)


# Screens -------------------------------------------------------------------------------


def setup(shell: Shell, step: SetupStep) -> None:
    model = step.model
    kit = RecoveryKit(
        username=model.username,
        date=_kit.today(),
        kind=KIND,
        codes=(codes.new_recovery_code(),),
        site=shell.site,
        use_text=USE_TEXT,
        single_use=False,
    )

    async def build(provider: Provider) -> Guardian:
        label = model.default_label(KIND.name)
        return await build_entry(provider, kit.codes[0], account=model.account, label=label)

    _kit.show(shell, step, kit, build)


def approve(shell: Shell, step: ApprovalStep) -> None:
    _secret.ask(shell, step, PROMPT, approval)


DIALOG = DialogKind(
    kind=KIND,
    add_text="Add recovery code",
    use_text=USE_TEXT,
    ask_for=PROMPT.heading,
    setup=setup,
    approve=approve,
    deferred=True,  # segno, for the kit's QR code
)

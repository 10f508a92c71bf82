"""Recovery-code guardians: one high-entropy code, shown once in a kit, reusable.

The code's own bytes are the key material (no stretching: it has at least 125 bits).
"""

from __future__ import annotations

from vouch.core import codes, keys, kinds
from vouch.core.b64url import b64url_encode
from vouch.crypto.provider import Provider
from vouch.dialog.kinds import _kit, _secret
from vouch.dialog.kinds.base import (
    AccountModel,
    Approval,
    ApprovalStep,
    DialogKind,
    Guardian,
    Issued,
    SetupStep,
    new_entry,
    signed_approval,
)
from vouch.dialog.kit import RecoveryKit
from vouch.dialog.shell import Shell
from vouch.dialog.site import Site

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
CONFIRM_NOTE = "Your passkey confirms the change; the code is shown once it is saved."

# Pure builders -------------------------------------------------------------------------


async def build_entry(
    provider: Provider, code: str, *, account: str, label: str, replaces: str | None = None
) -> Guardian:
    """A recovery-code guardian's entry, from the code as shown in the kit (with the id of
    the guardian it `replaces`: a new code for a used one)."""
    salt = await keys.new_salt(provider)
    key = await keys.derive_recovery_code_key(
        provider, codes.parse_recovery_code(code), salt=salt, account_id=account
    )
    return new_entry(
        KIND,
        label=label,
        replaces=replaces,
        public_key=b64url_encode(key.public_key),
        salt=b64url_encode(salt),
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


def new_kit(username: str, site: Site) -> RecoveryKit:
    """A fresh code from the CSPRNG, in the kit it is shown in."""
    return RecoveryKit(
        username=username,
        date=_kit.today(),
        kind=KIND,
        codes=(codes.new_recovery_code(),),
        site=site,
        use_text=USE_TEXT,
        single_use=False,
    )


def setup(shell: Shell, step: SetupStep) -> None:
    model = step.model
    kit = new_kit(model.username, shell.site)

    async def build(provider: Provider) -> Guardian:
        label = model.default_label(KIND.name)
        return await build_entry(provider, kit.codes[0], account=model.account, label=label)

    summary = "A recovery code is one long code that gets you back in if you lose your passkey."
    _kit.add(shell, step, kit, build, summary=f"{summary} {CONFIRM_NOTE}")


async def renew(provider: Provider, model: AccountModel, used: Guardian, site: Site) -> Issued:
    """A new code for the guardian a recovery used: same id and label, so saving it
    replaces the old code, which then stops working."""
    kit = new_kit(model.username, site)
    guardian = await build_entry(
        provider, kit.codes[0], account=model.account, label=used["label"], replaces=used["id"]
    )
    return Issued(guardian=guardian, kit=kit)


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
    renew=renew,
)

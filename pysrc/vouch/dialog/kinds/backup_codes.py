"""Backup-code guardians: ten one-time codes, shown once in a kit, each its own key.

The codes share the guardian's salt (each is already high-entropy and distinct); the
server burns a code when a recovery that used it completes.
"""

from __future__ import annotations

from collections.abc import Sequence

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
from vouch.dialog.site import Site

KIND = kinds.BACKUP_CODES
PROMPT = _secret.SecretPrompt(
    heading="Enter one of your backup codes",
    label="Backup code",
    input_type="text",
    autocomplete="off",
    checking="Checking…",
    parse=codes.parse_backup_code,
)
USE_TEXT = "Use a backup code"

# Pure builders -------------------------------------------------------------------------


async def build_entry(
    provider: Provider,
    backup_codes: Sequence[str],
    *,
    account: str,
    label: str,
    replaces: str | None = None,
) -> Guardian:
    """A backup-codes guardian's entry: one public key per code, in the kit's order (with
    the id of the set it `replaces`, whose codes then stop working)."""
    salt = await keys.new_salt(provider)
    public_keys = []
    for code in backup_codes:
        key = await keys.derive_backup_code_key(
            provider, codes.parse_backup_code(code), salt=salt, account_id=account
        )
        public_keys.append(b64url_encode(key.public_key))
    return new_entry(
        KIND, label=label, replaces=replaces, salt=b64url_encode(salt), public_keys=public_keys
    )


async def derive_key(
    provider: Provider, guardian: Guardian, code: str, *, account: str
) -> keys.GuardianKey:
    """The key of one code; a mistyped code raises InvalidCode before deriving."""
    salt = _secret.salt_of(guardian)
    return await keys.derive_backup_code_key(
        provider, codes.parse_backup_code(code), salt=salt, account_id=account
    )


async def approval(
    provider: Provider, guardian: Guardian, code: str, message: bytes, *, account: str
) -> Approval:
    """One code's signature over one recovery message (the server finds which code)."""
    key = await derive_key(provider, guardian, code, account=account)
    return await signed_approval(provider, KIND, guardian, key, message)


# Screens -------------------------------------------------------------------------------


def new_kit(username: str, site: Site) -> RecoveryKit:
    """Ten fresh codes from the CSPRNG, in the kit they are shown in."""
    return RecoveryKit(
        username=username,
        date=_kit.today(),
        kind=KIND,
        codes=tuple(codes.new_backup_codes()),
        site=site,
        use_text=USE_TEXT,
        single_use=True,
    )


def setup(shell: Shell, step: SetupStep) -> None:
    """Ten new codes; an account keeps one set, so a second set replaces the first (same
    guardian id, new keys) and the old codes stop working when the change is saved."""
    model = step.model
    kit = new_kit(model.username, shell.site)
    old = next(iter(model.of_kind(KIND.name)), None)

    async def build(provider: Provider) -> Guardian:
        if old is None:
            label = model.default_label(KIND.name)
            return await build_entry(provider, kit.codes, account=model.account, label=label)
        return await build_entry(
            provider, kit.codes, account=model.account, label=old["label"], replaces=old["id"]
        )

    summary = (
        "Ten new backup codes replace your current ones, which stop working."
        if old is not None
        else "Ten backup codes, each good for one recovery, to print or keep offline."
    )
    _kit.add(
        shell,
        step,
        kit,
        build,
        summary=f"{summary} Your passkey confirms the change; the codes are shown once saved.",
    )


def approve(shell: Shell, step: ApprovalStep) -> None:
    _secret.ask(shell, step, PROMPT, approval)


DIALOG = DialogKind(
    kind=KIND,
    add_text="Add backup codes",
    use_text=USE_TEXT,
    ask_for=PROMPT.heading,
    setup=setup,
    approve=approve,
    deferred=True,  # segno, for the kit's QR code
    replace_text="Get new backup codes",
)

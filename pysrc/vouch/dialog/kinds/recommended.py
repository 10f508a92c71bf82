"""The recovery set-up the dialog recommends in one step: a recovery code and ten backup
codes, either of which is enough (1 of 2).

Why this pair: both are made in the page from the CSPRNG, so there is nothing to invent,
type or remember, and no Argon2id wait on a phone; both go into a kit that can be copied,
downloaded or printed in the same minute. They are meant for two different places (the
code in a password manager, the printed codes at home), so one loss, even of the phone
along with the password manager on it, is not a lockout. A passphrase is forgotten by the
time a recovery is needed, years later, and a second passkey needs hardware most people do
not have at sign-up; both remain on the account screen for those who want them.
"""

from __future__ import annotations

from vouch.crypto.provider import Provider
from vouch.dialog.kinds import backup_codes, recovery_code
from vouch.dialog.kinds.base import AccountModel, Issued
from vouch.dialog.site import Site

# What the offer says it sets up, in the order `build` issues them.
ITEMS = (
    "A recovery code: save it in your password manager.",
    "Ten backup codes, each good once: print them, or keep them offline at home.",
)


async def build(provider: Provider, model: AccountModel, site: Site) -> list[Issued]:
    """The pair's guardians (new ids, the kinds' labels) and their kits, in showing order."""
    code_kit = recovery_code.new_kit(model.username, site)
    codes_kit = backup_codes.new_kit(model.username, site)
    code = await recovery_code.build_entry(
        provider,
        code_kit.codes[0],
        account=model.account,
        label=model.default_label(recovery_code.KIND.name),
    )
    codes = await backup_codes.build_entry(
        provider,
        codes_kit.codes,
        account=model.account,
        label=model.default_label(backup_codes.KIND.name),
    )
    return [Issued(guardian=code, kit=code_kit), Issued(guardian=codes, kit=codes_kit)]

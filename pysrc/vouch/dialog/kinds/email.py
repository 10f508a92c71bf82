"""Email guardians in the dialog: a placeholder until the dialog side is written.

The server side of the kind is built (vouch.server.kinds.email); the dialog's registry needs
a module per kind of `vouch.core.kinds.KINDS`, so this one says the kind is not offered
here yet. The dialog's own module replaces it.
"""

from __future__ import annotations

from vouch.core import kinds
from vouch.dialog.kinds.base import ApprovalStep, DialogKind, Guardian, SetupStep, new_entry
from vouch.dialog.shell import Shell

KIND = kinds.EMAIL
NOT_YET = "Email guardians cannot be used from this dialog yet."


def build_entry(address: str, *, label: str) -> Guardian:
    """An email guardian's entry: the account's verified address, as the server stores it."""
    return new_entry(KIND, label=label, address=address)


def setup(shell: Shell, step: SetupStep) -> None:
    shell.error(NOT_YET)


def approve(shell: Shell, step: ApprovalStep) -> None:
    shell.error(NOT_YET)


DIALOG = DialogKind(
    kind=KIND,
    add_text="Add email",
    use_text="Use email",
    ask_for="Enter the code mailed to you",
    setup=setup,
    approve=approve,
    add_buttons=lambda config: [],  # not offered on the account screen until it works
)

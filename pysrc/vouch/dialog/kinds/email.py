"""Email guardians: a one-time code mailed to the owner's verified address, typed back.

The configuration names the address the owner verified (the server refuses any other);
a recovery asks the server to mail a code for this recovery, and the code typed back is
checked and recorded by the server itself (an out-of-band approval), so the page has
nothing of this guardian's to send at execute. A recovering user is never shown the
address, and an unknown name answers the same without mailing anyone.

Email is the weakest guardian: whoever reads the mailbox (or takes over the mail account)
can approve. The screens say so, and suggest it as one of two approvals, not alone.
"""

from __future__ import annotations

from vouch.core import kinds
from vouch.dialog.api import ApiError
from vouch.dialog.email_address import CODE_HINT, typed_code
from vouch.dialog.kinds.base import (
    AccountModel,
    AddButton,
    ApprovalStep,
    Change,
    DialogKind,
    Guardian,
    SetupStep,
    new_entry,
)
from vouch.dialog.shell import Shell

KIND = kinds.EMAIL
WEAKER = (
    "Email is weaker than your other guardians: anyone who can read this mailbox can use "
    "it to approve. Use it together with another guardian, with 2 approvals needed."
)

# Pure builders -------------------------------------------------------------------------


def build_entry(address: str, *, label: str) -> Guardian:
    """An email guardian's entry: the owner's verified address, signed in the change."""
    return new_entry(KIND, label=label, address=address)


def buttons(model: AccountModel | None) -> list[AddButton]:
    """One button, once the account has a verified address to send codes to."""
    if model is None or model.email is None:
        return []
    return [AddButton(text="Add email guardian", action="add-email")]


# Screens -------------------------------------------------------------------------------


def setup(shell: Shell, step: SetupStep) -> None:
    """Say plainly what email is worth, then confirm the change that adds it."""
    model = step.model
    if model.email is None:
        step.back()
        shell.error("Add and verify an email address first.")
        return
    address = model.email
    label = step.model.default_label(KIND.name)
    step.confirm(
        Change(
            config=model.adding([build_entry(address, label=label)]),
            heading="Add email guardian",
            summary=f"A recovery can mail a one-time code to {address}. {WEAKER}",
            saved="Email guardian saved.",
        )
    )


def approve(shell: Shell, step: ApprovalStep) -> None:
    """Ask the server to mail a code for this recovery, then take it back."""
    flow = step.flow
    guardian_id = str(step.guardian["id"])

    async def send() -> None:
        shell.show_busy("Sending a code…")
        await shell.api.recovery_email_send(str(flow.start["recovery_id"]), guardian_id)
        show_code()

    def show_code(typed: str = "") -> None:
        screen = shell.show("tpl-recover-email")
        screen.set_text("[data-slot=progress]", flow.progress_text())
        screen.set_value("#email-code", typed)
        screen.on("[data-action=resend]", "click", lambda: shell.run(send, on_error=show_code))
        screen.on("[data-action=back]", "click", step.back)
        screen.set_hidden("[data-action=rename]", not flow.refused)
        screen.on("[data-action=rename]", "click", step.rename)
        screen.on_submit("[data-form=email-code]", lambda: submit(screen.value("#email-code")))
        screen.focus("#email-code")

    def submit(typed: str) -> None:
        code = typed_code(typed)
        if not code:
            shell.error(CODE_HINT)
            return

        async def verify() -> None:
            shell.show_busy("Checking…")
            try:
                await shell.api.recovery_email_verify(
                    str(flow.start["recovery_id"]), guardian_id, code
                )
            except ApiError as exc:
                # A decoy's guardian refuses every code in the same words: perhaps the
                # account name is mistyped, so the screen offers to change it.
                flow.refused = flow.refused or exc.code == "approval_invalid"
                raise
            step.recorded(guardian_id)

        shell.run(verify, on_error=lambda: show_code(typed))

    shell.run(send, on_error=step.back)


DIALOG = DialogKind(
    kind=KIND,
    add_text="Add email guardian",
    use_text="Email me a code",
    ask_for="Enter the code we emailed",
    setup=setup,
    approve=approve,
    add_buttons=lambda _config, model: buttons(model),
)

"""Trusted contacts: another person, with their own vouch account, vouches for the owner.

The owner invites the contact by account name; the contact accepts (or declines) in their
own dialog with their own passkey; only then does the owner confirm them as a guardian,
with the usual passkey-confirmed change, after comparing the contact's fingerprint out of
band. In a recovery, the locked-out person sends the contact a link and reads them a code
derived from the recovery message; the contact opens the link, signs in, types the code
and approves with their passkey. The server records that approval for that recovery only
(out of band, as an emailed code's), so the page has nothing of it to send at execute.

It is a package, one module per person and moment: `builders` (pure), `people` (the account
screen: invitations both ways, help requests), `asking` (the requester's step) and
`helping` (the contact's answer to a help request).
"""

from __future__ import annotations

from vouch.dialog.kinds.base import DialogKind, Link
from vouch.dialog.kinds.contact import asking, helping, people
from vouch.dialog.kinds.contact.builders import (
    KIND,
    answer_options,
    build_entry,
    help_options,
    typed_code,
)

__all__ = ["DIALOG", "KIND", "answer_options", "build_entry", "help_options", "typed_code"]

DIALOG = DialogKind(
    kind=KIND,
    add_text="Add trusted contact",
    use_text="Ask a trusted contact",
    ask_for="Ask your trusted contact to approve",
    setup=people.setup,
    approve=asking.approve,
    account_part=people.ContactsPart,
    link=Link(key=helping.LINK_KEY, open=helping.open_link),
)

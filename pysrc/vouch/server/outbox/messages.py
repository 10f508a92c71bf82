"""The mails vouch sends, built with the standard library: plain text with an HTML
alternative saying the same, each naming the account, what happened, when (UTC), from where
(a coarse browser and OS) and what to do if it was not the owner.

A mail is built when it is sent, from the payload its outbox row keeps: the one-click
cancel link is signed then (vouch.server.cancel_links), so no usable link sits in the
database, and a retry builds the same mail with the same Message-ID.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any


@dataclass(frozen=True)
class Link:
    text: str
    url: str


Paragraph = str | Link


@dataclass(frozen=True)
class Site:
    """Who the mail is from, as the owner knows it: the site's name and the dialog's origin
    (also the domain of Message-IDs)."""

    name: str
    origin: str
    domain: str


def when(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M UTC")


def build(
    *,
    site: Site,
    sender: str,
    to: str,
    subject: str,
    paragraphs: list[Paragraph],
    message_id: str,
    at: int,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.fromtimestamp(at, UTC))
    message["Message-ID"] = f"<{message_id}@{site.domain}>"
    # RFC 3834: a message no one typed; well-behaved auto-responders do not answer it.
    message["Auto-Submitted"] = "auto-generated"
    footer = f"This message was sent by {site.name} ({site.origin}). Do not reply to it."
    text = [p if isinstance(p, str) else f"{p.text}:\n{p.url}" for p in paragraphs]
    message.set_content("\n\n".join([*text, "--", footer]) + "\n")
    parts = [
        f"<p>{html.escape(p)}</p>"
        if isinstance(p, str)
        else f'<p><a href="{html.escape(p.url)}">{html.escape(p.text)}</a></p>'
        for p in paragraphs
    ]
    body = "\n".join([*parts, f'<hr><p style="color:#666">{html.escape(footer)}</p>'])
    message.add_alternative(
        f'<!doctype html>\n<html><body style="font-family:sans-serif">\n{body}\n</body></html>\n',
        subtype="html",
    )
    return message


# One function per event: (subject, paragraphs) from the outbox payload ----------------------


CancelUrl = Callable[[str], str]


def _recovery_pending(site: Site, data: dict[str, Any], cancel_url: CancelUrl) -> Rendered:
    account = data["username"]
    return Rendered(
        f"A recovery of your {site.name} account {account} has started",
        [
            f"Someone started recovering the account {account} on {site.name} at"
            f" {when(data['at'])}, from {data['device']}, with the approval of"
            f" {_count(data['guardians'], 'guardian')}.",
            f"Unless it is cancelled, it takes effect at {when(data['effective_at'])}: a new"
            " passkey will sign in to the account, and your current passkeys will stop"
            " working.",
            "If it was you, there is nothing to do.",
            "If it was not you, cancel it now (the link works only for this recovery, until"
            " it takes effect), then sign in and replace the guardians that approved it:"
            " someone can use them.",
            Link("Cancel this recovery", cancel_url(data["recovery"])),
        ],
    )


def _recovery_completed(site: Site, data: dict[str, Any], cancel_url: CancelUrl) -> Rendered:
    account = data["username"]
    return Rendered(
        f"Your {site.name} account {account} was recovered",
        [
            f"The account {account} on {site.name} was recovered at {when(data['at'])}, from"
            f" {data['device']}, with the approval of {_count(data['guardians'], 'guardian')}."
            f" A new passkey was added and {_count(data['passkeys_revoked'], 'old passkey')}"
            " stopped working; every session was signed out.",
            "If it was you, there is nothing to do.",
            "If it was not you, someone holds enough of your guardians: recover the account"
            f" back with the guardians you still have, on {site.origin}, and replace the"
            " others. If you cannot, contact the site's support.",
        ],
    )


def _recovery_cancelled(site: Site, data: dict[str, Any], cancel_url: CancelUrl) -> Rendered:
    account = data["username"]
    how = "from the link in a mail" if data.get("via") == "mail" else "by a signed-in passkey"
    return Rendered(
        f"A recovery of your {site.name} account {account} was cancelled",
        [
            f"A pending recovery of the account {account} on {site.name} was cancelled"
            f" {how} at {when(data['at'])}, from {data['device']}. Nothing of the account"
            " changed.",
            "If you did not start that recovery, replace the guardians that approved it:"
            " someone can use them.",
        ],
    )


def _guardians_changed(site: Site, data: dict[str, Any], cancel_url: CancelUrl) -> Rendered:
    account = data["username"]
    labels = ", ".join(f"{g['label']} ({g['kind']})" for g in data["guardians"]) or "none"
    return Rendered(
        f"The recovery guardians of your {site.name} account {account} changed",
        [
            f"The guardians of the account {account} on {site.name} were changed at"
            f" {when(data['at'])}, from {data['device']}. A recovery now needs"
            f" {data['threshold']} of: {labels}.",
            "If it was you, there is nothing to do.",
            "If it was not you, someone signed in with one of your passkeys: sign in, put"
            " your guardians back, and if you cannot sign in, recover the account.",
        ],
    )


def _passkey_added(site: Site, data: dict[str, Any], cancel_url: CancelUrl) -> Rendered:
    account = data["username"]
    role = "a recovery guardian" if data.get("role") == "guardian" else "a sign-in passkey"
    return Rendered(
        f"A passkey was added to your {site.name} account {account}",
        [
            f"A passkey was added to the account {account} on {site.name} as {role} at"
            f" {when(data['at'])}, from {data['device']}.",
            "If it was you, there is nothing to do.",
            "If it was not you, someone signed in with one of your passkeys: sign in, remove"
            " what you did not add, and check your guardians.",
        ],
    )


def _passkey_removed(site: Site, data: dict[str, Any], cancel_url: CancelUrl) -> Rendered:
    account = data["username"]
    return Rendered(
        f"A passkey was removed from your {site.name} account {account}",
        [
            f"A passkey was removed from the account {account} on {site.name} at"
            f" {when(data['at'])}, from {data['device']}.",
            "If it was not you, someone signed in with one of your passkeys: sign in and"
            " check your passkeys and guardians, or recover the account.",
        ],
    )


def _email_changed(site: Site, data: dict[str, Any], cancel_url: CancelUrl) -> Rendered:
    # Mailed to the address being replaced: the new one gets the notices from now on.
    account = data["username"]
    return Rendered(
        f"Your {site.name} account {account} has a new email address",
        [
            f"The account {account} on {site.name} now sends its notices to"
            f" {data['address']} instead of this address: it was verified at"
            f" {when(data['at'])}, from {data['device']}.",
            "If it was you, there is nothing to do.",
            "If it was not you, someone signed in with one of your passkeys and can now hide"
            f" a recovery from you: sign in on {site.origin}, check your passkeys, guardians"
            " and recent activity, and put your own address back.",
        ],
    )


def _recovery_approved(site: Site, data: dict[str, Any], cancel_url: CancelUrl) -> Rendered:
    account = data["username"]
    return Rendered(
        f"A guardian approved a recovery of your {site.name} account {account}",
        [
            f'Your {data["kind"].lower()} guardian "{data["guardian"]}" approved a recovery'
            f" of the account {account} on {site.name} at {when(data['at'])}, from"
            f" {data['device']}: {data['how']}.",
            "If it was you, there is nothing to do.",
            "If it was not you, someone has what this guardian needs (for an email guardian,"
            f" the mailbox): sign in on {site.origin} to cancel the recovery if it is held,"
            " and replace that guardian.",
        ],
    )


def _contact_invited(site: Site, data: dict[str, Any], cancel_url: CancelUrl) -> Rendered:
    # Mailed to the person invited (the event's account is theirs): nothing to click here,
    # an answer needs their own passkey in their own dialog.
    return Rendered(
        f"{data['owner']} asks you to be their trusted contact on {site.name}",
        [
            f"{data['owner']} asked, at {when(data['at'])}, that your {site.name} account"
            f" {data['username']} be a trusted contact of theirs: someone who can help them"
            " get back into their account if they lose their passkeys.",
            f"To accept or decline, sign in on {site.origin}: the invitation waits there. If"
            f" you do not know {data['owner']}, decline it.",
            "A trusted contact is asked only when that person is locked out. You approve"
            " with your own passkey, after they read you a code, and you can stop at any"
            " time.",
        ],
    )


@dataclass(frozen=True)
class Rendered:
    subject: str
    paragraphs: list[Paragraph]


def _count(n: int, what: str) -> str:
    return f"{n} {what}" if n == 1 else f"{n} {what}s"


TEMPLATES: dict[str, Callable[[Site, dict[str, Any], CancelUrl], Rendered]] = {
    "recovery.pending": _recovery_pending,
    "recovery.completed": _recovery_completed,
    "recovery.cancelled": _recovery_cancelled,
    "guardians.changed": _guardians_changed,
    "passkey.added": _passkey_added,
    "passkey.removed": _passkey_removed,
    "recovery.approved": _recovery_approved,
    "contact.invited": _contact_invited,
    "email.changed": _email_changed,
}


def event_mail(
    *,
    site: Site,
    sender: str,
    to: str,
    event: str,
    event_id: str,
    data: dict[str, Any],
    cancel_url: CancelUrl,
) -> EmailMessage:
    rendered = TEMPLATES[event](site, data, cancel_url)
    return build(
        site=site,
        sender=sender,
        to=to,
        subject=rendered.subject,
        paragraphs=rendered.paragraphs,
        message_id=event_id,
        at=data["at"],
    )


def verification_mail(
    *,
    site: Site,
    sender: str,
    to: str,
    username: str,
    code: str,
    message_id: str,
    at: int,
    expires_at: int,
    device: str,
) -> EmailMessage:
    return build(
        site=site,
        sender=sender,
        to=to,
        subject=f"Your {site.name} verification code",
        paragraphs=[
            f"Enter this code to add this address to the account {username} on {site.name}:",
            code,
            f"It was asked for at {when(at)} from {device}, and works once, until"
            f" {when(expires_at)}.",
            "If you did not ask for it, ignore this mail: the address is not added without"
            " the code.",
        ],
        message_id=message_id,
        at=at,
    )


def recovery_code_mail(
    *,
    site: Site,
    sender: str,
    to: str,
    username: str,
    code: str,
    message_id: str,
    at: int,
    expires_at: int,
    device: str,
) -> EmailMessage:
    """The code an email guardian is sent for one recovery (`code` as shown, grouped)."""
    return build(
        site=site,
        sender=sender,
        to=to,
        subject=f"Your {site.name} account recovery code",
        paragraphs=[
            f"Someone is recovering the account {username} on {site.name}, and this address"
            " is one of its guardians. Enter this code in that recovery to approve it:",
            code,
            f"The recovery was started from {device}; the code was asked for at {when(at)}."
            f" It works once, for this recovery only, until {when(expires_at)}.",
            "If this was not you, ignore this mail and give the code to no one: without it"
            " this guardian approves nothing. Then sign in on"
            f" {site.origin} to check the account, and cancel a recovery you did not start.",
        ],
        message_id=message_id,
        at=at,
    )

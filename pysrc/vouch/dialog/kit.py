"""The recovery kit: what the user saves or prints, and its QR code (made with segno).

It is read months later by someone locked out, maybe on paper, so it says everything on
its own: the site (name and address, see `vouch.dialog.site`), the account, the date,
what the codes are for, where and how to use them, and, for one-time codes, a box to tick
off each used one. The passphrase sheet has the same words and a space to write the
passphrase, which is printed only when the user asks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vouch.core.kinds import Kind
from vouch.dialog.site import Site

KEEP_SAFE = "Keep this somewhere safe and private: with it, someone could take over your account."
OTHER_GUARDIANS = "If the account needs more than one approval, have your other guardians at hand."


def _recover_at(site: Site, username: str) -> str:
    return (
        f"Open {site.url} and choose \u201cRecover account\u201d. Enter the account name"
        f" {username} and create a new passkey"
    )


def _slug(text: str) -> str:
    return "-".join(re.findall(r"[a-z0-9]+", text.lower()))[:40].strip("-")


@dataclass(frozen=True)
class RecoveryKit:
    username: str
    date: str  # ISO date, as printed on the kit
    kind: Kind
    codes: tuple[str, ...]
    site: Site
    use_text: str  # the recovery screen's choice for this kind ("Use a backup code")
    single_use: bool  # each code works once: a box to tick off each one

    @property
    def title(self) -> str:
        return self.kind.label

    @property
    def noun(self) -> str:
        return "code" if len(self.codes) == 1 else "codes"

    @property
    def heading(self) -> str:
        """The kit's first line: which codes, which account, on which site."""
        return f"{self.title} for {self.username} at {self.site.title}"

    @property
    def created(self) -> str:
        return f"Created {self.date}"

    @property
    def purpose_title(self) -> str:
        return "What it is for" if len(self.codes) == 1 else "What they are for"

    @property
    def how_title(self) -> str:
        return "How to use it" if len(self.codes) == 1 else "How to use one"

    @property
    def purpose(self) -> str:
        these = "This code gets" if len(self.codes) == 1 else "These codes get"
        return (
            f"{these} you back into the account {self.username} at {self.site.name} if you"
            " lose your passkey (your phone or security key)."
        )

    @property
    def how(self) -> str:
        which = "the code" if len(self.codes) == 1 else "one of the codes"
        return (
            f"{_recover_at(self.site, self.username)}, then choose \u201c{self.use_text}\u201d"
            f" and type {which} below. {OTHER_GUARDIANS}"
        )

    @property
    def reuse(self) -> str:
        if self.single_use:
            return "Each code works once: tick it off when you have used it."
        return "The code keeps working after a recovery: keep it."

    def lines(self) -> list[str]:
        """The codes as the text kit lists them: one alone, several numbered with a box."""
        if len(self.codes) == 1:
            return [self.codes[0]]
        box = "[ ] " if self.single_use else ""
        return [f"{box}{index:>2}. {code}" for index, code in enumerate(self.codes, start=1)]

    def text(self) -> str:
        """The downloadable kit: plain text a person can read years later."""
        return "\n".join(
            [
                self.heading,
                self.created,
                "",
                f"{self.purpose_title}: {self.purpose}",
                "",
                f"{self.how_title}: {self.how}",
                "",
                self.reuse,
                "",
                *self.lines(),
                "",
                KEEP_SAFE,
                "",
            ]
        )

    def filename(self) -> str:
        """Named after the site, so the file can be found among others years later."""
        site = _slug(self.site.name) or "vouch"
        return f"{site}-{self.kind.name.replace('_', '-')}-{_slug(self.username)}.txt"

    def qr_svg_data_uri(self) -> str:
        """The codes as a QR code, for scanning into a password manager."""
        # Imported here: segno pulls in xml, urllib.request, http and email, a few hundred
        # kilobytes of the snapshot that only this screen needs (see deferred.py).
        import segno

        payload = "\n".join(self.codes)
        return str(segno.make(payload, error="m").svg_data_uri(scale=4, border=2))


@dataclass(frozen=True)
class PassphraseSheet:
    """The passphrase's printed page: a space to write it in, unless the user asks for it."""

    username: str
    date: str
    site: Site

    @property
    def heading(self) -> str:
        return f"Passphrase for {self.username} at {self.site.title}"

    @property
    def created(self) -> str:
        return f"Created {self.date}"

    purpose_title = "What it is for"
    how_title = "How to use it"

    @property
    def purpose(self) -> str:
        return (
            f"This passphrase gets you back into the account {self.username} at"
            f" {self.site.name} if you lose your passkey (your phone or security key)."
        )

    @property
    def how(self) -> str:
        return (
            f"{_recover_at(self.site, self.username)}, then choose \u201cUse passphrase\u201d"
            f" and type it as written. {OTHER_GUARDIANS}"
        )

    def write_here(self, included: bool) -> str:
        if included:
            return "Your passphrase:"
        return "Write your passphrase here, by hand:"

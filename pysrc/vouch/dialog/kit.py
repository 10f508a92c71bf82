"""The recovery kit: what the user saves or prints, and its QR code (made with segno).

The kind whose codes it holds gives its title and file name; its module gives the sentence
that says how the codes are used.
"""

from __future__ import annotations

from dataclasses import dataclass

from vouch.core.kinds import Kind


@dataclass(frozen=True)
class RecoveryKit:
    username: str
    date: str  # ISO date, as printed on the kit
    kind: Kind
    codes: tuple[str, ...]
    usage: str  # how the codes are used, in one sentence

    @property
    def title(self) -> str:
        return self.kind.label

    @property
    def noun(self) -> str:
        return "code" if len(self.codes) == 1 else "codes"

    def text(self) -> str:
        """The downloadable kit: plain text a person can read years later."""
        # One code stands alone; several are numbered, so one can be crossed out when used.
        if len(self.codes) == 1:
            body = [self.codes[0]]
        else:
            body = [f"{index:>2}. {code}" for index, code in enumerate(self.codes, start=1)]
        return "\n".join(
            [
                f"vouch {self.title.lower()} for {self.username}",
                f"Created {self.date}",
                "",
                *body,
                "",
                self.usage,
                "Keep this somewhere safe and private: it can help take over the account.",
                "",
            ]
        )

    def filename(self) -> str:
        return f"vouch-{self.kind.name.replace('_', '-')}-{self.username}.txt"

    def qr_svg_data_uri(self) -> str:
        """The codes as a QR code, for scanning into a password manager."""
        # Imported here: segno pulls in xml, urllib.request, http and email, a few hundred
        # kilobytes of the snapshot that only this screen needs (see deferred.py).
        import segno

        payload = "\n".join(self.codes)
        return str(segno.make(payload, error="m").svg_data_uri(scale=4, border=2))

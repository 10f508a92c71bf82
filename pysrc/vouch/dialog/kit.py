"""The recovery kit: what the user saves or prints, and its QR code (made with segno)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RecoveryKit:
    username: str
    date: str  # ISO date, as printed on the kit
    kind: str  # "recovery_code" or "backup_codes"
    codes: tuple[str, ...]

    @property
    def title(self) -> str:
        return "Recovery code" if self.kind == "recovery_code" else "Backup codes"

    def text(self) -> str:
        """The downloadable kit: plain text a person can read years later."""
        if self.kind == "recovery_code":
            body = [self.codes[0]]
            usage = "Use this code to recover your account if you lose your passkey."
        else:
            body = [f"{index:>2}. {code}" for index, code in enumerate(self.codes, start=1)]
            usage = (
                "Each code works once. Use one to recover your account if you lose your passkey."
            )
        return "\n".join(
            [
                f"vouch {self.title.lower()} for {self.username}",
                f"Created {self.date}",
                "",
                *body,
                "",
                usage,
                "Keep this somewhere safe and private: it can help take over the account.",
                "",
            ]
        )

    def filename(self) -> str:
        return f"vouch-{self.kind.replace('_', '-')}-{self.username}.txt"

    def qr_svg_data_uri(self) -> str:
        """The codes as a QR code, for scanning into a password manager."""
        # Imported here: segno pulls in xml, urllib.request, http and email, a few hundred
        # kilobytes of the snapshot that only this screen needs (see deferred.py).
        import segno

        payload = "\n".join(self.codes)
        return str(segno.make(payload, error="m").svg_data_uri(scale=4, border=2))

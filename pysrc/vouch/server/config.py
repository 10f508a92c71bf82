"""Server configuration: everything policy-like that the app factory needs, in one value."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_WEB_ROOT = Path(__file__).resolve().parents[3] / "web"


@dataclass(frozen=True)
class Config:
    """How one vouch server runs.

    `origin` is the dialog's own origin: WebAuthn responses must come from it, and the RP ID
    defaults to its host name. `allowed_origins` are the host sites that may embed the dialog.
    """

    origin: str = "http://localhost:8000"
    rp_id: str | None = None
    rp_name: str = "vouch"
    database: str = "vouch.db"
    web_root: Path = DEFAULT_WEB_ROOT
    allowed_origins: tuple[str, ...] = ()
    recovery_delay_seconds: int = 0
    challenge_ttl_seconds: int = 300
    session_ttl_seconds: int = 3600
    token_ttl_seconds: int = 300
    max_body_bytes: int = 64 * 1024
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def effective_rp_id(self) -> str:
        """The RP ID the authenticators scope credentials to: the dialog host unless set."""
        return self.rp_id or (urlsplit(self.origin).hostname or "localhost")

"""Server configuration: everything policy-like that the app factory needs, in one value."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from vouch.server.outbox.settings import OutboxSettings

if TYPE_CHECKING:
    from vouch.server.oidc.settings import ProviderSettings
    from vouch.server.tokens import SigningKey

DEFAULT_WEB_ROOT = Path(__file__).resolve().parents[3] / "web"


@dataclass(frozen=True)
class RateLimit:
    """At most `count` attempts per `seconds`-long window, per key (an account, an address)."""

    count: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> RateLimit:
        """'10/60' -> 10 attempts per 60 seconds."""
        count, _, seconds = text.partition("/")
        try:
            limit = cls(int(count), int(seconds))
        except ValueError:
            raise ValueError(f'rate limit "{text}" is not COUNT/SECONDS') from None
        if limit.count < 1 or limit.seconds < 1:
            raise ValueError(f'rate limit "{text}" needs a positive count and window')
        return limit


# Per client address, and per account *and* address: one client's attempts on an account
# use up that client's budget only, so no one who merely knows an account's name can use up
# its owner's (the owner comes from another address). Sign-in has no per-account limit at
# all: an assertion cannot be guessed. Sign-in and recovery start are cheap for a person to
# retry; checks and executions are where guesses would be made, so they are scarcer.
# `recovery_guess_account` is no limit but a budget: past it, approvals of a guessable kind
# (a passphrase) for that account are answered more and more slowly, never refused
# (vouch.server.guesses).
DEFAULT_RATE_LIMITS: Mapping[str, RateLimit] = MappingProxyType(
    {
        "signin_address": RateLimit(60, 60),
        # Sign-up answers whether a name is taken; each try costs a verified passkey
        # registration and a challenge, and an address gets this many a minute.
        "register_address": RateLimit(30, 60),
        "recovery_start_address": RateLimit(20, 60),
        "recovery_start_account_address": RateLimit(10, 60),
        "recovery_check_address": RateLimit(60, 900),
        "recovery_check_account_address": RateLimit(30, 900),
        "recovery_execute_address": RateLimit(20, 900),
        "recovery_execute_account_address": RateLimit(10, 900),
        "recovery_guess_account": RateLimit(20, 900),
        # An email guardian's code: each send is a mail to the owner (so fewer), each
        # verify a guess at a 10-digit code (which also has its own 5 tries per code).
        "recovery_email_send_address": RateLimit(20, 900),
        "recovery_email_send_account_address": RateLimit(10, 900),
        "recovery_email_verify_address": RateLimit(60, 900),
        "recovery_email_verify_account_address": RateLimit(30, 900),
        # Verification codes mailed per account: each mail goes to an address the owner
        # typed, so this bounds what a session could send to someone else's inbox.
        "email_code_account": RateLimit(5, 3600),
        # Trusted contacts: invitations an account sends (each may mail the person invited),
        # help requests per client (each recovery asks a contact once; asking again only
        # replaces the link), and the polling of a request's status while the page waits.
        "contact_invite_account": RateLimit(20, 86400),
        "recovery_contact_request_address": RateLimit(20, 900),
        "recovery_contact_request_account_address": RateLimit(10, 900),
        "recovery_contact_status_address": RateLimit(1200, 900),
        "contact_answer_account": RateLimit(60, 900),
    }
)


@dataclass(frozen=True)
class Config:
    """How one vouch server runs.

    `origin` is the dialog's own origin: WebAuthn responses must come from it, and the RP ID
    defaults to its host name. `allowed_origins` are the host sites that may embed the dialog
    and receive its tokens; `site_names` names some of them as people know them ("Example
    App"), for the recovery kit to say which site an account is on (an origin without a
    name goes by its host name). `rp_name` is the dialog's own name, shown by authenticators
    and on a kit made on the dialog's own page. `database` is a SQLite file path or a
    postgresql:// URL.
    """

    origin: str = "http://localhost:8000"
    rp_id: str | None = None
    rp_name: str = "vouch"
    database: str = "vouch.db"
    web_root: Path = DEFAULT_WEB_ROOT
    allowed_origins: tuple[str, ...] = ()
    site_names: Mapping[str, str] = field(default_factory=dict)
    recovery_delay_seconds: int = 0
    # A trusted contact whose own account was recovered this recently cannot approve for
    # others: whoever just took over an account must not use it to take over more.
    contact_cooldown_seconds: int = 7 * 86400
    challenge_ttl_seconds: int = 300
    recovery_ttl_seconds: int = 900
    session_ttl_seconds: int = 3600
    token_ttl_seconds: int = 300
    max_body_bytes: int = 64 * 1024
    rate_limits: Mapping[str, RateLimit] = field(default_factory=lambda: DEFAULT_RATE_LIMITS)
    extra: dict[str, str] = field(default_factory=dict)
    # Token-signing keys and the decoy key given outside the database (keyring.py says how);
    # empty: the database's. `hsts_max_age` > 0 sends Strict-Transport-Security (https only).
    signing_keys: tuple[SigningKey, ...] = ()
    decoy_key: bytes | None = field(default=None, repr=False)
    hsts_max_age: int = 0
    # OpenID providers whose users can be guardians (vouch.server.oidc.settings).
    oidc_providers: tuple[ProviderSettings, ...] = ()
    # Mail, webhooks and the outbox worker (vouch.server.outbox.settings).
    outbox: OutboxSettings = field(default_factory=OutboxSettings)

    @property
    def oidc_redirect_uri(self) -> str:
        """Where providers send the dialog's sign-in popup back to (registered with each)."""
        return f"{self.origin}/oidc-callback.html"

    @cached_property
    def effective_rp_id(self) -> str:
        """The RP ID the authenticators scope credentials to: the dialog host unless set."""
        return self.rp_id or (urlsplit(self.origin).hostname or "localhost")

    def audience_allowed(self, audience: str) -> bool:
        """Tokens go to the dialog's own origin or to a host site allowed to embed it."""
        return audience == self.origin or audience in self.allowed_origins

    def site_name(self, origin: str) -> str:
        """What people call an allowed site: its configured name, else its host name."""
        return self.site_names.get(origin) or urlsplit(origin).hostname or origin

    def rate_limit(self, name: str) -> RateLimit:
        return self.rate_limits.get(name) or DEFAULT_RATE_LIMITS[name]

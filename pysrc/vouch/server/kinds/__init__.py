"""Guardian kinds on the server: one module per kind, and the registry that holds them.

Each module (`passphrase`, `recovery_code`, `backup_codes`, `passkey`, `email`, `contact`) is one
kind's whole server side, as `base.ServerKind` describes it; the three signature kinds share
`_ed25519`. Adding a kind means a module here, its entry in `vouch.core.kinds`, and its
place in `DEFAULT_KINDS` (and, once it is common, in the decoy shapes). `oidc` is run only
by a server with OpenID providers configured (`kinds_for`): it needs them to do anything.
"""

from __future__ import annotations

from vouch.core.kinds import KINDS
from vouch.server.kinds import (
    backup_codes,
    contact,
    email,
    oidc,
    passkey,
    passphrase,
    recovery_code,
)
from vouch.server.kinds.base import Approved, Guardian, GuardianSet, ServerKind
from vouch.server.kinds.registry import KindRegistry
from vouch.server.kinds.shapes import DECOY_SHAPES, OIDC_DECOY_SHAPES
from vouch.server.oidc.provider import Providers

# `email` is always run: mail always goes somewhere (an .eml directory by default).
DEFAULT_KINDS = KindRegistry(
    passphrase.KIND, recovery_code.KIND, backup_codes.KIND, passkey.KIND, email.KIND, contact.KIND
)


def kinds_for(providers: Providers) -> KindRegistry:
    """The kinds a server runs: the default ones, and OpenID guardians if it has providers
    (with the decoy shapes that include them)."""
    if not providers:
        return DEFAULT_KINDS
    # In the order of vouch.core.kinds (the dialog's): oidc comes before email.
    run = [*DEFAULT_KINDS, oidc.OpenIDConnect(providers)]
    run.sort(key=lambda kind: KINDS.names().index(kind.name))
    return KindRegistry(*run, shapes=DECOY_SHAPES + OIDC_DECOY_SHAPES)


__all__ = [
    "DEFAULT_KINDS",
    "Approved",
    "Guardian",
    "GuardianSet",
    "KindRegistry",
    "ServerKind",
    "kinds_for",
]

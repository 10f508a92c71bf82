"""The configurations a decoy takes: (threshold, kinds) people plausibly choose in the dialog.

A decoy's shape is picked from this table by its name's HMAC, so changing the table changes
every decoy (a name watched across the change would be seen to move): add a kind to it
with care, once real accounts use it widely enough that decoys without it would stand out.
(`email` and `contact` were added with the kind itself, so that from the start no such
guardian in a recovery start can say that the name is an account's.)

`OIDC_DECOY_SHAPES` are added only by a server with OpenID providers configured (serve.py
`--oidc-provider`): there real accounts can have an OpenID guardian, so decoys must too,
each naming one of the configured providers (`vouch.server.kinds.oidc`). A server without
providers keeps exactly the decoys it had; configuring the first provider changes every
decoy once, as adding a kind does, so do it before the server is in use, or accept that.
"""

from __future__ import annotations

DecoyShapes = tuple[tuple[int, tuple[str, ...]], ...]

DECOY_SHAPES: DecoyShapes = (
    (1, ("passphrase",)),
    (1, ("recovery_code",)),
    (1, ("passphrase", "recovery_code")),
    (2, ("passphrase", "recovery_code")),
    (2, ("passphrase", "recovery_code", "backup_codes")),
    (2, ("passphrase", "backup_codes", "passkey")),
    (2, ("recovery_code", "backup_codes", "passkey")),
    (3, ("passphrase", "recovery_code", "backup_codes")),
    # An email guardian is weak alone (whoever reads the mailbox approves): the dialog and
    # README put it beside another guardian, both needed.
    (2, ("passphrase", "email")),
    (2, ("recovery_code", "email")),
    (2, ("passphrase", "recovery_code", "email")),
    # A trusted contact, beside a secret of the owner's own (the dialog suggests 2 of 2).
    (2, ("passphrase", "contact")),
    (2, ("recovery_code", "contact")),
)

# An OpenID identity is mostly added beside a passphrase or a code, as one of two.
OIDC_DECOY_SHAPES: DecoyShapes = (
    (1, ("oidc",)),
    (1, ("passphrase", "oidc")),
    (2, ("passphrase", "oidc")),
    (2, ("recovery_code", "oidc", "passkey")),
)

"""The configurations a decoy takes: (threshold, kinds) people plausibly choose in the dialog.

A decoy's shape is picked from this table by its name's HMAC, so changing the table changes
every decoy (a name watched across the change would be seen to move): add a kind to it
with care, once real accounts use it widely enough that decoys without it would stand out.
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
)

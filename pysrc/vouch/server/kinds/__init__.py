"""Guardian kinds on the server: one module per kind, and the registry that holds them.

Each module (`passphrase`, `recovery_code`, `backup_codes`, `passkey`) is one kind's whole
server side, as `base.ServerKind` describes it; the three signature kinds share
`_ed25519`. Adding a kind means a module here, its entry in `vouch.core.kinds`, and its
place in `DEFAULT_KINDS` (and, once it is common, in the decoy shapes).
"""

from __future__ import annotations

from vouch.server.kinds import backup_codes, passkey, passphrase, recovery_code
from vouch.server.kinds.base import Approved, Guardian, GuardianSet, ServerKind
from vouch.server.kinds.registry import KindRegistry

DEFAULT_KINDS = KindRegistry(passphrase.KIND, recovery_code.KIND, backup_codes.KIND, passkey.KIND)

__all__ = ["DEFAULT_KINDS", "Approved", "Guardian", "GuardianSet", "KindRegistry", "ServerKind"]

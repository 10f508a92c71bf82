"""Every API endpoint, in the order the OpenAPI document lists them."""

from __future__ import annotations

from vouch.server.api import Endpoint
from vouch.server.routes import account, guardians, meta, passkeys, recovery


def all_endpoints() -> list[Endpoint]:
    return [
        *passkeys.ENDPOINTS,
        *account.ENDPOINTS,
        *guardians.ENDPOINTS,
        *recovery.ENDPOINTS,
        *meta.ENDPOINTS,
    ]

"""Every API endpoint, in the order the OpenAPI document lists them."""

from __future__ import annotations

from vouch.server.api import Endpoint
from vouch.server.routes import passkeys


def all_endpoints() -> list[Endpoint]:
    return [*passkeys.ENDPOINTS]

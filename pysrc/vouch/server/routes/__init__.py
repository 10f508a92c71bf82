"""Every API endpoint, in the order the OpenAPI document lists them."""

from __future__ import annotations

from vouch.core.kinds import CONTACT, EMAIL
from vouch.server.api import Endpoint
from vouch.server.kinds import DEFAULT_KINDS, KindRegistry
from vouch.server.routes import (
    account,
    cancel_link,
    contact_requests,
    contacts,
    email,
    guardians,
    meta,
    passkeys,
    recovery,
    recovery_email,
)


def all_endpoints(kinds: KindRegistry = DEFAULT_KINDS) -> list[Endpoint]:
    """The endpoints of a server running `kinds` (their schemas are built once per registry)."""
    return [
        *passkeys.ENDPOINTS,
        *account.endpoints(kinds),
        *email.ENDPOINTS,
        *guardians.endpoints(kinds),
        *recovery.endpoints(kinds),
        *(recovery_email.ENDPOINTS if EMAIL.name in kinds else ()),
        *(contact_requests.ENDPOINTS if CONTACT.name in kinds else ()),
        *(contacts.ENDPOINTS if CONTACT.name in kinds else ()),
        *cancel_link.ENDPOINTS,
        *meta.ENDPOINTS,
    ]

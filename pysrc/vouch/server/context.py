"""What every handler needs, built once by the app factory and reached through the request."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.requests import Request

from vouch.crypto.native import NativeProvider
from vouch.server.config import Config
from vouch.server.decoys import Decoys
from vouch.server.keyring import ServerSecrets
from vouch.server.kinds import KindRegistry
from vouch.server.oidc.provider import Providers
from vouch.server.outbox.service import Outbox
from vouch.server.storage import Database
from vouch.server.tokens import TokenIssuer


@dataclass
class Context:
    config: Config
    database: Database
    secrets: ServerSecrets
    tokens: TokenIssuer
    decoys: Decoys
    # The guardian kinds this server runs: every dispatch on a kind goes through it.
    kinds: KindRegistry
    # Mail and webhooks: what the worker sends with, and how a commit wakes it.
    outbox: Outbox
    provider: NativeProvider = field(default_factory=NativeProvider)
    # The OpenID providers of config.oidc_providers, with their fetched documents.
    oidc: Providers = field(default_factory=lambda: Providers([]))
    clock: Callable[[], float] = field(default=time.time)

    def now(self) -> int:
        """Whole seconds: every stored time is an integer Unix time."""
        return int(self.clock())


def context_of(request: Request) -> Context:
    context = request.app.state.context
    assert isinstance(context, Context)
    return context

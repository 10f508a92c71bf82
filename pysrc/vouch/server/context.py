"""What every handler needs, built once by the app factory and reached through the request."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.requests import Request

from vouch.server.config import Config
from vouch.server.storage import Database


@dataclass
class Context:
    config: Config
    database: Database
    clock: Callable[[], float] = field(default=time.time)

    def now(self) -> int:
        """Whole seconds: every stored time is an integer Unix time."""
        return int(self.clock())


def context_of(request: Request) -> Context:
    context = request.app.state.context
    assert isinstance(context, Context)
    return context

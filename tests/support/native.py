"""Run native async code (NativeProvider) from a sync Playwright test."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run_native(coroutine: Coroutine[Any, Any, T]) -> T:
    """Sync Playwright owns this thread's event loop, so the coroutine gets a thread of its own."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()

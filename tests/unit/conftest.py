"""Fixtures for the CPython unit tests of vouch.core and vouch.crypto."""

from __future__ import annotations

import pytest

from vouch.crypto.native import NativeProvider
from vouch.crypto.provider import Provider


@pytest.fixture
def provider() -> Provider:
    return NativeProvider()

"""Fixtures shared across test modules."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from emulators.entra import EntraEmulator


@pytest.fixture
def graph() -> Iterator[EntraEmulator]:
    """A Graph emulator on loopback, throttle wide open (tests that check throttling make their own)."""
    with EntraEmulator(rate_limit=(1000, 1.0)) as emulator:
        yield emulator

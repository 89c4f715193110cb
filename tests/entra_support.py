"""Shared pieces for tests that talk to the Graph emulator over real HTTP on loopback."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
from azure.core.credentials import AccessToken

from emulators.entra import DEFAULT_JOB, DEFAULT_SP, EntraEmulator
from provisioning.core.retry import RetryPolicy
from provisioning.entra.graph_client import GraphClient
from provisioning.entra.graph_endpoint import parse_bulk_upload_url


class CountingCredential:
    """A TokenCredential that hands out token-1, token-2, ... (the emulator accepts any bearer token)."""

    def __init__(self, lifetime: int = 3600) -> None:
        self._numbers = itertools.count(1)
        self.issued: list[str] = []
        self._lifetime = lifetime

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        token = f"token-{next(self._numbers)}"
        self.issued.append(token)
        return AccessToken(token, int(time.time()) + self._lifetime)


class FakeSleep:
    """Sleeping that only records: retries and pacing run at full speed in tests."""

    def __init__(self) -> None:
        self.calls: list[float] = []
        self._lock = threading.Lock()

    def __call__(self, seconds: float) -> None:
        with self._lock:
            self.calls.append(seconds)


def client_for(
    emulator: EntraEmulator,
    *,
    job: str = DEFAULT_JOB,
    credential: Any = None,
    sleep: Callable[[float], None] | None = None,
    max_attempts: int = 6,
    transport: httpx.BaseTransport | None = None,
    rate: tuple[int, float] = (1000, 1.0),
    log_rate: tuple[int, float] = (1000, 1.0),
    clock: Callable[[], float] = time.monotonic,
) -> GraphClient:
    endpoint = parse_bulk_upload_url(emulator.bulk_upload_url(DEFAULT_SP, job), allow_loopback=True)
    return GraphClient(
        endpoint,
        credential or CountingCredential(),
        transport=transport,
        rate=rate,
        log_rate=log_rate,
        policy=RetryPolicy(max_attempts=max_attempts),
        sleep=sleep or FakeSleep(),
        clock=clock,
    )

"""Fixtures shared across test modules."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from emulators.entra import EntraEmulator
from provisioning.state.storage import StorageClients
from tests.azurite import Azurite, StorageSandbox


@pytest.fixture(autouse=True)
def _local_folders(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's run records and feed state go to folders of the test's own, never to out/ in the repo
    (a test that sets RUNS_DIR itself still gets a fresh STATE_DIR)."""
    folder = tmp_path_factory.mktemp("cli-state")
    monkeypatch.setenv("RUNS_DIR", str(folder / "runs"))
    monkeypatch.setenv("STATE_DIR", str(folder / "state"))


@pytest.fixture
def graph() -> Iterator[EntraEmulator]:
    """A Graph emulator on loopback, throttle wide open (tests that check throttling make their own)."""
    with EntraEmulator(rate_limit=(1000, 1.0), log_rate_limit=None) as emulator:
        yield emulator


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    """Azurite from node_modules on loopback ports, in memory, for the whole session (``make test`` installs it)."""
    with Azurite() as emulator:
        yield emulator


@pytest.fixture
def storage(azurite: Azurite) -> Iterator[StorageSandbox]:
    """Clients for Azurite whose container and queue names are unique to the test (``storage.name("hr-runs")``)."""
    clients = StorageClients.from_connection_string(azurite.connection_string)
    sandbox = StorageSandbox(clients, azurite.connection_string)
    try:
        yield sandbox
    finally:
        sandbox.cleanup()
        clients.close()

"""Blob storage against Azurite: JSON blobs with ETags, markers, and the storage clients
(claims by lease are in the state contract).

The state interface's contract, on both backends, is ``test_state_contract.py``."""

from __future__ import annotations

import base64
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from azure.identity import DefaultAzureCredential, ManagedIdentityCredential
from azure.storage.queue import QueueClient

import tests.azurite
from provisioning.settings import Settings, SettingsError, load_settings
from provisioning.state.blob_json import (
    ConcurrentUpdate,
    create_marker,
    read_json,
    update_json,
    write_json,
)
from provisioning.state.storage import StorageClients
from tests.azurite import ACCOUNT_KEY, Azurite, AzuriteError, StorageSandbox

STORAGE_SETTINGS = (
    "HR_STORAGE",
    "HR_STORAGE__blobServiceUri",
    "HR_STORAGE__queueServiceUri",
    "HR_STORAGE__credential",
    "HR_STORAGE__clientId",
)
BLOB_URI = "https://contosohr.blob.core.windows.net"
QUEUE_URI = "https://contosohr.queue.core.windows.net"


@pytest.fixture
def storage_env(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Settings]:
    """Settings read from the environment as the Functions host sets it, with only the given storage settings."""
    for name in STORAGE_SETTINGS:
        monkeypatch.delenv(name, raising=False)

    def load(**values: str) -> Settings:
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        return load_settings()

    return load


# ---- JSON blobs with ETags ------------------------------------------------------------------------------


def test_a_write_with_a_stale_etag_is_refused(storage: StorageSandbox) -> None:
    container = storage.container("hr-state")
    assert read_json(container, "sources/workers.json") == (None, None)
    first = write_json(container, "sources/workers.json", {"rows": 281})
    data, etag = read_json(container, "sources/workers.json")
    assert (data, etag) == ({"rows": 281}, first)
    second = write_json(container, "sources/workers.json", {"rows": 282}, etag=etag)
    assert second != first
    with pytest.raises(ConcurrentUpdate, match=r"hr-state/sources/workers\.json: was changed .* 412 ConditionNotMet"):
        write_json(container, "sources/workers.json", {"rows": 999}, etag=first)
    assert read_json(container, "sources/workers.json") == ({"rows": 282}, second)


def test_an_etag_for_a_blob_that_is_gone_is_a_conflict(storage: StorageSandbox) -> None:
    container = storage.container("hr-state")
    etag = write_json(container, "state.json", [1])
    container.delete_blob("state.json")
    with pytest.raises(ConcurrentUpdate):
        write_json(container, "state.json", [2], etag=etag)


def test_create_only_succeeds_once(storage: StorageSandbox) -> None:
    container = storage.container("hr-state")
    write_json(container, "claim.json", {"by": "first"}, create_only=True)
    with pytest.raises(ConcurrentUpdate, match="already exists .*409 BlobAlreadyExists"):
        write_json(container, "claim.json", {"by": "second"}, create_only=True)
    assert read_json(container, "claim.json")[0] == {"by": "first"}
    with pytest.raises(ValueError, match="not both"):
        write_json(container, "claim.json", {}, etag="*", create_only=True)


def test_update_json_loses_no_update_under_contention(storage: StorageSandbox) -> None:
    container = storage.container("hr-state")
    start = threading.Barrier(8)

    def increment(current: dict[str, int] | None) -> dict[str, int]:
        return {"count": (current or {"count": 0})["count"] + 1}

    def worker() -> None:
        start.wait()
        for _ in range(25):
            update_json(container, "counter.json", increment)

    errors = run_threads(worker, 8)
    assert errors == []
    assert read_json(container, "counter.json")[0] == {"count": 200}


def test_update_json_returns_what_it_wrote(storage: StorageSandbox) -> None:
    container = storage.container("hr-state")
    assert update_json(container, "list.json", lambda value: [*(value or []), "a"]) == ["a"]
    assert update_json(container, "list.json", lambda value: [*(value or []), "b"]) == ["a", "b"]


def test_exactly_one_caller_creates_a_marker(storage: StorageSandbox) -> None:
    container = storage.container("hr-state")
    start = threading.Barrier(8)
    results: list[tuple[int, bool]] = []

    def worker(number: int) -> Callable[[], None]:
        def claim() -> None:
            start.wait()
            results.append((number, create_marker(container, "runs/20261128T120000Z-abcdef.started", b"%d" % number)))

        return claim

    threads = [threading.Thread(target=worker(number)) for number in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [number for number, created in results if created]
    assert len(results) == 8 and len(winners) == 1
    stored = container.download_blob("runs/20261128T120000Z-abcdef.started").readall()
    assert stored == b"%d" % winners[0]
    assert create_marker(container, "runs/20261128T120000Z-abcdef.started") is False


# ---- building the clients --------------------------------------------------------------------------------


def test_clients_from_a_connection_string_create_containers_and_queues(storage: StorageSandbox) -> None:
    clients = StorageClients.from_connection_string(storage.connection_string)
    try:
        name = storage.name("hr-inbound")
        container = clients.container(name)
        assert container.exists()
        assert clients.container(name) is container
        assert ACCOUNT_KEY not in clients.description and ACCOUNT_KEY not in repr(clients)
    finally:
        clients.close()


def test_queue_messages_are_base64_json_as_the_functions_trigger_expects(storage: StorageSandbox) -> None:
    payload = {"runId": "20261128T120000Z-abcdef", "batch": 3, "name": "Zoë"}
    storage.queue("hr-upload").send_message(json.dumps(payload))
    assert json.loads(storage.queue("hr-upload").peek_messages()[0].content) == payload
    raw = QueueClient.from_connection_string(storage.connection_string, storage.name("hr-upload"))
    message = raw.receive_message()
    assert message is not None
    assert json.loads(base64.b64decode(message.content)) == payload


def test_sandboxes_do_not_share_names(storage: StorageSandbox, azurite: Azurite) -> None:
    other = StorageSandbox(storage.clients, azurite.connection_string)
    assert storage.name("hr-runs") != other.name("hr-runs")
    settings = storage.settings()
    assert settings.hr_runs_container == storage.name("hr-runs")
    assert settings.hr_upload_queue == storage.name("hr-upload")
    assert StorageClients.from_settings(settings).container(settings.hr_runs_container).exists()


def test_development_storage_needs_no_network(storage_env: Callable[..., Settings]) -> None:
    clients = StorageClients.from_settings(storage_env(HR_STORAGE="UseDevelopmentStorage=True"))
    assert clients.blob_service.url.rstrip("/") == "http://127.0.0.1:10000/devstoreaccount1"
    assert clients.queue_service.url.rstrip("/") == "http://127.0.0.1:10001/devstoreaccount1"
    assert ACCOUNT_KEY not in clients.description


def test_identity_based_settings_use_the_managed_identity(storage_env: Callable[..., Settings]) -> None:
    settings = storage_env(
        **{
            "HR_STORAGE__blobServiceUri": BLOB_URI,
            "HR_STORAGE__queueServiceUri": QUEUE_URI,
            "HR_STORAGE__credential": "managedidentity",
            "HR_STORAGE__clientId": "6c1f0a57-0000-4000-8000-000000000001",
        }
    )
    clients = StorageClients.from_settings(settings)
    assert clients.blob_service.url.rstrip("/") == BLOB_URI
    assert clients.queue_service.url.rstrip("/") == QUEUE_URI
    assert isinstance(clients.blob_service.credential, ManagedIdentityCredential)
    assert clients.queue_service.credential is clients.blob_service.credential
    assert "6c1f0a57-0000-4000-8000-000000000001" in clients.description


def test_identity_based_settings_without_a_credential_kind_use_the_default_chain(
    storage_env: Callable[..., Settings],
) -> None:
    settings = storage_env(HR_STORAGE__blobServiceUri=BLOB_URI, HR_STORAGE__queueServiceUri=QUEUE_URI)
    clients = StorageClients.from_settings(settings)
    assert isinstance(clients.blob_service.credential, DefaultAzureCredential)


def test_a_connection_string_wins_over_identity_settings(
    storage_env: Callable[..., Settings], storage: StorageSandbox
) -> None:
    settings = storage_env(HR_STORAGE=storage.connection_string, HR_STORAGE__blobServiceUri=BLOB_URI)
    assert "127.0.0.1" in StorageClients.from_settings(settings).blob_service.url


def test_no_storage_settings_is_an_error_naming_them(storage_env: Callable[..., Settings]) -> None:
    with pytest.raises(SettingsError) as caught:
        StorageClients.from_settings(storage_env())
    message = str(caught.value)
    for name in (
        "HR_STORAGE",
        "UseDevelopmentStorage=true",
        "HR_STORAGE__blobServiceUri",
        "HR_STORAGE__queueServiceUri",
    ):
        assert name in message


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"HR_STORAGE__blobServiceUri": BLOB_URI}, "needs HR_STORAGE__queueServiceUri as well"),
        ({"HR_STORAGE__queueServiceUri": QUEUE_URI}, "needs HR_STORAGE__blobServiceUri as well"),
        (
            {"HR_STORAGE__blobServiceUri": "contosohr", "HR_STORAGE__queueServiceUri": QUEUE_URI},
            "HR_STORAGE__blobServiceUri must be the service URL",
        ),
        (
            {
                "HR_STORAGE__blobServiceUri": BLOB_URI,
                "HR_STORAGE__queueServiceUri": QUEUE_URI,
                "HR_STORAGE__credential": "key",
            },
            "HR_STORAGE__credential must be managedidentity",
        ),
    ],
)
def test_incomplete_identity_settings_are_named(
    storage_env: Callable[..., Settings], values: dict[str, str], expected: str
) -> None:
    with pytest.raises(SettingsError, match=expected):
        StorageClients.from_settings(storage_env(**values))


def test_a_malformed_connection_string_is_named_without_its_value(storage_env: Callable[..., Settings]) -> None:
    secret = "AccountKey=c2VjcmV0LXZhbHVlLW5ldmVyLXNob3du"
    with pytest.raises(SettingsError, match="HR_STORAGE is not a usable storage connection string") as caught:
        StorageClients.from_settings(storage_env(HR_STORAGE=f"{secret};AccountName"))
    assert "c2VjcmV0" not in str(caught.value)


# ---- the emulator harness itself ------------------------------------------------------------------------


def test_azurite_missing_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(tests.azurite, "AZURITE_BIN", tmp_path / "node_modules" / ".bin" / "azurite")
    monkeypatch.setattr(tests.azurite, "ROOT", tmp_path)
    with pytest.raises(AzuriteError, match=r"node_modules/\.bin/azurite is missing\): run `make test`"):
        Azurite().start()


def test_azurite_stops_with_its_process_group() -> None:
    azurite = Azurite().start()
    process = azurite._process
    assert process is not None and azurite.started_in < azurite.start_timeout
    azurite.stop()
    assert process.poll() is not None
    with pytest.raises(ProcessLookupError):
        os.killpg(process.pid, 0)
    azurite.stop()  # a second stop is harmless


def run_threads(target: Callable[[], None], count: int) -> list[BaseException]:
    errors: list[BaseException] = []

    def guarded() -> None:
        try:
            target()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=guarded) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors

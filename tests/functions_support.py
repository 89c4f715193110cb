"""Driving the registered functions of ``function_app.app`` with real azure.functions objects, Azurite and
the Graph emulator: the host's part (delivering blobs and queue messages) is played by these helpers."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import azure.functions as func
import pytest
from azure.functions.queue import QueueMessage
from azure.storage.blob import BlobClient

import function_app
from emulators.entra import EntraEmulator
from tests.azurite import StorageSandbox

FUNCTIONS = {f.get_function_name(): f for f in function_app.app.get_functions()}

_CONTAINERS_AND_QUEUES = {
    "HR_INBOUND_CONTAINER": "hr-inbound",
    "HR_CONFIG_CONTAINER": "hr-config",
    "HR_RUNS_CONTAINER": "hr-runs",
    "HR_STATE_CONTAINER": "hr-state",
    "HR_QUARANTINE_CONTAINER": "hr-quarantine",
    "HR_UPLOAD_QUEUE": "hr-upload",
    "HR_RESULTS_QUEUE": "hr-results",
}


def call(name: str, *args: Any) -> Any:
    return FUNCTIONS[name].get_user_function()(*args)


@dataclass
class FunctionHost:
    """The app configured on Azurite and the emulator, with the host's deliveries done by hand."""

    storage: StorageSandbox
    graph: EntraEmulator
    monkeypatch: pytest.MonkeyPatch

    def setting(self, name: str) -> str:
        return self.storage.name(_CONTAINERS_AND_QUEUES[name])

    def configure(self, **values: str) -> None:
        """App settings, as the host would set them (the services are rebuilt on next use)."""
        for name, value in values.items():
            self.monkeypatch.setenv(name, value)
        function_app.services.cache_clear()

    def inbound(self, path: str) -> BlobClient:
        return self.storage.clients.container(self.setting("HR_INBOUND_CONTAINER")).get_blob_client(path)

    def drop(self, path: str, data: bytes, metadata: dict[str, str] | None = None) -> BlobClient:
        """A file lands in the inbound container and the blob trigger fires (as Event Grid would make it)."""
        blob = self.inbound(path)
        blob.upload_blob(data, overwrite=True, metadata=metadata)
        call("provision_blob", blob)
        return blob

    def messages(self, queue_setting: str) -> Iterator[Any]:
        queue = self.storage.clients.queue(self.setting(queue_setting))
        while True:
            batch = list(queue.receive_messages(messages_per_page=32, visibility_timeout=30, max_messages=32))
            if not batch:
                return
            for message in batch:
                yield message
                queue.delete_message(message)

    def deliver(self, queue_setting: str, function: str) -> int:
        """Delivers the messages one queue has now (not those they enqueue) to its function; returns how many."""
        queue = self.storage.clients.queue(self.setting(queue_setting))
        batch = list(queue.receive_messages(messages_per_page=32, visibility_timeout=60, max_messages=32))
        for message in batch:
            call(function, queue_message(message.content, message.dequeue_count or 1))
            queue.delete_message(message)
        return len(batch)

    def run_queues(self, rounds: int = 500) -> None:
        """Upload and coordination messages until both queues are empty."""
        for _ in range(rounds):
            moved = self.deliver("HR_UPLOAD_QUEUE", "upload_batch")
            moved += self.deliver("HR_RESULTS_QUEUE", "coordinate_run")
            if not moved:
                return
        raise AssertionError("the queues never emptied")

    def http(
        self,
        name: str,
        method: str,
        url: str,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        route: dict[str, str] | None = None,
    ) -> tuple[int, Any, dict[str, str]]:
        request = func.HttpRequest(
            method=method, url=url, body=body, headers=headers or {}, params=params or {}, route_params=route or {}
        )
        response = call(name, request)
        return response.status_code, json.loads(response.get_body()), dict(response.headers)

    def http_raw(
        self, name: str, method: str, url: str, route: dict[str, str] | None = None
    ) -> tuple[int, bytes, dict[str, str]]:
        """An answer that is not JSON (the page's files)."""
        request = func.HttpRequest(method=method, url=url, body=b"", headers={}, params={}, route_params=route or {})
        response = call(name, request)
        return response.status_code, response.get_body(), dict(response.headers)


def runs(host: FunctionHost) -> list[dict[str, Any]]:
    """The run listing, as GET /api/runs answers it."""
    status, body, _ = host.http("list_runs", "GET", "http://localhost/api/runs")
    assert status == 200
    return list(body["runs"])


def queue_message(content: str, dequeue_count: int = 1) -> func.QueueMessage:
    """The message object the Python worker hands to a queue trigger."""
    return QueueMessage(body=content.encode(), dequeue_count=dequeue_count)


def host_for(
    storage: StorageSandbox, graph: EntraEmulator, monkeypatch: pytest.MonkeyPatch, **settings: str
) -> FunctionHost:
    host = FunctionHost(storage, graph, monkeypatch)
    values = {name: storage.name(base) for name, base in _CONTAINERS_AND_QUEUES.items()}
    values.update(
        HR_STORAGE=storage.connection_string,
        ENTRA_BULK_UPLOAD_URL=graph.bulk_upload_url(),
        ENTRA_ALLOW_LOOPBACK="true",
        ENTRA_LOG_FIRST_POLL_SECONDS="0.01",
        ENTRA_LOG_WAIT_SECONDS="60",
        HR_COORDINATE_SECONDS="0",
        ENTRA_RATE_LIMIT="1000/1",
        ENTRA_LOG_RATE_LIMIT="1000/1",
    )
    values.update(settings)
    host.configure(**values)
    return host


Check = Callable[[FunctionHost], None]


def small_host(
    storage: StorageSandbox, graph: EntraEmulator, monkeypatch: pytest.MonkeyPatch, **settings: str
) -> FunctionHost:
    """``host_for`` with ``SMALL_PROFILE`` in the config container, routed from ``small/``, 10 per request."""
    values = {"HR_PROFILE_ROUTES": "small/=small", "ENTRA_BATCH_SIZE": "10", **settings}
    host = host_for(storage, graph, monkeypatch, **values)
    config = storage.clients.container(host.setting("HR_CONFIG_CONTAINER"))
    config.upload_blob("small.json", json.dumps(SMALL_PROFILE), overwrite=True)
    return host


SMALL_HEADER = "WorkerID,WorkerStatus,WorkerType,UserID,FirstName,LastName,FullName,ManagerID\n"
SMALL_PROFILE = {
    "name": "small",
    "attributes": {
        "externalId": "WorkerID",
        "userName": "UserID",
        "active": {"source": "WorkerStatus", "transforms": [{"op": "equals", "value": "Active"}]},
        "displayName": "FullName",
        "name": {"givenName": "FirstName", "familyName": "LastName"},
        "enterprise": {"manager": "ManagerID"},
    },
}
"""A profile for ``small_workers``: upload it to the config container, route a folder to it."""


def small_workers(count: int, *, inactive: int = 0, renamed: int = 0, team: int = 0) -> bytes:
    """A CSV of ``count`` workers 1000, 1001, ...: the first ``inactive`` are inactive, the first
    ``renamed`` have another first name; everyone reports to worker 1000, or with ``team`` to the first
    worker of each team of that size."""

    def manager(i: int) -> str:
        if team:
            return str(1000 + (i // team) * team) if i % team else ""
        return "1000" if i else ""

    rows = [
        f"{1000 + i},{'Inactive' if i < inactive else 'Active'},Employee,u{i}@contoso.com,"
        f"{'G' if i < renamed else 'F'}{i},L{i},F{i} L{i},{manager(i)}\n"
        for i in range(count)
    ]
    return (SMALL_HEADER + "".join(rows)).encode()

"""The composition root: settings, storage, state, profiles, the Graph client and the workflow, built once.

Only the doors build these (the Function App per process, the CLI per command, ``serve`` per process)
and pass them into the engine. Nothing here runs at import: the Function App calls
``Services.from_settings`` on first use, so the Functions host can index the app with no setting at
all, and a missing setting is an error that names it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cached_property
from typing import ClassVar, Protocol

from provisioning.core.mapping.profile import Profile
from provisioning.core.mapping.profiles import (
    bundled_profile_names,
    check_profile_name,
    load_named_profile,
    parse_profile,
    with_upn_domain,
)
from provisioning.core.retry import RetryPolicy
from provisioning.engine.config import RunConfig
from provisioning.engine.queue_sender import QueueSender
from provisioning.engine.workflow import Workflow
from provisioning.entra.credentials import EmulatorCredential, build_credential
from provisioning.entra.graph_client import GraphClient
from provisioning.entra.graph_endpoint import LOOPBACK_HOSTS, parse_bulk_upload_url
from provisioning.hr.connector_source import TokenStore
from provisioning.settings import Settings, SettingsError, load_settings
from provisioning.state.blob import BlobState
from provisioning.state.bytes_store import BlobBytesStore, BytesStore
from provisioning.state.interface import StateStore
from provisioning.state.storage import StorageClients
from provisioning.state.tokens import BlobTokenStore


class ProfileResolver:
    """Profiles from the config container (an admin's change needs no deploy), else the bundled ``mappings/``."""

    def __init__(self, store: BytesStore, *, upn_domain: str | None = None) -> None:
        self.store = store
        self._upn_domain = upn_domain

    def load(self, name: str) -> Profile:
        return with_upn_domain(self._load(name), self._upn_domain)

    def saved(self, name: str) -> bytes | None:
        """The stored profile's JSON, or None (a bundled profile, or none at all)."""
        return self.store.read(f"{check_profile_name(name)}.json")

    def save(self, name: str, data: bytes) -> None:
        self.store.write(f"{check_profile_name(name)}.json", data)

    def names(self) -> list[tuple[str, str]]:
        """(name, "saved" | "bundled"), saved first where a name is both."""
        saved = [n.removesuffix(".json") for n in self.store.names() if "/" not in n and n.endswith(".json")]
        bundled = [n for n in bundled_profile_names() if n not in saved]
        return sorted([(n, "saved") for n in saved] + [(n, "bundled") for n in bundled])

    def _load(self, name: str) -> Profile:
        body = self.saved(name)
        if body is None:
            return load_named_profile(name)
        return parse_profile(body, origin=f"{self.store.description}/{name}.json", default_name=name)


class AppServices(Protocol):
    """What the doors' HTTP API needs, whoever provides it: ``Services`` (Azure) or ``LocalServices`` (serve)."""

    settings: Settings
    local: ClassVar[bool]

    @property
    def config(self) -> BytesStore: ...
    @property
    def uploads(self) -> BytesStore: ...
    @property
    def profiles(self) -> ProfileResolver: ...
    @property
    def state(self) -> StateStore: ...
    @property
    def workflow(self) -> Workflow: ...
    def tokens(self) -> TokenStore: ...
    def graph(self) -> GraphClient: ...


@dataclass
class Services:
    """The Function App's (and the HTTP API's) objects: blob state, queue fan-out, one Graph client."""

    settings: Settings
    storage: StorageClients
    _graph: GraphClient | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Services:
        settings = settings or load_settings()
        return cls(settings=settings, storage=StorageClients.from_settings(settings))

    local: ClassVar[bool] = False

    @cached_property
    def config(self) -> BytesStore:
        """The config container: profiles, connector jobs (``connectors/``), user connector definitions."""
        return BlobBytesStore(self.storage.container(self.settings.hr_config_container))

    @cached_property
    def uploads(self) -> BytesStore:
        """Files the page uploads, kept for the mapping steps that follow."""
        return BlobBytesStore(self.storage.container(self.settings.hr_state_container), "uploads/")

    def tokens(self) -> TokenStore:
        return BlobTokenStore(self.storage.container(self.settings.hr_state_container))

    @cached_property
    def profiles(self) -> ProfileResolver:
        return ProfileResolver(self.config, upn_domain=self.settings.hr_upn_domain)

    @cached_property
    def state(self) -> BlobState:
        return BlobState(self.storage, self.settings.hr_runs_container, self.settings.hr_state_container)

    @cached_property
    def sender(self) -> QueueSender:
        return QueueSender(
            self.storage.queue(self.settings.hr_upload_queue),
            self.storage.queue(self.settings.hr_results_queue),
            coordinate_seconds=self.settings.hr_coordinate_seconds,
        )

    @cached_property
    def workflow(self) -> Workflow:
        return Workflow(
            self.state,
            graph=self.graph,
            profiles=self.profiles,
            sender=self.sender,
            config=RunConfig.from_settings(self.settings),
        )

    def graph(self) -> GraphClient:
        """The Graph client, built on first use (so that preview and the run list work without Entra settings)."""
        with self._lock:
            if self._graph is None:
                self._graph = build_graph_client(self.settings)
            return self._graph


def storage_configured(settings: Settings) -> bool:
    return bool(settings.hr_storage or settings.hr_storage_blob_service_uri or settings.hr_storage_queue_service_uri)


def build_services(settings: Settings | None = None) -> AppServices:
    """The Function App's services when storage is configured (it always is in Azure); otherwise those of a
    machine without Azure (``serve``): folders, threads, and the embedded emulator when no endpoint is set."""
    settings = settings or load_settings()
    if storage_configured(settings):
        return Services.from_settings(settings)
    from provisioning.doors.local_services import LocalServices

    return LocalServices(settings)


def build_graph_client(settings: Settings, url: str | None = None) -> GraphClient:
    """The client for ``url`` (default ENTRA_BULK_UPLOAD_URL) with the configured credential and pacing."""
    url = url or settings.entra_bulk_upload_url
    if not url:
        raise SettingsError(
            "ENTRA_BULK_UPLOAD_URL is not set: copy the job's Provisioning API Endpoint from the portal"
        )
    endpoint = parse_bulk_upload_url(url, allow_loopback=settings.entra_allow_loopback)
    host = endpoint.base.split("/")[2].rsplit(":", 1)[0]
    credential = EmulatorCredential() if host in LOOPBACK_HOSTS else build_credential(settings, graph_host=host)
    return GraphClient(
        endpoint,
        credential,
        rate=settings.rate,
        log_rate=settings.log_rate,
        policy=RetryPolicy(max_attempts=settings.entra_max_attempts),
    )

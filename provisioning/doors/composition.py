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

from azure.core.exceptions import ResourceNotFoundError

from provisioning.core.mapping.profile import Profile
from provisioning.core.mapping.profiles import check_profile_name, load_named_profile, parse_profile, with_upn_domain
from provisioning.core.retry import RetryPolicy
from provisioning.engine.config import RunConfig
from provisioning.engine.queue_sender import QueueSender
from provisioning.engine.workflow import Workflow
from provisioning.entra.credentials import EmulatorCredential, build_credential
from provisioning.entra.graph_client import GraphClient
from provisioning.entra.graph_endpoint import LOOPBACK_HOSTS, parse_bulk_upload_url
from provisioning.settings import Settings, SettingsError, load_settings
from provisioning.state.blob import BlobState
from provisioning.state.storage import StorageClients


class ProfileResolver:
    """Profiles from the config container (an admin's change needs no deploy), else the bundled ``mappings/``."""

    def __init__(self, storage: StorageClients, container: str, *, upn_domain: str | None = None) -> None:
        self._storage = storage
        self._container = container
        self._upn_domain = upn_domain

    def load(self, name: str) -> Profile:
        return with_upn_domain(self._load(name), self._upn_domain)

    def _load(self, name: str) -> Profile:
        check_profile_name(name)
        try:
            body = self._storage.container(self._container).download_blob(f"{name}.json").readall()
        except ResourceNotFoundError:
            return load_named_profile(name)
        return parse_profile(body, origin=f"{self._container}/{name}.json", default_name=name)


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

    @cached_property
    def profiles(self) -> ProfileResolver:
        return ProfileResolver(self.storage, self.settings.hr_config_container, upn_domain=self.settings.hr_upn_domain)

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

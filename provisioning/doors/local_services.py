"""``serve`` without Azure: the same HTTP API on local folders, threads, and (with no endpoint) the embedded
Graph emulator.

What the Function App keeps in containers is kept in folders laid out the same way: run records in RUNS_DIR,
feed state and uploads in STATE_DIR, profiles and connector jobs in CONFIG_DIR (``<name>.json``,
``connectors/<job>.json``, ``connectors/definitions/``). Requests go out from threads, and a run answers as
soon as it is planned: its requests and results arrive in the background, as with the Function App's queues.
"""

from __future__ import annotations

import logging
import tempfile
import threading
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from provisioning.core.retry import RetryPolicy
from provisioning.core.runs import RunPlan, RunRecord
from provisioning.doors.composition import ProfileResolver, build_graph_client
from provisioning.engine.config import RunConfig
from provisioning.engine.sending import ThreadSender
from provisioning.engine.workflow import Workflow
from provisioning.entra.credentials import EmulatorCredential
from provisioning.entra.graph_client import GraphClient
from provisioning.entra.graph_endpoint import parse_bulk_upload_url
from provisioning.hr.connector_source import TokenStore
from provisioning.settings import Settings
from provisioning.state.bytes_store import BytesStore, LocalBytesStore
from provisioning.state.local import LocalState
from provisioning.state.tokens import LocalTokenStore

if TYPE_CHECKING:
    from emulators.entra import EntraEmulator

log = logging.getLogger("provisioning.serve")


class BackgroundSender(ThreadSender):
    """Sends from a thread of its own, so that the HTTP call that started the run answers at once."""

    def release(self, workflow: Workflow, record: RunRecord, plan: RunPlan) -> RunRecord:
        def send() -> None:
            try:
                ThreadSender.release(self, workflow, record, plan)
            except Exception:  # the run says so; the server goes on
                log.exception("run %s: sending failed", record.runId)
                failed = workflow.state.load_record(record.runId)
                failed.status, failed.message = "failed", "sending failed unexpectedly; see the server's log"
                workflow.state.save_record(failed)

        threading.Thread(target=send, name=f"run-{record.runId}", daemon=True).start()
        return record


@dataclass
class LocalServices:
    """What ``Services`` is to the Function App, on this machine."""

    settings: Settings
    _graph: GraphClient | None = field(default=None, repr=False)
    _emulator: EntraEmulator | None = field(default=None, repr=False)
    _feeds: tempfile.TemporaryDirectory[str] | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    local: ClassVar[bool] = True

    @property
    def embedded(self) -> bool:
        """No endpoint configured: runs go to the embedded Graph emulator, which lives as long as the server."""
        return not self.settings.entra_bulk_upload_url

    @cached_property
    def config(self) -> BytesStore:
        return LocalBytesStore(self.settings.config_dir)

    @cached_property
    def uploads(self) -> BytesStore:
        return LocalBytesStore(Path(self.settings.state_dir) / "uploads")

    def tokens(self) -> TokenStore:
        return LocalTokenStore(Path(self.settings.state_dir))

    @cached_property
    def profiles(self) -> ProfileResolver:
        return ProfileResolver(self.config, upn_domain=self.settings.hr_upn_domain)

    @cached_property
    def state(self) -> LocalState:
        if not self.embedded:
            return LocalState(self.settings.runs_dir, self.settings.state_dir)
        # What a feed last sent describes the emulator's directory: it ends with the server (as in the CLI).
        self._feeds = tempfile.TemporaryDirectory(prefix="serve-feeds-")
        return LocalState(self.settings.runs_dir, self._feeds.name)

    @cached_property
    def workflow(self) -> Workflow:
        config = RunConfig.from_settings(self.settings)
        if self.embedded:
            config = config.for_embedded_emulator()
        return Workflow(
            self.state,
            graph=self.graph,
            profiles=self.profiles,
            sender=BackgroundSender(self.graph(), concurrency=config.concurrency),
            config=config,
        )

    def graph(self) -> GraphClient:
        with self._lock:
            if self._graph is None:
                self._graph = self._embedded_client() if self.embedded else build_graph_client(self.settings)
            return self._graph

    def _embedded_client(self) -> GraphClient:
        from emulators.entra import EntraEmulator  # the embedded default only

        self._emulator = EntraEmulator(processing_delay=0.0)
        self._emulator.start()
        endpoint = parse_bulk_upload_url(self._emulator.bulk_upload_url(), allow_loopback=True)
        return GraphClient(
            endpoint,
            EmulatorCredential(),
            rate=self.settings.rate,
            log_rate=self.settings.log_rate,
            policy=RetryPolicy(max_attempts=self.settings.entra_max_attempts),
            embedded=True,
        )

    def close(self) -> None:
        with self._lock:
            if self._graph is not None:
                self._graph.close()
            if self._emulator is not None:
                self._emulator.stop()
        if self._feeds is not None:
            self._feeds.cleanup()

    def describe(self) -> dict[str, Any]:
        return {
            "graph": "the embedded Graph emulator" if self.embedded else self.settings.entra_bulk_upload_url,
            "runs": self.settings.runs_dir,
            "config": self.settings.config_dir,
        }

"""Azurite (the Azure Storage emulator, from node_modules) on loopback for tests, and per-test sandboxes in it.

``make test`` installs it (``npm ci`` through the ``node_modules/.installed`` stamp). Azurite listens on
ports the kernel picks (``--blobPort 0``...), keeps everything in memory, and reports the ports it got on
stdout; the process is stopped at the end of the session, at interpreter exit, and (on Linux) when the
test process dies without cleaning up.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from azure.storage.blob import ContainerClient
from azure.storage.queue import QueueClient

from provisioning.settings import Settings
from provisioning.state.storage import StorageClients

ROOT = Path(__file__).resolve().parent.parent
AZURITE_BIN = ROOT / "node_modules" / ".bin" / "azurite"
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
"""The emulator's well-known development key (public, documented by Microsoft; not a secret)."""
FLAGS = (
    "--blobHost=127.0.0.1",
    "--queueHost=127.0.0.1",
    "--tableHost=127.0.0.1",
    "--blobPort=0",
    "--queuePort=0",
    "--tablePort=0",
    "--skipApiVersionCheck",
    "--loose",
    "--silent",
    "--inMemoryPersistence",
    "--extentMemoryLimit=1024",
    "--disableTelemetry",
)
_LISTENING = re.compile(r"Azurite (Blob|Queue|Table) service is successfully listening at http://127\.0\.0\.1:(\d+)")
_SERVICES = ("Blob", "Queue", "Table")


class AzuriteError(RuntimeError):
    pass


class Azurite:
    """One Azurite process. ``with Azurite() as azurite:`` starts it and stops it (and its children)."""

    def __init__(self, start_timeout: float = 30.0) -> None:
        self.start_timeout = start_timeout
        self.ports: dict[str, int] = {}
        self.started_in = 0.0
        """Seconds from spawning the process to all three ports answering."""
        self._process: subprocess.Popen[bytes] | None = None
        self._workdir: str | None = None

    @property
    def blob_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports['Blob']}/{ACCOUNT}"

    @property
    def queue_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports['Queue']}/{ACCOUNT}"

    @property
    def table_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports['Table']}/{ACCOUNT}"

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint={self.blob_endpoint};QueueEndpoint={self.queue_endpoint};"
            f"TableEndpoint={self.table_endpoint};"
        )

    def start(self) -> Azurite:
        if not AZURITE_BIN.exists():
            raise AzuriteError(
                f"Azurite is not installed ({AZURITE_BIN.relative_to(ROOT)} is missing): run `make test`, "
                "which installs it with `npm ci` (or `make node_modules/.installed` for just that step)"
            )
        self._workdir = tempfile.mkdtemp(prefix="azurite-")
        log_path = Path(self._workdir, "azurite.log")
        began = time.monotonic()
        with open(log_path, "wb") as log:
            try:
                self._process = subprocess.Popen(
                    [str(AZURITE_BIN), *FLAGS],
                    cwd=self._workdir,  # nothing should be written, but never into the repository
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its own process group, stopped as a whole
                    preexec_fn=_die_with_parent(),
                )
            except OSError as exc:
                self._cleanup_workdir()
                raise AzuriteError(f"cannot start {AZURITE_BIN} ({exc}); is Node.js 20 or later on PATH?") from exc
        atexit.register(self.stop)
        try:
            self._wait_until_listening(log_path, began)
        except BaseException:
            self.stop()
            raise
        self.started_in = time.monotonic() - began
        return self

    def _wait_until_listening(self, log_path: Path, began: float) -> None:
        assert self._process is not None
        deadline = began + self.start_timeout
        while True:
            output = log_path.read_text(encoding="utf-8", errors="replace")
            self.ports = {service: int(port) for service, port in _LISTENING.findall(output)}
            if all(service in self.ports for service in _SERVICES) and all(
                _answers(port) for port in self.ports.values()
            ):
                return
            code = self._process.poll()
            if code is not None or time.monotonic() > deadline:
                why = f"exited with code {code}" if code is not None else f"not listening after {self.start_timeout:g}s"
                raise AzuriteError(f"Azurite {why}; its output:\n{output.strip() or '(none)'}")
            time.sleep(0.05)

    def stop(self) -> None:
        """Terminate Azurite's process group; kill it if it has not exited after 5 seconds. Idempotent."""
        process, self._process = self._process, None
        atexit.unregister(self.stop)
        if process is not None and process.poll() is None:
            _signal_group(process, signal.SIGTERM)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait(timeout=5)
        if process is not None:
            _signal_group(process, signal.SIGKILL)  # children left behind, if any
        self._cleanup_workdir()

    def _cleanup_workdir(self) -> None:
        workdir, self._workdir = self._workdir, None
        if workdir:
            shutil.rmtree(workdir, ignore_errors=True)

    def __enter__(self) -> Azurite:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


def _die_with_parent() -> Callable[[], object] | None:
    """For the child, before exec: SIGTERM when the test process dies, even by SIGKILL (Linux ``prctl``).

    The libc function is looked up here, in the parent: the child only calls it.
    """
    if sys.platform != "linux":
        return None
    import ctypes

    pr_set_pdeathsig = 1
    return functools.partial(ctypes.CDLL(None, use_errno=True).prctl, pr_set_pdeathsig, signal.SIGTERM)


@dataclass
class StorageSandbox:
    """One test's corner of Azurite: every container and queue name starts with a prefix unique to the test."""

    clients: StorageClients
    connection_string: str
    prefix: str = field(default_factory=lambda: "t" + secrets.token_hex(5))

    def name(self, base: str) -> str:
        """A valid container or queue name: ``<prefix>-<base>`` (lower case, at most 63 characters)."""
        name = f"{self.prefix}-{base.lower()}"
        if len(name) > 63 or not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name):
            raise ValueError(f"{base!r} does not make a valid container or queue name ({name!r})")
        return name

    def container(self, base: str = "data") -> ContainerClient:
        return self.clients.container(self.name(base))

    def queue(self, base: str = "work") -> QueueClient:
        return self.clients.queue(self.name(base))

    def settings(self, **overrides: Any) -> Settings:
        """Settings pointing at Azurite, with every container and queue setting given this test's prefix."""
        names = {
            alias: self.name(default)
            for alias, default in (
                ("HR_INBOUND_CONTAINER", "hr-inbound"),
                ("HR_CONFIG_CONTAINER", "hr-config"),
                ("HR_RUNS_CONTAINER", "hr-runs"),
                ("HR_STATE_CONTAINER", "hr-state"),
                ("HR_QUARANTINE_CONTAINER", "hr-quarantine"),
                ("HR_UPLOAD_QUEUE", "hr-upload"),
                ("HR_RESULTS_QUEUE", "hr-results"),
            )
        }
        values: dict[str, Any] = {"HR_STORAGE": self.connection_string, **names, **overrides}
        return Settings(**values)

    def cleanup(self) -> None:
        """Delete this test's containers and queues (best effort: Azurite is in memory and goes anyway)."""
        with contextlib.suppress(Exception):
            for container in self.clients.blob_service.list_containers(name_starts_with=self.prefix + "-"):
                self.clients.blob_service.delete_container(container.name)
        with contextlib.suppress(Exception):
            for queue in self.clients.queue_service.list_queues(name_starts_with=self.prefix + "-"):
                self.clients.queue_service.delete_queue(queue.name)

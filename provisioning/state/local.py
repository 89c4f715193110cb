"""Where run records, request bodies and rejects live: a local folder here, blob storage in Azure.

Both implement ``RunStore``; the CLI uses ``LocalRunStore`` when no storage account is configured.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import IO, Protocol

from provisioning.core.errors import ProvisioningError
from provisioning.core.runs import RunRecord

REQUEST_FILE = "bulk-{number:04d}.json"


class RunNotFound(ProvisioningError):
    pass


class RunStore(Protocol):
    def save_record(self, record: RunRecord) -> None: ...
    def load_record(self, run_id: str) -> RunRecord: ...
    def list_runs(self, limit: int = 50) -> list[RunRecord]: ...
    def save_request(self, run_id: str, number: int, body: bytes) -> None: ...
    def load_request(self, run_id: str, number: int) -> bytes: ...
    def rejects_writer(self, run_id: str) -> AbstractContextManager[IO[str]]: ...
    def load_rejects(self, run_id: str) -> str: ...


class LocalRunStore:
    """``<root>/<runId>/run.json``, ``requests/bulk-NNNN.json`` and ``rejects.csv``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _folder(self, run_id: str) -> Path:
        if not run_id or "/" in run_id or "\\" in run_id or run_id.startswith("."):
            raise RunNotFound(f"run {run_id!r} not found")
        return self.root / run_id

    def save_record(self, record: RunRecord) -> None:
        folder = self._folder(record.runId)
        folder.mkdir(parents=True, exist_ok=True)
        _atomic_write(folder / "run.json", record.model_dump_json(indent=2).encode())

    def load_record(self, run_id: str) -> RunRecord:
        path = self._folder(run_id) / "run.json"
        if not path.is_file():
            raise RunNotFound(f"run {run_id!r} not found in {self.root}")
        return RunRecord.model_validate_json(path.read_bytes())

    def list_runs(self, limit: int = 50) -> list[RunRecord]:
        if not self.root.is_dir():
            return []
        folders = sorted((p for p in self.root.iterdir() if (p / "run.json").is_file()), reverse=True)
        return newest_first([self.load_record(p.name) for p in folders[:limit]])

    def save_request(self, run_id: str, number: int, body: bytes) -> None:
        folder = self._folder(run_id) / "requests"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / REQUEST_FILE.format(number=number)).write_bytes(body)

    def load_request(self, run_id: str, number: int) -> bytes:
        path = self._folder(run_id) / "requests" / REQUEST_FILE.format(number=number)
        if not path.is_file():
            raise RunNotFound(f"request {number} of run {run_id!r} is not stored")
        return path.read_bytes()

    @contextmanager
    def rejects_writer(self, run_id: str) -> Iterator[IO[str]]:
        folder = self._folder(run_id)
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / "rejects.csv", "w", newline="", encoding="utf-8") as stream:
            yield stream

    def load_rejects(self, run_id: str) -> str:
        path = self._folder(run_id) / "rejects.csv"
        return path.read_text(encoding="utf-8") if path.is_file() else ""


def newest_first(records: list[RunRecord]) -> list[RunRecord]:
    """By start time: run ids sort by time only to the second (a blob's run id comes from the blob)."""
    return sorted(records, key=lambda r: (r.createdAt, r.runId), reverse=True)


def _atomic_write(path: Path, data: bytes) -> None:
    """A crash never leaves a half-written run record behind."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".run-", suffix=".tmp")
    with io.FileIO(handle, "w") as stream:
        stream.write(data)
    os.replace(temporary, path)

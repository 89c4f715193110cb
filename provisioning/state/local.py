"""The engine's state in local folders: the CLI's embedded default.

``<runs>/<runId>/`` holds ``run.json``, ``requests/bulk-NNNN.json``, ``rejects.csv``, ``plan.json``,
``batches/NNNN.json`` (the manifests) and ``markers/``; ``<state>/feeds/<feed>.json`` holds each feed's
delta state. Every JSON file is replaced atomically, so a kill never leaves half a record. Claims and
feed updates take an ``flock`` on a lock file beside the data: the kernel drops it when the process
dies, so a killed run never leaves a request locked.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import io
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import orjson

from provisioning.core.plan.delta import SourceState
from provisioning.core.runs import Manifest, ManifestStatus, RunPlan, RunRecord
from provisioning.state.interface import (
    MANIFEST_FILE,
    REQUEST_FILE,
    RunNotFound,
    candidates,
    check_run_id,
    feed_file_name,
    newest_first,
)


class _FileClaim:
    def __init__(self, path: Path) -> None:
        self._path = path

    def save(self, manifest: Manifest) -> None:
        _atomic_write(self._path, manifest.model_dump_json().encode())

    def renew(self) -> None:
        """An flock does not expire."""


class LocalState:
    def __init__(self, runs: str | Path, state: str | Path) -> None:
        self.root = Path(runs)
        self.state_root = Path(state)
        self.description = f"local folders {self.root} and {self.state_root}"

    def _folder(self, run_id: str) -> Path:
        return self.root / check_run_id(run_id)

    # ---- run records, bodies, rejects ----------------------------------------------------------------

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
        run_ids = [p.name for p in self.root.iterdir() if (p / "run.json").is_file()]
        return newest_first([self.load_record(i) for i in candidates(run_ids, limit)])[:limit]

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

    # ---- plans, manifests, markers -------------------------------------------------------------------

    def save_plan(self, run_id: str, plan: RunPlan) -> None:
        folder = self._folder(run_id)
        folder.mkdir(parents=True, exist_ok=True)
        _atomic_write(folder / "plan.json", plan.model_dump_json().encode())

    def load_plan(self, run_id: str) -> RunPlan | None:
        path = self._folder(run_id) / "plan.json"
        return RunPlan.model_validate_json(path.read_bytes()) if path.is_file() else None

    def _manifest_path(self, run_id: str, number: int) -> Path:
        return self._folder(run_id) / "batches" / MANIFEST_FILE.format(number=number)

    def create_manifest(self, run_id: str, manifest: Manifest) -> Manifest:
        path = self._manifest_path(run_id, manifest.number)
        path.parent.mkdir(parents=True, exist_ok=True)
        existing = self.load_manifest(run_id, manifest.number)
        if existing is not None and existing.status != "pending":
            return existing  # planned again after a crash: what was sent stays as it was
        _atomic_write(path, manifest.model_dump_json().encode())
        return manifest

    def load_manifest(self, run_id: str, number: int) -> Manifest | None:
        path = self._manifest_path(run_id, number)
        return Manifest.model_validate_json(path.read_bytes()) if path.is_file() else None

    def save_manifest(self, run_id: str, manifest: Manifest) -> None:
        _atomic_write(self._manifest_path(run_id, manifest.number), manifest.model_dump_json().encode())

    def manifests(self, run_id: str) -> list[Manifest]:
        folder = self._folder(run_id) / "batches"
        if not folder.is_dir():
            return []
        return [Manifest.model_validate_json(p.read_bytes()) for p in sorted(folder.glob("[0-9]*.json"))]

    def statuses(self, run_id: str) -> dict[int, ManifestStatus]:
        return {m.number: m.status for m in self.manifests(run_id)}

    @contextmanager
    def claim(self, run_id: str, number: int) -> Iterator[_FileClaim | None]:
        path = self._manifest_path(run_id, number)
        if not path.is_file():
            raise RunNotFound(f"request {number} of run {run_id!r} was never planned")
        with _flock(path.with_suffix(".lock"), blocking=False) as held:
            yield _FileClaim(path) if held else None

    def mark_once(self, run_id: str, name: str) -> bool:
        folder = self._folder(run_id) / "markers"
        folder.mkdir(parents=True, exist_ok=True)
        try:
            os.close(os.open(folder / name, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        except FileExistsError:
            return False
        return True

    def has_marker(self, run_id: str, name: str) -> bool:
        return (self._folder(run_id) / "markers" / name).is_file()

    # ---- usage ---------------------------------------------------------------------------------------

    def _usage_path(self, day: str) -> Path:
        return self.state_root / "usage" / f"{feed_file_name(day)}.json"

    def add_calls(self, day: str, count: int) -> int:
        path = self._usage_path(day)
        path.parent.mkdir(parents=True, exist_ok=True)
        with _flock(path.with_suffix(".lock"), blocking=True):
            total = self.calls_on(day) + count
            _atomic_write(path, orjson.dumps({"day": day, "bulkUploadCalls": total}))
        return total

    def calls_on(self, day: str) -> int:
        path = self._usage_path(day)
        return int(orjson.loads(path.read_bytes()).get("bulkUploadCalls", 0)) if path.is_file() else 0

    # ---- feeds ---------------------------------------------------------------------------------------

    def _feed_path(self, key: str) -> Path:
        return self.state_root / "feeds" / f"{feed_file_name(key)}.json"

    def load_feed(self, key: str) -> SourceState:
        path = self._feed_path(key)
        return SourceState.from_json(orjson.loads(path.read_bytes())) if path.is_file() else SourceState()

    def update_feed(self, key: str, change: Callable[[SourceState], SourceState]) -> SourceState:
        path = self._feed_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with _flock(path.with_suffix(".lock"), blocking=True):
            new = change(self.load_feed(key))
            _atomic_write(path, orjson.dumps(new.as_json()))
        return new


@contextmanager
def _flock(path: Path, *, blocking: bool) -> Iterator[bool]:
    descriptor = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise
            yield False
            return
        try:
            yield True
        finally:
            with contextlib.suppress(OSError):
                fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)


def _atomic_write(path: Path, data: bytes) -> None:
    """A crash never leaves a half-written file behind."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    with io.FileIO(handle, "w") as stream:
        stream.write(data)
    os.replace(temporary, path)

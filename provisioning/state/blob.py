"""The engine's state in Azure Blob Storage: the Function App's backend (tested on Azurite).

The runs container keeps the ``LocalState`` layout: ``<runId>/run.json``, ``requests/bulk-NNNN.json``,
``rejects.csv``, ``plan.json``, ``batches/NNNN.json`` and ``markers/``. A manifest carries its status and
group as blob metadata too, so one listing tells a run's progress. A claim is a 60-second blob lease on
the manifest (a sender's upload deadline stays inside it, see ``CLAIM_SECONDS``). Feed state is
``<feed>/state.json`` in the state container, updated with ETags.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any

from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import BlobPrefix, ContentSettings

from provisioning.core.plan.delta import SourceState
from provisioning.core.runs import Manifest, ManifestStatus, RunPlan, RunRecord
from provisioning.state.blob_json import JSON_CONTENT, create_marker, read_json, update_json
from provisioning.state.interface import (
    MANIFEST_FILE,
    REQUEST_FILE,
    RunNotFound,
    candidates,
    check_run_id,
    feed_file_name,
    newest_first,
)

if TYPE_CHECKING:
    from azure.storage.blob import BlobClient, BlobLeaseClient, ContainerClient

    from provisioning.state.storage import StorageClients

CLAIM_SECONDS = 60
"""A blob lease lasts at most 60 s: a sender under a claim must finish (or give up) well inside it."""
_CSV = ContentSettings(content_type="text/csv; charset=utf-8")
_SPOOL_BYTES = 8 * 1024 * 1024
"""Rejects stay in memory up to this size, then spill to a temporary file until the upload."""


class _LeaseClaim:
    def __init__(self, blob: BlobClient, held: BlobLeaseClient) -> None:
        self._blob = blob
        self._held = held

    def save(self, manifest: Manifest) -> None:
        _upload_manifest(self._blob, manifest, lease=self._held)

    def renew(self) -> None:
        with contextlib.suppress(HttpResponseError):
            self._held.renew()


class BlobState:
    def __init__(self, clients: StorageClients, runs_container: str, state_container: str) -> None:
        self._clients = clients
        self._runs_name = runs_container
        self._state_name = state_container
        self.description = f"containers {runs_container} and {state_container} of {clients.description}"

    @property
    def runs(self) -> ContainerClient:
        return self._clients.container(self._runs_name)

    @property
    def feeds(self) -> ContainerClient:
        return self._clients.container(self._state_name)

    def _name(self, run_id: str, *parts: str) -> str:
        return "/".join((check_run_id(run_id), *parts))

    def _download(self, name: str) -> bytes | None:
        try:
            return self.runs.download_blob(name).readall()
        except ResourceNotFoundError:
            return None

    # ---- run records, bodies, rejects ----------------------------------------------------------------

    def save_record(self, record: RunRecord) -> None:
        body = record.model_dump_json(indent=2).encode()
        self.runs.upload_blob(self._name(record.runId, "run.json"), body, overwrite=True, content_settings=JSON_CONTENT)

    def load_record(self, run_id: str) -> RunRecord:
        body = self._download(self._name(run_id, "run.json"))
        if body is None:
            raise RunNotFound(f"run {run_id!r} not found in container {self._runs_name}")
        return RunRecord.model_validate_json(body)

    def list_runs(self, limit: int = 50) -> list[RunRecord]:
        """The newest runs first (run ids sort by time), skipping folders without a run record."""
        run_ids = [
            item.name.rstrip("/") for item in self.runs.walk_blobs(delimiter="/") if isinstance(item, BlobPrefix)
        ]
        records: list[RunRecord] = []
        while run_ids:
            wanted = candidates(run_ids, limit - len(records))
            for run_id in wanted:
                try:
                    records.append(self.load_record(run_id))
                except RunNotFound:
                    continue
            run_ids = sorted(set(run_ids) - set(wanted), reverse=True) if len(records) < limit else []
        return newest_first(records)[:limit]

    def save_request(self, run_id: str, number: int, body: bytes) -> None:
        name = self._name(run_id, "requests", REQUEST_FILE.format(number=number))
        self.runs.upload_blob(name, body, overwrite=True, content_settings=JSON_CONTENT)

    def load_request(self, run_id: str, number: int) -> bytes:
        body = self._download(self._name(run_id, "requests", REQUEST_FILE.format(number=number)))
        if body is None:
            raise RunNotFound(f"request {number} of run {run_id!r} is not stored")
        return body

    @contextmanager
    def rejects_writer(self, run_id: str) -> Iterator[IO[str]]:
        """A text stream for the rejects CSV, uploaded when the block ends (also when it fails part-way)."""
        name = self._name(run_id, "rejects.csv")
        with tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES) as spool:
            stream = io.TextIOWrapper(spool, encoding="utf-8", newline="")
            try:
                yield stream
            finally:
                stream.flush()
                length = spool.tell()
                spool.seek(0)
                self.runs.upload_blob(name, spool, length=length, overwrite=True, content_settings=_CSV)
                stream.detach()

    def load_rejects(self, run_id: str) -> str:
        """The rejects CSV as text, line ends read as ``\\n`` like ``LocalState`` (the blob keeps CRLF)."""
        body = self._download(self._name(run_id, "rejects.csv"))
        return io.TextIOWrapper(io.BytesIO(body), encoding="utf-8").read() if body is not None else ""

    # ---- plans, manifests, markers -------------------------------------------------------------------

    def save_plan(self, run_id: str, plan: RunPlan) -> None:
        body = plan.model_dump_json().encode()
        self.runs.upload_blob(self._name(run_id, "plan.json"), body, overwrite=True, content_settings=JSON_CONTENT)

    def load_plan(self, run_id: str) -> RunPlan | None:
        body = self._download(self._name(run_id, "plan.json"))
        return RunPlan.model_validate_json(body) if body is not None else None

    def _manifest_blob(self, run_id: str, number: int) -> BlobClient:
        return self.runs.get_blob_client(self._name(run_id, "batches", MANIFEST_FILE.format(number=number)))

    def create_manifest(self, run_id: str, manifest: Manifest) -> Manifest:
        blob = self._manifest_blob(run_id, manifest.number)
        try:
            _upload_manifest(blob, manifest, overwrite=False)
            return manifest
        except ResourceExistsError:
            existing = self.load_manifest(run_id, manifest.number)
            if existing is not None and existing.status != "pending":
                return existing  # planned again after a crash: what was sent stays as it was
        _upload_manifest(blob, manifest)
        return manifest

    def load_manifest(self, run_id: str, number: int) -> Manifest | None:
        data, _ = read_json(self.runs, self._name(run_id, "batches", MANIFEST_FILE.format(number=number)))
        return Manifest.model_validate(data) if data else None

    def save_manifest(self, run_id: str, manifest: Manifest) -> None:
        blob = self._manifest_blob(run_id, manifest.number)
        try:
            _upload_manifest(blob, manifest)
        except HttpResponseError as exc:
            if exc.status_code != 412:  # leased by a sender right now: that sender's write wins
                raise

    def manifests(self, run_id: str) -> list[Manifest]:
        return [m for m in (self.load_manifest(run_id, n) for n in sorted(self.statuses(run_id))) if m is not None]

    def statuses(self, run_id: str) -> dict[int, ManifestStatus]:
        prefix = self._name(run_id, "batches/")
        found: dict[int, ManifestStatus] = {}
        for item in self.runs.list_blobs(name_starts_with=prefix, include=["metadata"]):
            number = item.name[len(prefix) :].removesuffix(".json")
            if number.isdigit():
                found[int(number)] = (item.metadata or {}).get("status", "pending")  # type: ignore[assignment]
        return found

    @contextmanager
    def claim(self, run_id: str, number: int) -> Iterator[_LeaseClaim | None]:
        blob = self._manifest_blob(run_id, number)
        try:
            held = blob.acquire_lease(lease_duration=CLAIM_SECONDS)
        except ResourceNotFoundError:
            raise RunNotFound(f"request {number} of run {run_id!r} was never planned") from None
        except HttpResponseError as exc:
            if exc.status_code != 409:  # 409 LeaseAlreadyPresent: another sender has it
                raise
            held = None
        try:
            yield _LeaseClaim(blob, held) if held is not None else None
        finally:
            if held is not None:
                with contextlib.suppress(HttpResponseError):  # expired, maybe taken by someone else: not ours
                    held.release()

    def mark_once(self, run_id: str, name: str) -> bool:
        return create_marker(self.runs, self._name(run_id, "markers", name))

    def has_marker(self, run_id: str, name: str) -> bool:
        return bool(self.runs.get_blob_client(self._name(run_id, "markers", name)).exists())

    # ---- usage ---------------------------------------------------------------------------------------

    def add_calls(self, day: str, count: int) -> int:
        def add(data: Any) -> dict[str, Any]:
            return {"day": day, "bulkUploadCalls": int((data or {}).get("bulkUploadCalls", 0)) + count}

        return int(update_json(self.feeds, f"usage/{feed_file_name(day)}.json", add, attempts=50)["bulkUploadCalls"])

    def calls_on(self, day: str) -> int:
        data, _ = read_json(self.feeds, f"usage/{feed_file_name(day)}.json")
        return int((data or {}).get("bulkUploadCalls", 0))

    # ---- feeds ---------------------------------------------------------------------------------------

    def _feed_blob(self, key: str) -> str:
        return f"{feed_file_name(key)}/state.json"

    def load_feed(self, key: str) -> SourceState:
        return SourceState.from_json(read_json(self.feeds, self._feed_blob(key))[0])

    def update_feed(self, key: str, change: Callable[[SourceState], SourceState]) -> SourceState:
        written = update_json(
            self.feeds, self._feed_blob(key), lambda data: change(SourceState.from_json(data)).as_json(), attempts=50
        )
        return SourceState.from_json(written)


def _upload_manifest(blob: BlobClient, manifest: Manifest, *, overwrite: bool = True, lease: Any = None) -> None:
    """The manifest, with its status and group also as metadata so that a listing tells the progress."""
    metadata = {"status": manifest.status, "group": str(manifest.group)}
    blob.upload_blob(
        manifest.model_dump_json().encode(),
        overwrite=overwrite,
        metadata=metadata,
        lease=lease,
        content_settings=JSON_CONTENT,
    )

"""Run records in blob storage, and JSON state blobs that several Function instances update at once.

``BlobRunStore`` keeps the ``LocalRunStore`` layout in one container: ``<runId>/run.json``,
``<runId>/requests/bulk-NNNN.json`` and ``<runId>/rejects.csv``.

The JSON helpers never lose an update between instances: ``write_json`` writes only if the blob still has
the ETag that was read (or does not exist yet), ``update_json`` retries the read-change-write until it goes
through, ``create_marker`` lets exactly one caller win, and ``lease`` is a short mutex on a blob.
"""

from __future__ import annotations

import contextlib
import io
import json
import random
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.storage.blob import BlobPrefix, ContentSettings

from provisioning.core.errors import ProvisioningError
from provisioning.core.runs import RunRecord
from provisioning.state.local import REQUEST_FILE, RunNotFound, newest_first

if TYPE_CHECKING:
    from azure.storage.blob import BlobClient, BlobLeaseClient, ContainerClient

    from provisioning.state.storage import StorageClients

_JSON = ContentSettings(content_type="application/json")
_CSV = ContentSettings(content_type="text/csv; charset=utf-8")
_SPOOL_BYTES = 8 * 1024 * 1024
"""Rejects stay in memory up to this size, then spill to a temporary file until the upload."""
_RETRY_BASE, _RETRY_CAP = 0.05, 1.0
"""``update_json`` waits a random time up to base × 2^attempt (at most cap) seconds after losing a race."""


class ConcurrentUpdate(ProvisioningError):
    """Someone else wrote the blob between our read and our write (HTTP 412), or created it first (409)."""

    def __init__(self, container: str, name: str, detail: str) -> None:
        self.container = container
        self.name = name
        super().__init__(f"{container}/{name}: {detail}")


class BlobRunStore:
    """A ``RunStore`` on a blob container (created if missing on first use)."""

    def __init__(self, clients: StorageClients, container: str) -> None:
        self._clients = clients
        self._container_name = container
        self._container: ContainerClient | None = None

    @property
    def container_client(self) -> ContainerClient:
        if self._container is None:
            self._container = self._clients.container(self._container_name)
        return self._container

    def _name(self, run_id: str, *parts: str) -> str:
        if not run_id or "/" in run_id or "\\" in run_id or run_id.startswith("."):
            raise RunNotFound(f"run {run_id!r} not found")
        return "/".join((run_id, *parts))

    def _download(self, name: str) -> bytes | None:
        try:
            return self.container_client.download_blob(name).readall()
        except ResourceNotFoundError:
            return None

    def save_record(self, record: RunRecord) -> None:
        body = record.model_dump_json(indent=2).encode()
        self.container_client.upload_blob(
            self._name(record.runId, "run.json"), body, overwrite=True, content_settings=_JSON
        )

    def load_record(self, run_id: str) -> RunRecord:
        body = self._download(self._name(run_id, "run.json"))
        if body is None:
            raise RunNotFound(f"run {run_id!r} not found in container {self._container_name}")
        return RunRecord.model_validate_json(body)

    def list_runs(self, limit: int = 50) -> list[RunRecord]:
        """The newest runs first (run ids sort by time), skipping folders without a run record."""
        run_ids = sorted(
            (item.name.rstrip("/") for item in self.container_client.walk_blobs(delimiter="/") if _is_prefix(item)),
            reverse=True,
        )
        records: list[RunRecord] = []
        for run_id in run_ids:
            if len(records) >= limit:
                break
            try:
                records.append(self.load_record(run_id))
            except RunNotFound:
                continue
        return newest_first(records)

    def save_request(self, run_id: str, number: int, body: bytes) -> None:
        name = self._name(run_id, "requests", REQUEST_FILE.format(number=number))
        self.container_client.upload_blob(name, body, overwrite=True, content_settings=_JSON)

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
                self.container_client.upload_blob(name, spool, length=length, overwrite=True, content_settings=_CSV)
                stream.detach()

    def load_rejects(self, run_id: str) -> str:
        """The rejects CSV as text, line ends read as ``\\n`` like ``LocalRunStore`` (the blob keeps CRLF)."""
        body = self._download(self._name(run_id, "rejects.csv"))
        return io.TextIOWrapper(io.BytesIO(body), encoding="utf-8").read() if body is not None else ""


def _is_prefix(item: object) -> bool:
    return isinstance(item, BlobPrefix)


# ---- JSON blobs with optimistic concurrency ------------------------------------------------------------


def read_json(container_client: ContainerClient, name: str) -> tuple[Any | None, str | None]:
    """The blob's JSON and its ETag, or ``(None, None)`` when there is no such blob."""
    try:
        downloader = container_client.download_blob(name)
        body = downloader.readall()
    except ResourceNotFoundError:
        return None, None
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise ProvisioningError(f"{container_client.container_name}/{name} is not JSON: {exc}") from exc
    return data, downloader.properties.etag


def write_json(
    container_client: ContainerClient,
    name: str,
    data: Any,
    *,
    etag: str | None = None,
    create_only: bool = False,
) -> str:
    """Write ``data`` as JSON and return the new ETag.

    With ``etag``, only if the blob still has it; with ``create_only``, only if the blob does not exist.
    Either condition failing raises ``ConcurrentUpdate``. With neither, the write is unconditional.
    """
    if etag is not None and create_only:
        raise ValueError("write_json: pass etag or create_only, not both")
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    conditions: dict[str, Any] = {}
    if etag is not None:
        conditions = {"etag": etag, "match_condition": MatchConditions.IfNotModified}
    try:
        blob_client = container_client.get_blob_client(name)
        result = blob_client.upload_blob(body, overwrite=not create_only, content_settings=_JSON, **conditions)
    except HttpResponseError as exc:
        if exc.status_code in (409, 412):
            raise ConcurrentUpdate(container_client.container_name, name, _conflict(exc, create_only)) from exc
        raise
    return str(result["etag"])


def update_json(
    container_client: ContainerClient,
    name: str,
    change: Callable[[Any | None], Any],
    *,
    attempts: int = 10,
) -> Any:
    """Read, ``change`` (given ``None`` when the blob is missing), write back; retried while others write.

    ``change`` may run several times and must only compute the new value from the one it is given.
    Returns the value that was written; ``ConcurrentUpdate`` if every attempt lost the race.
    """
    for attempt in range(attempts):
        data, etag = read_json(container_client, name)
        new = change(data)
        try:
            write_json(container_client, name, new, etag=etag, create_only=etag is None)
        except ConcurrentUpdate:
            if attempt + 1 < attempts:
                time.sleep(random.uniform(0, min(_RETRY_CAP, _RETRY_BASE * 2**attempt)))
            continue
        return new
    raise ConcurrentUpdate(
        container_client.container_name, name, f"still being changed by other writers after {attempts} attempts"
    )


def create_marker(container_client: ContainerClient, name: str, body: bytes = b"") -> bool:
    """Create the blob if it does not exist: True for the one caller that created it, False for the others."""
    return _create_if_missing(container_client.get_blob_client(name), body)


def _create_if_missing(blob_client: BlobClient, body: bytes) -> bool:
    try:
        blob_client.upload_blob(body, overwrite=False)
    except HttpResponseError as exc:  # 409 BlobAlreadyExists, or 412 when a racing create got there first
        if exc.status_code in (409, 412):
            return False
        raise
    return True


@contextmanager
def lease(blob_client: BlobClient, seconds: int = 60) -> Iterator[BlobLeaseClient | None]:
    """Hold a lease on the blob (an empty one is created if missing) for the block, or yield None if taken.

    The lease lasts ``seconds`` (15 to 60, or -1 for no expiry): work that may take longer renews it with
    ``lease.renew()``. It is released when the block ends; a lease that already expired is left alone.
    """
    if seconds != -1 and not 15 <= seconds <= 60:
        raise ValueError(f"a blob lease lasts 15 to 60 seconds (or -1), not {seconds}")
    held = _acquire(blob_client, seconds)
    try:
        yield held
    finally:
        if held is not None:
            with contextlib.suppress(HttpResponseError):  # expired, maybe taken by someone else: not ours
                held.release()


def _acquire(blob_client: BlobClient, seconds: int) -> BlobLeaseClient | None:
    try:
        return blob_client.acquire_lease(lease_duration=seconds)
    except ResourceNotFoundError:
        pass
    except HttpResponseError as exc:
        if exc.status_code == 409:  # LeaseAlreadyPresent
            return None
        raise
    _create_if_missing(blob_client, b"")
    try:
        return blob_client.acquire_lease(lease_duration=seconds)
    except HttpResponseError as exc:
        if exc.status_code == 409:
            return None
        raise


def _conflict(exc: HttpResponseError, create_only: bool) -> str:
    code = getattr(exc, "error_code", None) or ""
    code = getattr(code, "value", code)  # a StorageErrorCode member or a plain string
    what = "already exists" if create_only else "was changed by another writer since it was read"
    return f"{what} (HTTP {exc.status_code} {code})".replace(" )", ")")

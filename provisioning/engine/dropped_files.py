"""A file dropped into the inbound container: which run it is, which profile reads it, and quarantine.

CSV, JSON and JSON lines, told apart by the blob's content type or name (``engine.sources``). The blob
is read with our own client in small chunks (never whole into memory); the trigger only tells which
blob it is.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime
from typing import IO, Any

from azure.storage.blob import BlobClient

from provisioning.core.errors import SourceError
from provisioning.core.plan.routing import parse_routes, profile_for, source_key
from provisioning.core.runs import RunRecord, utc_now
from provisioning.engine.sources import open_source
from provisioning.engine.workflow import StartRequest, Workflow
from provisioning.settings import Settings
from provisioning.state.storage import StorageClients

log = logging.getLogger("provisioning.engine.dropped_files")

APPROVAL_METADATA = "approved"


class _DownloadStream:
    """The ``read(n)`` a ``CsvSource`` wants, over a chunked blob download: memory is bounded by the SDK's
    first-get and chunk sizes (32 MiB and 4 MiB by default), never by the file's size."""

    def __init__(self, blob: BlobClient) -> None:
        self._chunks = blob.download_blob(max_concurrency=1).chunks()
        self._buffer = b""
        self.name = blob.blob_name

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer += chunk
        if size < 0:
            data, self._buffer = self._buffer, b""
        else:
            data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data


def provision_dropped_blob(
    workflow: Workflow, storage: StorageClients, settings: Settings, blob_path: str
) -> RunRecord:
    """Starts (or finds again) the run of ``<inbound container>/<blob_path>``; a bad file is quarantined."""
    container = storage.container(settings.hr_inbound_container)
    blob = container.get_blob_client(blob_path)
    properties = blob.get_blob_properties()
    routes = parse_routes(settings.hr_profile_routes)
    name = f"{settings.hr_inbound_container}/{blob_path}"
    run_id = blob_run_id(name, str(properties.etag), properties.last_modified)
    approved = (properties.metadata or {}).get(APPROVAL_METADATA, "").lower() == "true"
    content_type = properties.content_settings.content_type if properties.content_settings else None
    stream: IO[bytes] = _DownloadStream(blob)  # type: ignore[assignment]
    request = StartRequest(
        source=open_source(stream, name=name, content_type=content_type),
        profile=profile_for(blob_path, routes, settings.hr_default_profile),
        trigger="blob",
        feed=source_key(blob_path, routes, settings.hr_default_profile),
        run_id=run_id,
        approved_by="marker" if approved else None,
    )
    try:
        return workflow.start(request)
    except SourceError as exc:
        quarantine(storage, settings, blob, blob_path, exc, run_id)
        return workflow.state.load_record(run_id)


def quarantine(
    storage: StorageClients, settings: Settings, blob: BlobClient, blob_path: str, exc: SourceError, run_id: str
) -> None:
    """Moves a file that cannot be read to the quarantine container, next to a report of why."""
    target = storage.container(settings.hr_quarantine_container)
    copy = target.get_blob_client(blob_path)
    copy.upload_blob(blob.download_blob().chunks(), overwrite=True)
    report: dict[str, Any] = {
        "file": blob_path,
        "runId": run_id,
        "error": exc.reason,
        "line": exc.line,
        "message": str(exc),
        "quarantinedAt": utc_now(),
    }
    target.get_blob_client(f"{blob_path}.error.json").upload_blob(json.dumps(report, indent=2), overwrite=True)
    blob.delete_blob()
    log.warning("quarantined %s: %s", blob_path, exc)


def blob_run_id(path: str, etag: str, last_modified: datetime | None) -> str:
    """The same blob (name and ETag) always gives the same run id: redeliveries start one run, not two."""
    digest = hashlib.sha256(f"{path}\n{etag}".encode()).hexdigest()[:8]
    moment = (last_modified or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{moment}-{digest}"

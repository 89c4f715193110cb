"""A file dropped into the inbound container: which run it is, which profile reads it, and quarantine.

The blob is read with our own client in small chunks (never whole into memory); the trigger only
tells which blob it is.
"""

from __future__ import annotations

import json
import logging
from typing import IO, Any

from azure.storage.blob import BlobClient

from provisioning.core.errors import SourceError
from provisioning.core.plan.routing import parse_routes, profile_for, source_key
from provisioning.core.read.csv_source import CsvSource
from provisioning.core.runs import RunRecord, utc_now
from provisioning.engine.fanout import Fanout, blob_run_id
from provisioning.engine.services import Services

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


def provision_dropped_blob(services: Services, blob_path: str) -> RunRecord:
    """Starts (or finds again) the run of ``<inbound container>/<blob_path>``; a bad file is quarantined."""
    settings = services.settings
    container = services.storage.container(settings.hr_inbound_container)
    blob = container.get_blob_client(blob_path)
    properties = blob.get_blob_properties()
    routes = parse_routes(settings.hr_profile_routes)
    run_id = blob_run_id(f"{settings.hr_inbound_container}/{blob_path}", str(properties.etag), properties.last_modified)
    approved = (properties.metadata or {}).get(APPROVAL_METADATA, "").lower() == "true"
    stream: IO[bytes] = _DownloadStream(blob)  # type: ignore[assignment]
    source = CsvSource(stream, name=f"{settings.hr_inbound_container}/{blob_path}")
    fanout = Fanout(services)
    try:
        return fanout.start(
            source,
            profile_name=profile_for(blob_path, routes, settings.hr_default_profile),
            run_id=run_id,
            trigger="blob",
            source_key=source_key(blob_path, routes),
            approved_by="marker" if approved else None,
        )
    except SourceError as exc:
        quarantine(services, blob, blob_path, exc, run_id)
        return fanout.store.load_record(run_id)


def quarantine(services: Services, blob: BlobClient, blob_path: str, exc: SourceError, run_id: str) -> None:
    """Moves a file that cannot be read to the quarantine container, next to a report of why."""
    target = services.storage.container(services.settings.hr_quarantine_container)
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

"""One source factory for every door: a file name or suffix, a content type, or a blob's name and type.

CSV, JSON (an array, or ``{"records": [...]}``) and JSON lines work the same through the CLI, the HTTP
API and a file dropped into the inbound container. A content type decides when it names a format; a
generic one (``application/octet-stream``, what most uploads get) leaves it to the name's suffix; with
neither, a source is CSV.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO, Any, Literal

from provisioning.core.errors import ProfileError, SourceError
from provisioning.core.mapping.profile import Profile
from provisioning.core.read.csv_source import CsvSource
from provisioning.core.read.json_source import JsonSource
from provisioning.core.read.records import RecordSource

Format = Literal["csv", "json"]
CSV_TYPES = frozenset({"text/csv", "text/plain", "application/csv", "text/tab-separated-values"})
JSON_TYPES = frozenset(
    {"application/json", "application/x-ndjson", "application/jsonl", "application/x-jsonlines", "text/json"}
)
GENERIC_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})
JSON_SUFFIXES = (".json", ".jsonl", ".ndjson")
HRMS_PREFIX = "hrms:"


class UnsupportedFormat(SourceError):
    """A content type that names neither CSV nor JSON (HTTP answers 415)."""


def source_format(name: str = "", content_type: str | None = None) -> Format:
    """CSV or JSON (JSON lines included) from a content type, else from the name's suffix."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind in CSV_TYPES:
        return "csv"
    if kind in JSON_TYPES:
        return "json"
    if kind not in GENERIC_TYPES:
        raise UnsupportedFormat(name or "the input", f"Content-Type {kind}: send text/csv or application/json")
    return "json" if name.lower().endswith(JSON_SUFFIXES) else "csv"


def open_source(
    data: bytes | Path | IO[bytes],
    *,
    name: str,
    content_type: str | None = None,
    profile: Profile | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
) -> RecordSource:
    """``data`` (bytes, a file, or a binary stream read as it goes) as a source of records.

    Options given here win over the profile's ``source`` options.
    """
    options = profile.source if profile else None
    encoding = encoding or (options.encoding if options else None)
    delimiter = delimiter or (options.delimiter if options else None)
    if source_format(name, content_type) == "json":
        if isinstance(data, Path):
            return JsonSource.from_json(data, name=name)
        if isinstance(data, bytes):
            return JsonSource.from_json(data, name=name)
        return JsonSource.from_stream(data, name=name)
    return CsvSource(data, name=name, encoding=encoding, delimiter=delimiter)


def open_location(
    location: str,
    *,
    profile: Profile | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    stdin: IO[bytes] | None = None,
    connector_config: str | None = None,
) -> RecordSource:
    """The CLI's SOURCE: ``-`` is standard input (CSV), ``hrms:ID`` pulls from an HR system with
    ``connector_config``, anything else is a file, by its suffix."""
    if location.startswith(HRMS_PREFIX):
        return _hrms(location.removeprefix(HRMS_PREFIX), connector_config)
    if location == "-":
        stream = stdin or sys.stdin.buffer
        return open_source(stream, name="standard input", profile=profile, encoding=encoding, delimiter=delimiter)
    return open_source(Path(location), name=location, profile=profile, encoding=encoding, delimiter=delimiter)


def source_from_args(args: Any, profile: Profile | None = None) -> RecordSource:
    """The SOURCE of a CLI command, with its --encoding, --delimiter and --connector-config."""
    return open_location(
        args.source,
        profile=profile,
        encoding=args.encoding,
        delimiter=args.delimiter,
        connector_config=args.connector_config,
    )


def _hrms(connector_id: str, connector_config: str | None) -> RecordSource:
    from connectors.registry import load_registry
    from provisioning.hr.connector_source import connector_source
    from provisioning.hr.jobs import load_config_file
    from provisioning.settings import load_settings
    from provisioning.state.tokens import LocalTokenStore

    if not connector_config:
        raise ProfileError(f"SOURCE hrms:{connector_id} needs --connector-config FILE")
    settings = load_settings()
    folder = Path(settings.connectors_folder) if settings.connectors_folder else None
    tokens = LocalTokenStore(Path(settings.state_dir))
    return connector_source(
        connector_id,
        load_config_file(connector_config),
        registry=load_registry(folder),
        tokens=tokens,
        allow_loopback_http=settings.connectors_allow_loopback_http,
        allow_private_networks=settings.connectors_allow_private_networks,
    )

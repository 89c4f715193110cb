"""Opening a source named on the command line (or handed over by a trigger) as a ``RecordSource``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO, Any

from provisioning.core.errors import ProfileError
from provisioning.core.mapping.profile import Profile
from provisioning.core.read.csv_source import CsvSource
from provisioning.core.read.json_source import JsonSource
from provisioning.core.read.records import RecordSource

JSON_SUFFIXES = (".json", ".jsonl", ".ndjson")
HRMS_PREFIX = "hrms:"


def open_source(
    location: str,
    *,
    profile: Profile | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    stdin: IO[bytes] | None = None,
    connector_config: str | None = None,
) -> RecordSource:
    """``-`` is standard input (CSV); ``*.json``/``*.jsonl`` are JSON records; ``hrms:ID`` pulls from an HR
    system with ``connector_config``; anything else is CSV.

    Command-line options win over the profile's ``source`` options.
    """
    options = profile.source if profile else None
    encoding = encoding or (options.encoding if options else None)
    delimiter = delimiter or (options.delimiter if options else None)
    if location.startswith(HRMS_PREFIX):
        return _hrms(location.removeprefix(HRMS_PREFIX), connector_config)
    if location == "-":
        stream = stdin or sys.stdin.buffer
        return CsvSource(stream, name="standard input", encoding=encoding, delimiter=delimiter)
    if location.lower().endswith(JSON_SUFFIXES):
        return JsonSource.from_json(Path(location), name=location)
    return CsvSource(location, name=location, encoding=encoding, delimiter=delimiter)


def source_from_args(args: Any, profile: Profile | None = None) -> RecordSource:
    """The SOURCE of a CLI command, with its --encoding, --delimiter and --connector-config."""
    return open_source(
        args.source,
        profile=profile,
        encoding=args.encoding,
        delimiter=args.delimiter,
        connector_config=args.connector_config,
    )


def _hrms(connector_id: str, connector_config: str | None) -> RecordSource:
    from provisioning.hr.connector_source import LocalTokenStore, connector_source, load_config_file
    from provisioning.settings import load_settings

    if not connector_config:
        raise ProfileError(f"SOURCE hrms:{connector_id} needs --connector-config FILE")
    settings = load_settings()
    folder = Path(settings.connectors_folder) if settings.connectors_folder else None
    tokens = LocalTokenStore(Path(settings.runs_dir).parent / "state")
    return connector_source(connector_id, load_config_file(connector_config), tokens=tokens, extra_definitions=folder)

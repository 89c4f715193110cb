"""Opening a source named on the command line (or handed over by a trigger) as a ``RecordSource``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO

from .csv_source import CsvSource
from .json_source import JsonSource
from .profile import Profile
from .records import RecordSource

JSON_SUFFIXES = (".json", ".jsonl", ".ndjson")


def open_source(
    location: str,
    *,
    profile: Profile | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    stdin: IO[bytes] | None = None,
) -> RecordSource:
    """``-`` is standard input (CSV); ``*.json``/``*.jsonl`` are JSON records; anything else is CSV.

    Command-line options win over the profile's ``source`` options.
    """
    options = profile.source if profile else None
    encoding = encoding or (options.encoding if options else None)
    delimiter = delimiter or (options.delimiter if options else None)
    if location == "-":
        stream = stdin or sys.stdin.buffer
        return CsvSource(stream, name="standard input", encoding=encoding, delimiter=delimiter)
    if location.lower().endswith(JSON_SUFFIXES):
        return JsonSource.from_json(Path(location), name=location)
    return CsvSource(location, name=location, encoding=encoding, delimiter=delimiter)

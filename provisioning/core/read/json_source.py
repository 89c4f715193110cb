"""Worker records as JSON: a list of objects, JSON lines, or dicts handed over in memory.

HR connectors and the HTTP API feed the pipeline through this source; fields are dotted and indexed
paths into each object (``person.names[0].first``).
"""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import orjson

from provisioning.core.errors import RowError, SourceError
from provisioning.core.read.records import Getter, NumberedRecord

_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
_SAMPLED = 100
_HEAD = 64 * 1024


def path_getter(path: str) -> Getter:
    """A function that follows ``a.b[0].c`` into nested dicts and lists ("" where anything is missing)."""
    steps: list[str | int] = []
    for key, position in _STEP.findall(path):
        steps.append(int(position) if position else key)
    if len(steps) == 1:
        key = steps[0]
        return lambda record: record.get(key, "") if isinstance(record, dict) else ""

    def get(record: Any) -> Any:
        value = record
        for step in steps:
            if isinstance(step, int):
                if not isinstance(value, list) or step >= len(value):
                    return ""
            elif not isinstance(value, dict):
                return ""
            value = value[step] if isinstance(step, int) else value.get(step, "")
        return value

    return get


MAX_FIELD_DEPTH = 16
"""Auto-map looks this deep into a record; HR records nest a few levels, never hundreds."""


def flatten_keys(record: Any, prefix: str = "", depth: int = 0) -> list[str]:
    """Every leaf path of a record (``manager.id``, ``emails[0].value``): what auto-map looks at."""
    if depth >= MAX_FIELD_DEPTH:
        return [prefix] if prefix else []
    if isinstance(record, dict):
        keys: list[str] = []
        for key, value in record.items():
            keys.extend(flatten_keys(value, f"{prefix}.{key}" if prefix else str(key), depth + 1))
        return keys
    if isinstance(record, list) and record:
        return flatten_keys(record[0], f"{prefix}[0]", depth + 1)
    return [prefix] if prefix else []


class JsonSource:
    """Records from dicts in memory, a JSON array, or JSON lines (one object per line)."""

    def __init__(
        self, records: Iterable[Any], *, name: str = "records", line_label: str = "record", allow_empty: bool = False
    ) -> None:
        self.name = name
        self.line_label = line_label
        self.allow_empty = allow_empty
        """An HR system's delta may rightly hold nothing; a file or request body never should."""
        self._numbered: Iterator[NumberedRecord] = enumerate(records, start=1)
        self._sample: list[NumberedRecord] | None = None

    @classmethod
    def from_json(cls, data: bytes | str | Path, *, name: str | None = None) -> JsonSource:
        """A JSON array of objects, ``{"records": [...]}``, or JSON lines; a path is read from disk."""
        if isinstance(data, Path):
            name = name or str(data)
            data = data.read_bytes()
        raw = data.encode() if isinstance(data, str) else data
        return cls.from_stream(io.BytesIO(raw), name=name or "JSON input")

    @classmethod
    def from_stream(cls, stream: IO[bytes], *, name: str) -> JsonSource:
        """Like ``from_json``, from a binary stream. JSON lines are read a line at a time (memory stays
        flat at any size); a JSON document (an array or ``{"records": [...]}``) is parsed whole."""
        head = stream.read(_HEAD)
        stripped = head.lstrip()
        if stripped.startswith(b"\xef\xbb\xbf"):
            stripped = stripped[3:].lstrip()
        while not stripped and head:
            head = stream.read(_HEAD)
            stripped = head.lstrip()
        if not stripped:
            raise SourceError(name, "is empty: expected a JSON array of objects or JSON lines")
        if stripped.startswith((b"[", b"{")) and not _looks_like_json_lines(stripped):
            try:
                document = orjson.loads(stripped + stream.read())
            except orjson.JSONDecodeError as exc:
                raise SourceError(name, f"is not valid JSON: {exc}") from exc
            if isinstance(document, dict):
                records = document.get("records")
                if not isinstance(records, list):
                    raise SourceError(
                        name, 'is one JSON object: send an array of records, {"records": [...]}, or JSON lines'
                    )
                document = records
            if not isinstance(document, list):
                raise SourceError(name, "is not a JSON array of records")
            return cls(document, name=name, line_label="record")
        source = cls((), name=name, line_label="line")
        source._numbered = _json_lines(_lines(stripped, stream))
        return source

    @property
    def fields(self) -> list[str]:
        seen: dict[str, None] = {}
        for _, record in self._peek():
            if isinstance(record, dict):
                seen.update(dict.fromkeys(flatten_keys(record)))
        return list(seen)

    def getter(self, field: str) -> Getter:
        return path_getter(field)

    def records(self) -> Iterator[NumberedRecord]:
        count = 0
        for number, record in itertools.chain(self._peek(), self._numbered):
            count += 1
            if isinstance(record, dict | RowError):
                yield number, record
            else:
                yield number, RowError(f"expected an object, found {type(record).__name__}", field="(record)")
        if count == 0 and not self.allow_empty:
            raise SourceError(self.name, "holds no records")

    def _peek(self) -> list[NumberedRecord]:
        """The first records, read ahead once so that ``fields`` can look at them."""
        if self._sample is None:
            self._sample = list(itertools.islice(self._numbered, _SAMPLED))
        return self._sample


def _looks_like_json_lines(head: bytes) -> bool:
    """``{...}\n{...}``: the first line is a whole object on its own."""
    first, newline, _ = head.partition(b"\n")
    if not newline or not first.strip().startswith(b"{"):
        return False
    try:
        return isinstance(orjson.loads(first), dict)
    except orjson.JSONDecodeError:
        return False


def _lines(head: bytes, stream: IO[bytes]) -> Iterator[bytes]:
    yield from io.BufferedReader(_Prefixed(head, stream))


class _Prefixed(io.RawIOBase):
    """The bytes already read, then the rest of the stream, as one raw stream for line reading."""

    def __init__(self, head: bytes, stream: IO[bytes]) -> None:
        self._head = head
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._head[: len(buffer)] if self._head else self._stream.read(len(buffer))
        self._head = self._head[len(data) :] if self._head else b""
        buffer[: len(data)] = data
        return len(data)


def _json_lines(data: Iterable[bytes]) -> Iterator[NumberedRecord]:
    for number, line in enumerate(data, start=1):
        if not line.strip():
            continue
        try:
            yield number, orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            yield number, RowError(f"not valid JSON: {exc}", field="(line)")

"""What every source of worker records offers the pipeline: named fields, getters, and numbered records.

A CSV file, a JSON document, an HR system's pages and an HTTP body all become a ``RecordSource``,
so mapping, validation and bulk building never know where the records came from.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol

from provisioning.core.errors import RowError

Getter = Callable[[Any], Any]
NumberedRecord = tuple[int, Any]
"""``(line, record)``: the line (or position) a record starts at, and the record or a ``RowError``."""


class RecordSource(Protocol):
    """A single-pass stream of worker records."""

    name: str
    """What error messages call the source: a file name, "request body", "hrms:workday"."""

    line_label: str
    """What a record's number is: "line" for text files, "record" for JSON arrays."""

    @property
    def fields(self) -> list[str]:
        """The field names records carry (a CSV header, or keys seen in the first records)."""
        ...

    def getter(self, field: str) -> Getter:
        """A fast function that takes a record and returns the raw value of ``field`` ("" if absent)."""
        ...

    def records(self) -> Iterator[NumberedRecord]:
        """Each record with its number; a record that is malformed on its own comes as a ``RowError``.

        Raises ``SourceError`` when the source as a whole is unusable.
        """
        ...


__all__ = ["Getter", "NumberedRecord", "RecordSource", "RowError"]

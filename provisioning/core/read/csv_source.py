"""Reading CSV exports as a stream: encoding and delimiter detection, strict decoding, exact line numbers.

Memory stays flat whatever the file size: bytes are read in blocks cut at line ends, each block is
decoded strictly (so a bad byte is reported with its line, never replaced), and rows are handed on
one at a time.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import operator
import os
import re
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from provisioning.core.errors import RowError, SourceError
from provisioning.core.read.records import Getter, NumberedRecord

_BLOCK_SIZE = 1 << 16
_DELIMITERS = (",", ";", "\t", "|")
_QUOTED = re.compile(r'"(?:[^"]|"")*"')
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
DELIMITER_NAMES = {"comma": ",", "semicolon": ";", "tab": "\t", "pipe": "|"}

CsvInput = str | Path | bytes | IO[bytes]


def detect_encoding(head: bytes, named: str | None = None) -> tuple[str, int]:
    """The codec to decode with and the length of the byte-order mark to skip.

    A BOM decides by itself (UTF-8, UTF-16, UTF-32); without one the file is UTF-8 unless the caller
    names another encoding. A named UTF-16/32 without byte order takes it from the BOM.
    """
    bom_codec, bom_length = next(((c, len(b)) for b, c in _BOMS if head.startswith(b)), (None, 0))
    if named is None:
        return bom_codec or "utf-8", bom_length
    try:
        info = codecs.lookup(named)
    except (LookupError, ValueError, TypeError):
        info = None
    if info is None or not getattr(info, "_is_text_encoding", True):  # rot13, base64...: not a text encoding
        raise SourceError("encoding", f"unknown text encoding {named[:40]!r} (for example utf-8, cp1252, utf-16)")
    canonical = info.name
    if canonical in ("utf-16", "utf-32"):
        if bom_codec and bom_codec.startswith(canonical):
            return bom_codec, bom_length
        return canonical + "-le", 0
    if canonical in ("utf-8", "utf-8-sig") and bom_codec == "utf-8":
        return "utf-8", bom_length
    return canonical, 0


def detect_delimiter(header_line: str) -> str:
    """The delimiter used most often outside quotes in the header line (comma when none is)."""
    unquoted = _QUOTED.sub("", header_line)
    counts = [(unquoted.count(d), -i, d) for i, d in enumerate(_DELIMITERS)]
    best = max(counts)
    return best[2] if best[0] > 0 else ","


class CsvSource:
    """A CSV file, stream or byte string, as a single-pass ``RecordSource`` of ``list[str]`` rows."""

    line_label = "line"

    def __init__(
        self,
        data: CsvInput,
        *,
        name: str | None = None,
        encoding: str | None = None,
        delimiter: str | None = None,
    ) -> None:
        self.name = name or _default_name(data)
        self._data = data
        self._named_encoding = encoding
        self._named_delimiter = DELIMITER_NAMES.get(delimiter or "", delimiter)
        if self._named_delimiter is not None and len(self._named_delimiter) != 1:
            raise SourceError(self.name, f"delimiter must be one character, not {delimiter!r}")
        self._encoding = ""
        self._delimiter = ""
        self.blank_lines = 0
        self._header: list[str] | None = None
        self._index: dict[str, int] = {}
        self._lines: _Lines | None = None
        self._reader: Any = None
        self._stream: IO[bytes] | None = None
        self._resume: tuple[int, int] | None = None
        """(byte offset, line) where a continuation starts reading (see ``second_half``)."""
        self.first_line = 2
        """The line of the first record this source reads: 2 (after the header), or a continuation's."""

    @property
    def encoding(self) -> str:
        """The codec the file is decoded with (detected unless named)."""
        self._open()
        return self._encoding

    @property
    def delimiter(self) -> str:
        """The field delimiter (detected from the header line unless named)."""
        self._open()
        return self._delimiter

    @property
    def fields(self) -> list[str]:
        self._open()
        assert self._header is not None
        return list(self._header)

    def column_index(self, field: str) -> int:
        """The position of ``field`` in each row; a column the header lacks is a file-level error."""
        self._open()
        if field not in self._index:
            raise SourceError(self.name, f"column {field!r} is not in the header (columns: {', '.join(self.fields)})")
        return self._index[field]

    def getter(self, field: str) -> Getter:
        return operator.itemgetter(self.column_index(field))

    def second_half(self, *, min_bytes: int = 0) -> CsvSource | None:
        """The same file from the first line that starts after its middle byte, as a source of its own, for a
        second process to read while this one reads up to it; None when the file cannot be split so.

        Only a file on disk of at least ``min_bytes``, in an encoding whose line feed is the single byte 0x0A
        (UTF-8, the cp125x and ISO-8859 code pages: that byte is always a line feed there). The split line
        may fall inside a quoted field that spans lines: only the reader of the first half can tell, and
        it uses the second half's records only when one of its own records starts on exactly that line
        (``provisioning.core.plan.pipeline``)."""
        if not isinstance(self._data, str | Path) or self._resume is not None:
            return None
        self._open()
        if "\n".encode(self._encoding) != b"\n":
            return None
        try:
            size = os.path.getsize(self._data)
            if size < max(min_bytes, 2):
                return None
            offset, line = _line_after(self._data, size // 2)
        except OSError:
            return None
        if offset >= size:
            return None
        rest = CsvSource(self._data, name=self.name, encoding=self._encoding, delimiter=self._delimiter)
        rest._encoding, rest._delimiter = self._encoding, self._delimiter
        rest._header, rest._index = list(self._header or []), dict(self._index)
        rest._resume, rest.first_line = (offset, line), line
        return rest

    def records(self) -> Iterator[NumberedRecord]:
        self._open()
        assert self._lines is not None and self._header is not None
        width = len(self._header)
        lines = self._lines
        reader = self._reader
        rows = 0
        try:
            while True:
                start = lines.consumed + 1
                lines.mark()
                try:
                    fields = next(reader)
                except StopIteration:
                    break
                except _Runaway:
                    fields = None
                if fields is None or (len(lines.held) > 1 and not _closes_properly(lines.held, self._delimiter)):
                    # A quote opened on line ``start`` and never closed (a later row's quote seemed to close
                    # it, or nothing did): that line is the bad row; the lines after it are read again.
                    rows += 1
                    yield start, RowError(_UNCLOSED_REASON, field="(row)")
                    lines.read_again(lines.held[1:])
                    reader = csv.reader(lines, delimiter=self._delimiter)
                    continue
                if not fields or (len(fields) == 1 and not fields[0].strip()):  # empty, or spaces only
                    self.blank_lines += 1
                    continue
                rows += 1
                if len(fields) != width:
                    error = RowError(f"{len(fields)} fields where the header has {width}", field="(row)")
                    error.record = fields
                    yield start, error
                else:
                    yield start, fields
        except csv.Error as exc:
            raise SourceError(self.name, f"not readable as CSV: {exc}", line=lines.consumed + 1) from exc
        finally:
            self.close()
        if rows == 0 and self._resume is None:
            raise SourceError(self.name, "has a header but no data rows")

    def close(self) -> None:
        if self._stream is not None and isinstance(self._data, str | Path):
            self._stream.close()
        self._stream = None

    def _open(self) -> None:
        if self._resume is not None:
            if self._lines is None:
                self._open_continuation(*self._resume)
            return
        if self._header is not None:
            return
        stream = self._stream = _open_binary(self._data, self.name)
        head = stream.read(4)
        self._encoding, bom_length = detect_encoding(head, self._named_encoding)
        lines = _decoded_lines(head[bom_length:], stream, self._encoding, self.name)
        first = next(lines, None)
        while first is not None and not first.strip():
            first = next(lines, None)
        if first is None:
            raise SourceError(self.name, "is empty: a header row is required")
        self._delimiter = self._named_delimiter or detect_delimiter(first)
        counted = self._lines = _Lines(itertools.chain([first], lines))
        reader = self._reader = csv.reader(counted, delimiter=self._delimiter)
        header = [name.strip() for name in next(reader)]
        self._header = _checked_header(header, self.name)
        self._index = {name: i for i, name in enumerate(self._header)}

    def _open_continuation(self, offset: int, line: int) -> None:
        stream = self._stream = _open_binary(self._data, self.name)
        stream.seek(offset)
        counted = self._lines = _Lines(_decoded_lines(b"", stream, self._encoding, self.name, lines_before=line - 1))
        counted.consumed = line - 1
        self._reader = csv.reader(counted, delimiter=self._delimiter)


def _line_after(path: str | Path, middle: int) -> tuple[int, int]:
    """The byte offset and the number of the first line that starts after byte ``middle``."""
    block = 1 << 20
    lines = 1
    with open(path, "rb") as stream:
        done = 0
        while done < middle:
            chunk = stream.read(min(block, middle - done))
            if not chunk:
                break
            lines += chunk.count(b"\n")
            done += len(chunk)
        while True:
            chunk = stream.read(block)
            if not chunk:
                return done, lines
            found = chunk.find(b"\n")
            if found >= 0:
                return done + found + 1, lines + 1
            done += len(chunk)


def _checked_header(header: list[str], source: str) -> list[str]:
    for position, name in enumerate(header, start=1):
        if not name:
            raise SourceError(source, f"column {position} of the header has no name", line=1)
    seen: dict[str, int] = {}
    for position, name in enumerate(header, start=1):
        if name in seen:
            raise SourceError(source, f"the header names {name!r} twice (columns {seen[name]} and {position})", line=1)
        seen[name] = position
    return header


def _default_name(data: CsvInput) -> str:
    if isinstance(data, str | Path):
        return str(data)
    return getattr(data, "name", None) or "input"


def _open_binary(data: CsvInput, name: str) -> IO[bytes]:
    if isinstance(data, bytes):
        return io.BytesIO(data)
    if isinstance(data, str | Path):
        try:
            return open(data, "rb")
        except OSError as exc:
            raise SourceError(name, f"cannot be opened: {exc.strerror}") from exc
    return data


def _decoded_lines(
    head: bytes, stream: IO[bytes], encoding: str, source: str, *, lines_before: int = 0
) -> Iterator[str]:
    """Text lines (ends kept) decoded strictly block by block, each block cut after a line end; errors name the
    line counting ``lines_before`` lines before the first."""
    newline = "\n".encode(encoding)
    unit = len(newline)
    pending = head
    while True:
        chunk = stream.read(_BLOCK_SIZE)
        pending += chunk
        if chunk:
            cut = _end_of_last_line(pending, newline, unit)
            if cut == 0:
                continue
            block, pending = pending[:cut], pending[cut:]
        else:
            block, pending = pending, b""
        if not block:
            return
        try:
            text = block.decode(encoding)
        except UnicodeDecodeError as exc:
            line = lines_before + block.count(newline, 0, exc.start) + 1
            bad = block[exc.start : exc.end].hex(" ")
            raise SourceError(
                source,
                f"bytes {bad} are not valid {encoding}; save the file as UTF-8 or name its encoding "
                "(--encoding cp1252, or 'encoding' in the mapping profile)",
                line=line,
            ) from exc
        if "\x00" in text:
            line = lines_before + text.count("\n", 0, text.index("\x00")) + 1
            raise SourceError(
                source,
                "contains NUL characters: is it a UTF-16 file without a byte-order mark? "
                "Name its encoding (--encoding utf-16)",
                line=line,
            )
        lines_before += block.count(newline)
        yield from io.StringIO(text, newline="")
        if not chunk:
            return


FIELD_LIMIT = 16 * 1024 * 1024
"""The csv module stops a whole file at a field over 131,072 characters; a long field is one row's
problem (the mapper or Entra refuses it), so the reader takes fields up to 16 MiB."""
csv.field_size_limit(max(csv.field_size_limit(), FIELD_LIMIT))

MAX_QUOTED_LINES = 200
"""A quoted field may hold line breaks (an address), but not this many: past it the quote is unclosed."""
MAX_QUOTED_CHARS = 100_000
"""Nor this many characters across its lines."""
_UNCLOSED_REASON = (
    f"a quoted field opens on this line and is never closed (within {MAX_QUOTED_LINES} lines or "
    f"{MAX_QUOTED_CHARS:,} characters): the row is rejected and the lines after it are read as rows of their own"
)


class _Runaway(Exception):
    """A record has gone on for more lines or characters than a quoted field may hold."""


class _Lines:
    """The decoded lines, counted, with the lines of the record being read held until the next one starts
    (nearly always one line: the cost of the quote check is paid only by records that span lines)."""

    def __init__(self, lines: Iterator[str]) -> None:
        self._lines = lines
        self._again: deque[str] = deque()
        self.held: list[str] = []
        self._held_chars = 0
        self.consumed = 0
        """Physical lines handed to the reader so far (lines read again are not counted twice)."""

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = self._again.popleft() if self._again else next(self._lines)
        self.consumed += 1
        held = self.held
        held.append(line)
        if len(held) > 1:
            self._held_chars += len(line)
            if len(held) > MAX_QUOTED_LINES + 1 or self._held_chars > MAX_QUOTED_CHARS:
                raise _Runaway
        return line

    def mark(self) -> None:
        """A record starts here."""
        self.held = []
        self._held_chars = 0

    def read_again(self, lines: list[str]) -> None:
        self._again.extendleft(reversed(lines))
        self.consumed -= len(lines)


def _closes_properly(record: list[str], delimiter: str) -> bool:
    """Whether a record that spans lines is one quoted field with line breaks (its quote closes, followed by
    the delimiter or the line end), not a quote that never closed and a later row's quote."""
    state = _quote_state(record[0], delimiter, False)
    for line in record[1:]:
        if state != _OPEN:
            return False  # the quote closed before the record's last line: csv would not have read on
        state = _quote_state(line, delimiter, True)
    return state == _CLOSED


_OPEN, _CLOSED, _MALFORMED = "open", "closed", "malformed"


def _quote_state(line: str, delimiter: str, quoted: bool) -> str:
    """``open`` when a quoted field is still open at the end of ``line``, ``malformed`` when a quoted field
    closes and something other than the delimiter or the line end follows (what a quote that never closed
    looks like once the next row's first quote "closes" it), else ``closed``.

    As the csv module reads: a quote opens a field only at the field's start; inside it ``""`` is a quote
    and a lone ``"`` closes it; a quote anywhere else is a plain character.
    """
    i, n = 0, len(line)
    at_start = not quoted
    while True:
        if quoted:
            j = line.find('"', i)
            if j < 0:
                return _OPEN
            if j + 1 < n and line[j + 1] == '"':
                i = j + 2
                continue
            i = j + 1
            if i < n and line[i] not in (delimiter, "\r", "\n"):
                return _MALFORMED
            quoted, at_start = False, False
        if at_start and i < n and line[i] == '"':
            quoted, i = True, i + 1
            continue
        k = line.find(delimiter, i)
        if k < 0:
            return _CLOSED
        i, at_start = k + 1, True


def _end_of_last_line(buffer: bytes, newline: bytes, unit: int) -> int:
    """Offset just after the last newline that starts on a character boundary (0 if none)."""
    position = buffer.rfind(newline)
    while position >= 0 and position % unit:
        position = buffer.rfind(newline, 0, position)
    return position + len(newline) if position >= 0 else 0

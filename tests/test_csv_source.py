"""Reading CSV: encodings, delimiters, quoting, line endings, and every bad-input case with its error."""

from __future__ import annotations

import codecs
import io

import pytest

from provisioning import CsvSource, RowError, SourceError

HEADER = "id,user,status,name"


def rows(source: CsvSource) -> list[tuple[int, list[str] | str]]:
    return [(line, r.reason if isinstance(r, RowError) else r) for line, r in source.records()]


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        ("id,name\n1,Zoë\n".encode(), "utf-8"),
        (codecs.BOM_UTF8 + "id,name\n1,Zoë\n".encode(), "utf-8"),
        (codecs.BOM_UTF16_LE + "id\tname\r\n1\tZoë\r\n".encode("utf-16-le"), "utf-16-le"),
        (codecs.BOM_UTF16_BE + "id\tname\r\n1\tZoë\r\n".encode("utf-16-be"), "utf-16-be"),
    ],
    ids=["utf8", "utf8-bom", "utf16le-excel-unicode-text", "utf16be"],
)
def test_encodings_are_detected_by_themselves(data: bytes, encoding: str) -> None:
    source = CsvSource(data)
    assert source.fields == ["id", "name"]
    assert rows(source) == [(2, ["1", "Zoë"])]
    assert source.encoding == encoding


def test_utf16_survives_block_boundaries_and_odd_newline_bytes() -> None:
    # U+0A0A encodes as 0a 0a in UTF-16-LE: a newline byte pair that is not a line end.
    names = ["\u0a0a" * 3 + f"-{i}" for i in range(20_000)]
    text = "id\tname\r\n" + "".join(f"{i}\t{n}\r\n" for i, n in enumerate(names))
    source = CsvSource(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    got = [r for _, r in source.records()]
    assert [r[1] for r in got] == names


def test_other_encodings_only_when_named() -> None:
    data = "id,name\n1,Zoë\n".encode("cp1252")
    with pytest.raises(SourceError) as caught:
        list(CsvSource(data, name="export.csv").records())
    assert caught.value.line == 2
    assert "export.csv, line 2" in str(caught.value)
    assert "eb" in str(caught.value) and "--encoding" in str(caught.value)
    assert rows(CsvSource(data, encoding="cp1252")) == [(2, ["1", "Zoë"])]


def test_a_bad_byte_far_into_the_file_names_its_line() -> None:
    lines = [f"{i},name{i}" for i in range(50_000)]
    lines[41_234] = "41234,caf\xe9"
    data = ("id,name\n" + "\n".join(lines) + "\n").encode("latin-1")
    with pytest.raises(SourceError) as caught:
        list(CsvSource(data).records())
    assert caught.value.line == 41_236


@pytest.mark.parametrize(
    ("header", "delimiter"),
    [("id,user,status", ","), ("id;user;status", ";"), ("id\tuser\tstatus", "\t"), ('"a,b";c;d', ";")],
)
def test_delimiter_is_detected_from_the_header(header: str, delimiter: str) -> None:
    source = CsvSource(f"{header}\n1{delimiter}u{delimiter}Active\n".encode())
    assert source.delimiter == delimiter
    assert len(source.fields) == 3


def test_delimiter_can_be_overridden() -> None:
    source = CsvSource(b"id;name\n1;a,b\n", delimiter=",")
    assert source.fields == ["id;name"]
    assert CsvSource(b"a,b\n1,2\n", delimiter="tab").delimiter == "\t"


def test_quoted_fields_with_delimiters_quotes_and_line_breaks() -> None:
    data = b'id,note,city\r\n1,"Smith, John ""JJ""","Line one\r\nline two"\r\n2,plain,Paris\r\n'
    assert rows(CsvSource(data)) == [
        (2, ["1", 'Smith, John "JJ"', "Line one\r\nline two"]),
        (4, ["2", "plain", "Paris"]),
    ]


def test_lf_and_crlf_line_endings_and_no_final_newline() -> None:
    assert rows(CsvSource(b"id,n\n1,a\n2,b")) == [(2, ["1", "a"]), (3, ["2", "b"])]
    assert rows(CsvSource(b"id,n\r\n1,a\r\n2,b\r\n")) == [(2, ["1", "a"]), (3, ["2", "b"])]


def test_header_names_are_trimmed() -> None:
    assert CsvSource(b" id , name \n1,a\n").fields == ["id", "name"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "is empty: a header row is required"),
        (codecs.BOM_UTF8 + b"\n\n", "is empty: a header row is required"),
        (b"id,name\n", "has a header but no data rows"),
        (b"id,name\n\n\n", "has a header but no data rows"),
        (b"id,name,id\n1,2,3\n", "the header names 'id' twice (columns 1 and 3)"),
        (b"id,,name\n1,2,3\n", "column 2 of the header has no name"),
    ],
)
def test_file_level_errors(data: bytes, message: str) -> None:
    with pytest.raises(SourceError) as caught:
        list(CsvSource(data, name="hr.csv").records())
    assert caught.value.source == "hr.csv"
    assert message in str(caught.value)


def test_rows_with_the_wrong_field_count_are_rejected_alone() -> None:
    source = CsvSource(b"id,user,status\n1,a,Active\n2,b\n3,c,Active,extra\n4,d,Active\n")
    assert rows(source) == [
        (2, ["1", "a", "Active"]),
        (3, "2 fields where the header has 3"),
        (4, "4 fields where the header has 3"),
        (5, ["4", "d", "Active"]),
    ]


def test_blank_lines_are_skipped_and_counted_and_line_numbers_stay_physical() -> None:
    source = CsvSource(b"id,n\n\n1,a\n\n\n2,b\n")
    assert rows(source) == [(3, ["1", "a"]), (6, ["2", "b"])]
    assert source.blank_lines == 3


def test_missing_column_in_profile_is_a_file_level_error() -> None:
    with pytest.raises(SourceError, match="column 'HireDate' is not in the header"):
        CsvSource(b"id,n\n1,a\n", name="x.csv").getter("HireDate")


def test_a_file_that_cannot_be_opened() -> None:
    with pytest.raises(SourceError, match="cannot be opened"):
        _ = CsvSource("/nonexistent/workers.csv").fields


def test_nul_bytes_are_a_file_level_error_with_a_line() -> None:
    with pytest.raises(SourceError) as caught:
        list(CsvSource(b"id,n\n1,a\n2,\x00b\n").records())
    assert caught.value.line == 3


class _CountingStream(io.RawIOBase):
    """A stream that serves a huge CSV lazily and counts how much was pulled from it."""

    def __init__(self, rows: int) -> None:
        self.pulled = 0
        self._chunks = (f"{i},name{i}\n".encode() for i in range(rows))
        self._buffer = b"id,name\n"

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while len(self._buffer) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer += chunk
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        self.pulled += len(data)
        return data


def test_reading_is_a_stream_not_a_whole_file_load() -> None:
    stream = _CountingStream(rows=10_000_000)
    records = CsvSource(stream).records()
    for _ in range(1000):
        next(records)
    assert stream.pulled < 1_000_000, "the source read far ahead of the records consumed"

"""Value transforms and type coercion: each profile transform compiled into a plain function.

Compiled functions take and return plain values and raise ``RowError`` for a value they cannot handle,
so the hot loop never touches a pydantic model.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

from anyascii import anyascii

from provisioning.core.errors import RowError
from provisioning.core.mapping.profile import (
    DateFormat,
    Equals,
    FoldDiacritics,
    Lookup,
    Lower,
    Replace,
    Scalar,
    Transform,
    Trim,
    Upper,
)

ValueFn = Callable[[Scalar], Scalar]

_TRUE = frozenset({"true", "yes", "y", "1", "t"})
_FALSE = frozenset({"false", "no", "n", "0", "f"})
_INTEGER = re.compile(r"^[+-]?\d+$")
_ODATA_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")


def compile_transform(transform: Transform) -> ValueFn:
    """The function that applies one transform of a profile."""
    if isinstance(transform, Trim):
        return lambda v: _text(v).strip()
    if isinstance(transform, Lower):
        return lambda v: _text(v).lower()
    if isinstance(transform, Upper):
        return lambda v: _text(v).upper()
    if isinstance(transform, FoldDiacritics):
        return lambda v: fold_diacritics(_text(v))
    if isinstance(transform, Replace):
        pattern, replacement = re.compile(transform.pattern), transform.replacement
        return lambda v: pattern.sub(replacement, _text(v))
    if isinstance(transform, Lookup):
        return _lookup(transform)
    if isinstance(transform, Equals):
        return _equals(transform)
    if isinstance(transform, DateFormat):
        return _date_format(transform)
    raise TypeError(f"unknown transform {transform!r}")  # pragma: no cover - the model forbids it


@lru_cache(maxsize=65536)
def fold_diacritics(text: str) -> str:
    """ASCII for any script, by anyascii's tables (a well-kept library: a hand-written table missed whole
    scripts, and Дмитрий became an empty user name)."""
    return anyascii(text)


def _text(value: Scalar) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def _lookup(transform: Lookup) -> ValueFn:
    fold = str.casefold if transform.ignoreCase else str
    table = {fold(k): v for k, v in transform.table.items()}
    default = transform.default
    known = ", ".join(transform.table)

    def lookup(value: Scalar) -> Scalar:
        found = table.get(fold(_text(value)))
        if found is not None:
            return found
        if default is not None:
            return default
        raise RowError(f"value {_text(value)!r} is not in the lookup table (known: {known})")

    return lookup


def _equals(transform: Equals) -> ValueFn:
    values = [transform.value] if isinstance(transform.value, str) else transform.value
    if transform.ignoreCase:
        folded = frozenset(v.casefold() for v in values)
        return lambda v: _text(v).casefold() in folded
    exact = frozenset(values)
    return lambda v: _text(v) in exact


def _date_format(transform: DateFormat) -> ValueFn:
    zone = ZoneInfo(transform.timeZone)
    formats = tuple(transform.formats)
    output = transform.output

    @lru_cache(maxsize=16384)
    def convert(text: str) -> str:
        try:
            moment = parse_moment(text, formats, zone)
            if moment is None:
                tried = ", ".join(("ISO 8601", "/Date(ms)/", *formats))
                raise RowError(f"{text!r} is not a date (formats tried: {tried})")
            if output == "date":
                return moment.astimezone(zone).date().isoformat()
            if output == "generalizedTime":
                return generalized_time(moment)
            return iso_datetime(moment.astimezone(zone))
        except OverflowError:  # 0001-01-01 moved to UTC, a huge /Date(ms)/: reject the row, not the whole run
            raise RowError(f"{text!r} is outside the years 1 to 9999 once converted") from None

    return lambda v: convert(_text(v))


def parse_moment(text: str, formats: tuple[str, ...], zone: tzinfo) -> datetime | None:
    """A time-zone-aware datetime from ISO 8601, OData ``/Date(ms)/`` or one of ``formats``."""
    odata = _ODATA_DATE.match(text)
    if odata:
        milliseconds = int(odata.group(1))
        moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=milliseconds)
        if milliseconds % 86_400_000 == 0 and not odata.group(2):
            # OData v2 sends plain dates as midnight UTC: keep the calendar day in the target zone.
            return moment.replace(tzinfo=zone)
        return moment
    parsed: datetime | None = None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        for fmt in formats:
            try:
                parsed = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
    if parsed is None:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=zone)


def iso_datetime(moment: datetime) -> str:
    text = moment.isoformat(timespec="seconds")
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def generalized_time(moment: datetime) -> str:
    """AD's generalized time in UTC, ``yyyyMMddHHmmss.0Z`` (``20210501050000.0Z``), for an AD String attribute.

    Microsoft's "How to synchronize attributes for Lifecycle workflows" gives "yyyyMMddHHmmss.fZ" for a custom
    import to an on-premises AD string attribute:
    https://learn.microsoft.com/entra/id-governance/how-to-lifecycle-workflow-sync-attributes
    Seconds are truncated as in the ISO output, so the tenth (``f``) is always 0.
    """
    utc = moment.astimezone(UTC)
    return f"{utc.year:04d}{utc.month:02d}{utc.day:02d}{utc.hour:02d}{utc.minute:02d}{utc.second:02d}.0Z"


# ---- coercion to the declared type --------------------------------------------------------------------


def to_string(value: Scalar) -> str:
    return _text(value)


def to_boolean(value: Scalar) -> bool:
    if isinstance(value, bool):
        return value
    text = _text(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise RowError(f"{_text(value)!r} is not a Boolean (true/false, yes/no, 1/0)")


def to_integer(value: Scalar) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = _text(value).strip()
    if _INTEGER.match(text):
        return int(text)
    raise RowError(f"{text!r} is not an Integer")


@lru_cache(maxsize=16384)
def _checked_datetime(text: str) -> str:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None or len(text) <= 10:
        raise RowError(
            f"{text!r} is not a DateTime with a time and an offset (like 2021-05-01T00:00:00-05:00); "
            "add a 'date' transform with a timeZone"
        )
    return text


def to_datetime(value: Scalar) -> str:
    if isinstance(value, date):  # pragma: no cover - values from JSON are strings
        return iso_datetime(value) if isinstance(value, datetime) else value.isoformat()
    return _checked_datetime(_text(value))


COERCIONS: dict[str, Callable[[Scalar], Scalar]] = {
    "String": to_string,
    "Boolean": to_boolean,
    "Integer": to_integer,
    "DateTime": to_datetime,
}

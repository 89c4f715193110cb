"""GET /auditLogs/provisioning: the tenant's log store, $filter, $orderby, $top and $skiptoken.

Order: newest first (activityDateTime descending), as the real log page in the fixtures is;
entries of the same second come newest-written first. ``$orderby=activityDateTime asc`` reverses.
Paging: ``$top`` defaults to 100 and is capped at 1,000 (a larger value is served as 1,000);
the ``$skiptoken`` of ``@odata.nextLink`` names the last entry served, so entries written
between two page requests never shift a page.

$filter supports ``<property> <op> <value>`` and ``contains(<property>, '<text>')`` clauses
joined with ``and`` (any case). Property names are matched in any case (Microsoft's own samples
write ``jobid``); values are compared exactly, as Graph documents its filters to be
case-sensitive, except status values. Supported properties: jobId, activityDateTime (eq ne gt ge
lt le), provisioningStatusInfo/status, statusInfo/status (beta only), sourceIdentity/id,
targetIdentity/id, cycleId, changeId, id, provisioningAction, servicePrincipal/id (eq ne
contains). Anything else is a 400.

Versions differ: v1.0's provisioningObjectSummary has no ``action`` and no ``statusInfo`` (both
are deprecated beta properties, present on the beta log page in the fixtures), so v1.0 pages
leave them out and a v1.0 filter on ``statusInfo/status`` is a 400, as OData answers for an
unknown property.
"""

from __future__ import annotations

import base64
import bisect
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from emulators.entra_errors import GraphError

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000

_STRING_FIELDS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "jobid": lambda e: e["jobId"],
    "statusinfo/status": lambda e: e["statusInfo"]["status"],
    "provisioningstatusinfo/status": lambda e: e["provisioningStatusInfo"]["status"],
    "sourceidentity/id": lambda e: e["sourceIdentity"]["id"],
    "targetidentity/id": lambda e: e["targetIdentity"]["id"],
    "cycleid": lambda e: e["cycleId"],
    "changeid": lambda e: e["changeId"],
    "id": lambda e: e["id"],
    "provisioningaction": lambda e: e["provisioningAction"],
    "serviceprincipal/id": lambda e: e["servicePrincipal"]["id"],
}
_DATE_FIELD = "activitydatetime"
_CLAUSE = re.compile(
    r"\s*(?P<field>[A-Za-z][\w/]*)\s+(?P<op>eq|ne|gt|ge|lt|le)\s+(?P<value>'(?:[^']|'')*'|[^\s']+)\s*",
    re.IGNORECASE,
)
_CONTAINS = re.compile(
    r"\s*contains\(\s*(?P<field>[A-Za-z][\w/]*)\s*,\s*(?P<value>'(?:[^']|'')*')\s*\)\s*", re.IGNORECASE
)
_AND = re.compile(r"and\b", re.IGNORECASE)
_STATUS_FIELDS = ("statusinfo/status", "provisioningstatusinfo/status")
BETA_ONLY_KEYS = ("action", "statusInfo")


@dataclass(frozen=True)
class Clause:
    field: str  # lower-cased property path
    op: str  # eq ne gt ge lt le contains
    value: str | float  # a string, or epoch seconds for activityDateTime

    def matches(self, entry: dict[str, Any], epoch: int) -> bool:
        if self.field == _DATE_FIELD:
            left: Any = epoch
        else:
            left = _STRING_FIELDS[self.field](entry)
        if self.field in _STATUS_FIELDS:
            left = str(left).lower()
        if self.op == "contains":
            return str(self.value) in str(left)
        return {
            "eq": left == self.value,
            "ne": left != self.value,
            "gt": left > self.value,
            "ge": left >= self.value,
            "lt": left < self.value,
            "le": left <= self.value,
        }[self.op]


def parse_filter(text: str | None, *, beta: bool = True) -> list[Clause]:
    if not text or not text.strip():
        return []
    clauses: list[Clause] = []
    pos = 0
    while True:
        match = _CLAUSE.match(text, pos) or _CONTAINS.match(text, pos)
        if not match:
            raise _bad_filter(text, f"cannot parse the clause at position {pos}")
        op = match.groupdict().get("op") or "contains"
        clause = _clause(text, match["field"], op.lower(), match["value"])
        if clause.field == "statusinfo/status" and not beta:
            raise _bad_filter(text, "v1.0 has no property 'statusInfo' (beta only): use provisioningStatusInfo/status")
        clauses.append(clause)
        pos = match.end()
        if pos == len(text):
            return clauses
        separator = _AND.match(text, pos)
        if not separator:
            raise _bad_filter(text, f"expected 'and' at position {pos}")
        pos = separator.end()


def _clause(text: str, field: str, op: str, raw: str) -> Clause:
    key = field.lower()
    quoted = raw.startswith("'")
    value = raw[1:-1].replace("''", "'") if quoted else raw
    if key == _DATE_FIELD:
        if op == "contains":
            raise _bad_filter(text, "contains() does not apply to activityDateTime")
        return Clause(key, op, parse_timestamp(value, text))
    if key not in _STRING_FIELDS:
        raise _bad_filter(text, f"the property {field!r} is not supported")
    if op not in ("eq", "ne", "contains"):
        raise _bad_filter(text, f"the operator {op!r} is not supported on {field!r}")
    if not quoted:
        raise _bad_filter(text, f"the value {raw!r} of {field!r} must be quoted")
    return Clause(key, op, value.lower() if key in _STATUS_FIELDS else value)


def parse_timestamp(value: str, context: str) -> float:
    """ISO 8601 with a zone (Z or an offset); no zone means UTC. Up to 7 fraction digits."""
    cleaned = re.sub(r"(\.\d{6})\d+", r"\1", value.strip()).replace("Z", "+00:00").replace("z", "+00:00")
    try:
        moment = datetime.fromisoformat(cleaned)
    except ValueError:
        raise _bad_filter(context, f"{value!r} is not an ISO 8601 date and time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _bad_filter(text: str, why: str) -> GraphError:
    return GraphError(400, f"Invalid filter clause: {why} in {text!r}", code="BadRequest")


def parse_top(value: str | None) -> int:
    if value is None:
        return DEFAULT_PAGE_SIZE
    try:
        top = int(value)
    except ValueError:
        raise GraphError(400, f"Invalid $top value {value!r}: an integer is required") from None
    if top < 1:
        raise GraphError(400, f"Invalid $top value {value!r}: it must be at least 1")
    return min(top, MAX_PAGE_SIZE)


def parse_order(value: str | None) -> bool:
    """True for ascending. Only activityDateTime can be ordered on."""
    if value is None:
        return False
    parts = value.split()
    if not parts or parts[0].lower() != _DATE_FIELD or len(parts) > 2:
        raise GraphError(400, f"Invalid $orderby {value!r}: only activityDateTime asc|desc is supported")
    direction = parts[1].lower() if len(parts) == 2 else "asc"
    if direction not in ("asc", "desc"):
        raise GraphError(400, f"Invalid $orderby direction {parts[1]!r}")
    return direction == "asc"


def encode_token(key: tuple[int, int]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(key))).decode().rstrip("=")


def decode_token(token: str) -> tuple[int, int]:
    try:
        epoch, seq = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        return int(epoch), int(seq)
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise GraphError(400, f"Invalid $skiptoken {token!r}") from None


class LogStore:
    """All jobs' entries (the tenant's log), kept sorted by (activity second, write sequence)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: list[tuple[int, int]] = []
        self._sorted: list[dict[str, Any]] = []
        self._written: list[dict[str, Any]] = []
        self._seq = 0

    def add(self, entries: list[dict[str, Any]], epoch: int) -> None:
        with self._lock:
            for entry in entries:
                self._seq += 1
                key = (epoch, self._seq)
                index = bisect.bisect(self._keys, key)
                self._keys.insert(index, key)
                self._sorted.insert(index, entry)
                self._written.append(entry)

    def written(self) -> list[dict[str, Any]]:
        """Every entry in the order it was written (oldest first)."""
        with self._lock:
            return list(self._written)

    def clear(self) -> None:
        with self._lock:
            self._keys.clear()
            self._sorted.clear()
            self._written.clear()

    def page(
        self, clauses: list[Clause], top: int, after: tuple[int, int] | None, ascending: bool
    ) -> tuple[list[dict[str, Any]], tuple[int, int] | None]:
        """Up to ``top`` matching entries past ``after``, and the key to continue from (or None)."""
        with self._lock:
            if ascending:
                start = 0 if after is None else bisect.bisect_right(self._keys, after)
                indexes: range = range(start, len(self._keys))
            else:
                stop = len(self._keys) if after is None else bisect.bisect_left(self._keys, after)
                indexes = range(stop - 1, -1, -1)
            found: list[dict[str, Any]] = []
            last: tuple[int, int] | None = None
            for index in indexes:
                key, entry = self._keys[index], self._sorted[index]
                if all(clause.matches(entry, key[0]) for clause in clauses):
                    if len(found) == top:
                        return found, last
                    found.append(entry)
                    last = key
            return found, None

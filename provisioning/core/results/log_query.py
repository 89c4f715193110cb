"""What to ask the provisioning logs, and when: the ``$filter``/``$top`` of GET /auditLogs/provisioning and the
waits between polls.

Pure: returns plain strings, dicts and numbers; the Graph client sends them (and follows ``@odata.nextLink``).

Filter syntax, as Microsoft's List provisioningObjectSummary reference documents it (v1.0 and beta):

- ``jobid``, ``cycleid``, ``sourceIdentity/id`` support ``eq`` (and ``contains``); values are OData string
  literals, single-quoted, a quote inside doubled (``'O''Brien'``). Filters are case-sensitive except status.
- The status is filtered as ``provisioningStatusInfo/status``: the only status property listed for v1.0, and also
  listed for beta. Microsoft's Postman sample writes ``statusInfo/status``, which exists on beta only, and the
  Graph base this project calls follows the bulkUpload URL, which may be either version.
- ``activityDateTime`` is an unquoted UTC timestamp. The v1.0 reference lists ``eq, gt, lt`` for it, so the
  filter uses ``gt`` (Microsoft's beta Postman collection uses ``ge``, which v1.0 does not list; the bulkUpload
  answer's ``Location`` filters on ``jobid`` alone). The timestamp is rendered to the second, floored, and one
  second earlier (``gt 2023-12-31T23:59:59Z`` for a ``since`` of 2024-01-01T00:00:00.4Z), so an entry written in
  the very second of ``since`` is not lost and the server never returns less than asked;
  :class:`provisioning.core.results.log_summary.LogCollector` applies ``since`` exactly on its side.

``$top``: the provisioning reference lists ``$top`` without a maximum; its sibling sign-in log reference documents
1,000 as the maximum page size, and that is the bound used here (the emulator serves at most 1,000 too).

Incremental polling: reads of the provisioning logs are throttled (about 5 requests per 10 seconds per app per
tenant, Microsoft Graph's throttling limits for identity and access reports), so each poll asks only for entries a
little older than the newest one already listed (:class:`LogCursor`), not every page since the run began.

Logs lag: an entry appears typically 5-10 minutes after the upload was accepted (longer on a quiet job), so
:func:`poll_delays` starts gently and keeps polling for half an hour by default.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

STATUSES = ("success", "failure", "skipped", "warning")
MAX_TOP = 1000
DEFAULT_TOP = 500
STATUS_PROPERTY = "provisioningStatusInfo/status"


REREAD_SECONDS = 120
"""Each poll lists again the last two minutes before the newest entry it has seen, skipping the entries it knows:
an entry that becomes visible a little after newer ones (the log is written by many workers) is not lost."""


@dataclass(frozen=True)
class LogCursor:
    """Where the next poll of a run's logs starts: the newest activity listed so far, and the ids of the entries
    listed within ``REREAD_SECONDS`` of it (the next poll lists them again and must count them once)."""

    newest: str
    recent: tuple[tuple[str, str], ...]
    """(entry id, activityDateTime as ISO UTC) of the entries listed within the re-read window."""

    @classmethod
    def of(cls, listed: Mapping[str, datetime]) -> LogCursor:
        """From entry id -> activity time of what has been listed."""
        newest = max(listed.values())
        floor = newest - timedelta(seconds=REREAD_SECONDS)
        recent = tuple(sorted((i, _iso(t)) for i, t in listed.items() if t >= floor))
        return cls(newest=_iso(newest), recent=recent)

    def recent_times(self) -> dict[str, datetime]:
        return {entry_id: datetime.fromisoformat(when) for entry_id, when in self.recent}

    def since(self, start: datetime) -> datetime:
        """The ``since`` of the next poll: never before the run's ``start``."""
        return max(start, datetime.fromisoformat(self.newest) - timedelta(seconds=REREAD_SECONDS))

    def as_json(self) -> dict[str, Any]:
        return {"newest": self.newest, "recent": [list(pair) for pair in self.recent]}

    @classmethod
    def from_json(cls, data: Any) -> LogCursor | None:
        if not isinstance(data, Mapping) or not isinstance(data.get("newest"), str):
            return None
        try:
            datetime.fromisoformat(data["newest"])
            recent = tuple((str(i), str(w)) for i, w in data.get("recent") or [])
            for _, when in recent:
                datetime.fromisoformat(when)
        except (TypeError, ValueError):
            return None  # a damaged cursor: the next poll reads from the run's start, which is only slower
        return cls(newest=data["newest"], recent=recent)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def odata_string(value: str) -> str:
    """An OData string literal: single-quoted, single quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


def odata_datetime(moment: datetime) -> str:
    """A timezone-aware datetime as an OData UTC timestamp to the second (floored), e.g. 2024-01-01T00:00:00Z."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(
            f"since={moment.isoformat()} has no timezone: give an aware datetime (e.g. datetime.now(UTC)) "
            "so the log filter cannot silently shift by the local UTC offset"
        )
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _text(name: str, value: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    return value


def provisioning_log_filter(
    job_id: str,
    *,
    since: datetime | None = None,
    status: str | None = None,
    source_id: str | None = None,
    cycle_id: str | None = None,
) -> str:
    """The ``$filter`` for one job's provisioning log entries.

    >>> provisioning_log_filter("API2AAD.t.j", since=datetime(2024, 1, 1, tzinfo=UTC), status="failure")
    "jobid eq 'API2AAD.t.j' and activityDateTime gt 2023-12-31T23:59:59Z and provisioningStatusInfo/status eq 'failure'"

    Clauses come in a fixed order: jobid, activityDateTime, status, sourceIdentity/id, cycleId.
    ``since`` must be timezone-aware; ``status`` one of success|failure|skipped|warning; ``source_id`` is an
    uploaded externalId (``sourceIdentity.id`` in the logs). Raises ValueError otherwise.
    """
    clauses = [f"jobid eq {odata_string(_text('job_id', job_id))}"]
    if since is not None:
        clauses.append(f"activityDateTime gt {odata_datetime(since - timedelta(seconds=1))}")
    if status is not None:
        if status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}; got {status!r}")
        clauses.append(f"{STATUS_PROPERTY} eq {odata_string(status)}")
    if source_id is not None:
        clauses.append(f"sourceIdentity/id eq {odata_string(_text('source_id', source_id))}")
    if cycle_id is not None:
        clauses.append(f"cycleId eq {odata_string(_text('cycle_id', cycle_id))}")
    return " and ".join(clauses)


def provisioning_log_params(
    job_id: str,
    *,
    since: datetime | None = None,
    status: str | None = None,
    source_id: str | None = None,
    cycle_id: str | None = None,
    top: int = DEFAULT_TOP,
) -> dict[str, str]:
    """Query parameters for GET {graph base}/auditLogs/provisioning: ``{"$filter": ..., "$top": "500"}``.

    ``top`` is the page size, 1..1000 (ValueError otherwise). Follow ``@odata.nextLink`` for further pages; it
    carries these parameters and its ``$skiptoken`` by itself.
    """
    if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= MAX_TOP:
        raise ValueError(f"top (page size) must be an integer from 1 to {MAX_TOP}; got {top!r}")
    query = provisioning_log_filter(job_id, since=since, status=status, source_id=source_id, cycle_id=cycle_id)
    return {"$filter": query, "$top": str(top)}


def poll_delays(first: float = 30, factor: float = 2, cap: float = 300, limit: float = 1800) -> list[float]:
    """Seconds to wait before each poll of the logs: ``first``, then times ``factor``, each at most ``cap``, until
    the waits add up to exactly ``limit`` (the last one is shortened to land on it).

    Provisioning log entries appear typically 5-10 minutes after an upload is accepted, longer on a quiet job:
    the defaults (30 s, 1 min, 2 min, 4 min, then every 5 min) give up after 30 minutes in all, leaving records
    still without an entry as pending. ``limit`` 0 means no polling at all (an empty list).
    """
    for name, value in (("first", first), ("cap", cap)):
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive number of seconds; got {value!r}")
    if not (math.isfinite(factor) and factor >= 1):
        raise ValueError(f"factor must be at least 1 (waits never shrink); got {factor!r}")
    if not (math.isfinite(limit) and limit >= 0):
        raise ValueError(f"limit must be zero or a positive number of seconds; got {limit!r}")
    delays: list[float] = []
    total = 0.0
    wait = min(float(first), float(cap))
    while total < limit:
        left = limit - total
        if wait >= left:
            delays.append(left)
            break
        delays.append(wait)
        total += wait
        wait = min(wait * factor, float(cap))
    return delays

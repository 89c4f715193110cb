"""Provisioning log entries to per-worker results: what happened to each externalId a run sent.

Pure: takes the entries of GET /auditLogs/provisioning (plain dicts, page after page) and returns data.

Correlation. The logs never carry the bulkId of an upload; ``sourceIdentity.id`` is the uploaded externalId.
An entry whose id was not sent in this run is counted in ``unrelated`` and otherwise ignored, as is a malformed
entry (not an object, or without ``sourceIdentity.id``).

One record, several entries. The service can write more than one entry per record in a window: a create, then
an update that sets the manager; a failed create, then a retry. The record's outcome is its **latest** entry:
the greatest ``activityDateTime`` (parsed, with or without fractional seconds and ``Z``). The service writes
whole seconds and lists entries **newest first** (List provisioningObjectSummary; the real page in the fixtures),
so within one second the listing decides: of one listing (one poll, page after page), the entry listed first is
the latest; an entry first seen in a later listing is newer than those of earlier listings. So:

- a create that failed, then a retry that succeeded, even in the same second: **success** (the failure is
  superseded; ``entries`` shows there was more than one, and the failure's code is not reported);
- an entry without a readable ``activityDateTime`` ranks before every dated one (and is ignored when ``since``
  is given, as it cannot be placed inside the window).

Unresolved references. A manager the service cannot resolve yet does not fail the user: the create or update
**succeeds**, and its ``provisioningSteps`` hold a skipped step whose details carry
``SkipReason: UnableToResolveReferenceAttributeValue`` (the real log page in the fixtures). A later entry whose
``modifiedProperties`` set that attribute resolves it. An outcome keeps what is still unresolved
(``unresolved``: attribute -> referenced externalId), and :class:`RunResults` counts those records, so a run
reports "provisioned, manager not resolved" instead of a clean success.

``action`` and ``status`` are normalised to ``create|update|delete|disable|stagedDelete|other`` and
``success|failure|skipped|warning``; a status the service adds later (its ``unknownFutureValue``) or a missing
one reads ``unknown`` rather than being guessed. ``changes`` collects the ``modifiedProperties`` display names
of all the record's entries, oldest entry first, each name once. Missing keys anywhere never raise.

Polling. Entries appear typically 5-10 minutes after the upload was accepted. :class:`LogCollector` takes
pages as they arrive, ignores an entry seen before (same ``id``) and entries older than ``since``, and can be
asked for :class:`RunResults` at any time; records without an entry yet are ``pending``, and nothing is
reported as done while any is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from provisioning.core.results.log_query import LogCursor

ACTIONS = ("create", "update", "delete", "disable", "stagedDelete", "other")
STATUSES = ("success", "failure", "skipped", "warning")
UNKNOWN_STATUS = "unknown"
LOG_LAG = "logs lag 5-10 minutes"
UNRESOLVED_REFERENCE = "UnableToResolveReferenceAttributeValue"

_ACTION_NAMES = {name.lower(): name for name in ACTIONS}
_OLDEST = datetime.min.replace(tzinfo=UTC)
_PROBLEM_ORDER = {"failure": 0, "warning": 1, UNKNOWN_STATUS: 2, "skipped": 3, "success": 4}
_UNRESOLVED_RANK = 1.5  # after warnings, before the clean rows: provisioned, but the manager is missing


@dataclass(frozen=True)
class RecordOutcome:
    """What the logs say happened to one externalId: its latest entry, plus what its entries changed."""

    external_id: str
    action: str
    """provisioningAction of the latest entry: create|update|delete|disable|stagedDelete|other."""
    status: str
    """provisioningStatusInfo.status (else statusInfo.status) of the latest entry: success|failure|skipped|warning,
    or unknown."""
    error_code: str | None
    """errorInformation.errorCode of the latest entry (beta statusInfo.errorCode as a fallback)."""
    reason: str | None
    """errorInformation.reason of the latest entry."""
    activity: str
    """activityDateTime of the latest entry, as the service wrote it."""
    entries: int
    """How many entries this record had in the window."""
    target_id: str | None
    """targetIdentity.id: the Entra object id (the latest entry that has one)."""
    user_principal_name: str | None
    """targetIdentity.details.UserPrincipalName (the latest entry that has one)."""
    changes: list[str]
    """modifiedProperties display names across its entries, oldest entry first, each once."""
    unresolved: dict[str, str] = field(default_factory=dict)
    """Reference attributes (``manager``) still unresolved after its entries: attribute -> referenced id."""

    @property
    def manager_unresolved(self) -> bool:
        return bool(self.unresolved) and self.status == "success"

    def as_json(self) -> dict[str, Any]:
        return {
            "externalId": self.external_id,
            "action": self.action,
            "status": self.status,
            "errorCode": self.error_code,
            "reason": self.reason,
            "activity": self.activity,
            "entries": self.entries,
            "targetId": self.target_id,
            "userPrincipalName": self.user_principal_name,
            "changes": list(self.changes),
            "unresolved": dict(self.unresolved),
        }


@dataclass
class RunResults:
    """Per-worker results of one run, as far as the logs have caught up."""

    outcomes: dict[str, RecordOutcome]
    """Per externalId that was sent and has entries, in the order the ids were sent."""
    pending: list[str]
    """Sent externalIds with no entry yet, in the order they were sent."""
    counts: dict[str, dict[str, int]]
    """action -> status -> number of records (one per outcome, by its latest entry)."""
    unrelated: int
    """Entries whose sourceIdentity.id was not sent in this run, or that had none (ignored)."""
    before_since: int = 0
    """Entries older than ``since``, or undated while ``since`` is given (ignored)."""
    duplicates: int = 0
    """Entries fed again (same entry id), e.g. by a later poll over the same window (counted once)."""
    cursor: LogCursor | None = None
    """Where the next poll of the logs starts (incremental polling); None: from the run's start."""

    @property
    def sent(self) -> int:
        return len(self.outcomes) + len(self.pending)

    @property
    def complete(self) -> bool:
        """Every sent record has at least one entry (its outcome may still be a failure)."""
        return not self.pending

    def failed(self) -> list[str]:
        """externalIds whose latest status is failure, in the order they were sent."""
        return [external_id for external_id, o in self.outcomes.items() if o.status == "failure"]

    def manager_unresolved(self) -> list[str]:
        """externalIds provisioned with a reference (the manager) not resolved yet, in the order sent."""
        return [external_id for external_id, o in self.outcomes.items() if o.manager_unresolved]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunResults:
        """Back from ``as_json()`` (as stored in a run record)."""
        outcomes = {
            key: RecordOutcome(
                external_id=key,
                action=str(value.get("action") or "other"),
                status=str(value.get("status") or UNKNOWN_STATUS),
                error_code=value.get("errorCode"),
                reason=value.get("reason"),
                activity=str(value.get("activity") or ""),
                entries=int(value.get("entries") or 0),
                target_id=value.get("targetId"),
                user_principal_name=value.get("userPrincipalName"),
                changes=list(value.get("changes") or []),
                unresolved={str(k): str(v) for k, v in (value.get("unresolved") or {}).items()},
            )
            for key, value in (data.get("outcomes") or {}).items()
        }
        return cls(
            outcomes=outcomes,
            pending=list(data.get("pending") or []),
            counts={k: dict(v) for k, v in (data.get("counts") or {}).items()},
            unrelated=int(data.get("unrelated") or 0),
            before_since=int(data.get("beforeSince") or 0),
            duplicates=int(data.get("duplicates") or 0),
            cursor=LogCursor.from_json(data.get("cursor")),
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "complete": self.complete,
            "sent": self.sent,
            "withEntries": len(self.outcomes),
            "pending": list(self.pending),
            "failed": self.failed(),
            "managerUnresolved": self.manager_unresolved(),
            "counts": {action: dict(statuses) for action, statuses in self.counts.items()},
            "unrelated": self.unrelated,
            "beforeSince": self.before_since,
            "duplicates": self.duplicates,
            "cursor": self.cursor.as_json() if self.cursor else None,
            "outcomes": {external_id: outcome.as_json() for external_id, outcome in self.outcomes.items()},
        }


def parse_log_time(value: Any) -> datetime | None:
    """An activityDateTime as an aware UTC datetime (``Z``, an offset, or none meaning UTC); None if unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)  # Graph documents activityDateTime as always UTC
    return moment.astimezone(UTC)


def _since(value: str | datetime | None) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"since={value!r} is not an ISO 8601 date and time (e.g. 2024-01-01T00:00:00Z)") from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"since={value.isoformat()} has no timezone: give it in UTC (a trailing Z) or with an offset")
    return value.astimezone(UTC)


def _get(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(key)
    return obj


def _text(value: Any) -> str | None:
    """A non-empty string, or None (numbers are read as their text: a numeric externalId stays usable)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return str(value)
    return value if isinstance(value, str) and value else None


def _action(entry: Mapping[str, Any]) -> str:
    raw = _text(entry.get("provisioningAction")) or _text(entry.get("action")) or ""
    return _ACTION_NAMES.get(raw.strip().lower(), "other")


def _status_and_error(entry: Mapping[str, Any]) -> tuple[str, str | None, str | None]:
    info = entry.get("provisioningStatusInfo")
    beta = entry.get("statusInfo")  # beta statusBase / statusDetails: errorCode and reason sit beside status
    raw = _text(_get(info, "status")) or _text(_get(beta, "status")) or ""
    status = raw.strip().lower()
    if status not in STATUSES:
        status = UNKNOWN_STATUS
    error = _get(info, "errorInformation") or _get(info, "errorInfo")  # the reference page names it errorInfo
    code = _text(_get(error, "errorCode")) or _text(_get(beta, "errorCode"))
    reason = _text(_get(error, "reason")) or _text(_get(beta, "reason"))
    return status, code, reason


def _changes(entry: Mapping[str, Any]) -> tuple[str, ...]:
    modified = entry.get("modifiedProperties")
    if not isinstance(modified, list):
        return ()
    names = (_text(_get(item, "displayName")) for item in modified)
    return tuple(name for name in names if name)


def _dedup_key(entry: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """What makes an entry the same one when a later poll returns it again; None: cannot tell, keep it."""
    entry_id = _text(entry.get("id"))
    if entry_id:
        return ("id", entry_id)
    source_id = _text(_get(entry, "sourceIdentity", "id"))
    if source_id is None:
        return None  # malformed: counted as unrelated each time it comes
    # No id (never seen from the real service): the fields that tell two entries apart.
    return (
        "fields",
        source_id,
        _text(entry.get("activityDateTime")),
        _text(entry.get("changeId")),
        _text(entry.get("cycleId")),
        _action(entry),
        _status_and_error(entry),
    )


def _unresolved_steps(entry: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """(attribute, referenced id) of each skipped reference in ``provisioningSteps``. The real log page shows
    the step as ``{"details": {"<id>": "manager Add", "PropertyName": "manager",
    "SkipReason": "UnableToResolveReferenceAttributeValue"}}``."""
    steps = entry.get("provisioningSteps")
    if not isinstance(steps, list):
        return ()
    found: list[tuple[str, str]] = []
    for step in steps:
        details = _get(step, "details")
        if not isinstance(details, Mapping) or details.get("SkipReason") != UNRESOLVED_REFERENCE:
            continue
        attribute = _text(details.get("PropertyName")) or "manager"
        reference = next(
            (str(k) for k, v in details.items() if isinstance(v, str) and v.startswith(f"{attribute} ")), ""
        )
        found.append((attribute, reference))
    return tuple(found)


@dataclass(frozen=True)
class _Entry:
    """The parts of one log entry that results need, kept instead of the whole (large) entry."""

    when: datetime
    listing: int
    """Which poll listed it: a later listing's new entry is newer than an earlier one's of the same second."""
    position: int
    """Its place in that listing, which is newest first."""
    activity: str
    action: str
    status: str
    error_code: str | None
    reason: str | None
    target_id: str | None
    user_principal_name: str | None
    changes: tuple[str, ...]
    unresolved: tuple[tuple[str, str], ...] = ()
    resolves: tuple[str, ...] = ()
    """Attributes this entry set (its modifiedProperties): a reference among them is resolved."""
    count: int = 1
    """Entries it stands for: more than one for the summary of earlier polls."""

    @property
    def order(self) -> tuple[datetime, int, int]:
        return (self.when, self.listing, -self.position)


def _from_outcome(outcome: RecordOutcome) -> _Entry:
    """An earlier poll's outcome, standing in for the entries it summed up (listing 0: older than any new one)."""
    return _Entry(
        when=parse_log_time(outcome.activity) or _OLDEST,
        listing=0,
        position=0,
        activity=outcome.activity,
        action=outcome.action,
        status=outcome.status,
        error_code=outcome.error_code,
        reason=outcome.reason,
        target_id=outcome.target_id,
        user_principal_name=outcome.user_principal_name,
        changes=tuple(outcome.changes),
        unresolved=tuple(outcome.unresolved.items()),
        count=outcome.entries,
    )


@dataclass
class _Record:
    entries: list[_Entry] = field(default_factory=list)


class LogCollector:
    """Incremental: feed pages as they arrive (polling), ask for the summary at any time.

    ``sent_external_ids``: the externalIds the run uploaded (duplicates are taken once, order kept).
    ``since``: the run's start (aware datetime, or an ISO string with Z or an offset); entries older than it are
    ignored. Feeding the same entry twice (same ``id``, e.g. two polls over an overlapping window) counts it once.
    ``previous``: what earlier polls found (a run record's results): its outcomes are the starting point and
    its cursor's entries are known, so one poll reads only what is new since the last.

    Pages fed with :meth:`add` belong to one listing (newest first) until :meth:`next_listing` starts another.
    """

    def __init__(
        self,
        sent_external_ids: Iterable[str],
        *,
        since: str | datetime | None = None,
        previous: RunResults | None = None,
    ) -> None:
        self.since = _since(since)
        self._records: dict[str, _Record] = {}
        for external_id in sent_external_ids:
            self._records.setdefault(str(external_id), _Record())
        self._seen: set[tuple[Any, ...]] = set()
        self._listing = 1
        self._position = 0
        self.unrelated = previous.unrelated if previous else 0
        self.before_since = previous.before_since if previous else 0
        self.duplicates = 0
        self._cursor = previous.cursor if previous and previous.cursor else None
        self._recent: dict[str, datetime] = dict(self._cursor.recent_times()) if self._cursor else {}
        self._seen.update(("id", entry_id) for entry_id in self._recent)
        if previous:
            for external_id, outcome in previous.outcomes.items():
                record = self._records.setdefault(external_id, _Record())
                record.entries.append(_from_outcome(outcome))

    def next_listing(self) -> None:
        """The pages fed from now on are a new listing (a later poll)."""
        self._listing += 1
        self._position = 0

    def add(self, entries: Iterable[Mapping[str, Any]]) -> None:
        """Take one page (or any batch) of log entries."""
        for entry in entries:
            self._add(entry)

    def _add(self, entry: Any) -> None:
        if not isinstance(entry, Mapping):
            self.unrelated += 1
            return
        key = _dedup_key(entry)
        if key is not None:
            if key in self._seen:
                self.duplicates += 1
                return
            self._seen.add(key)
        when = parse_log_time(entry.get("activityDateTime"))
        entry_id = _text(entry.get("id"))
        if when is not None and entry_id:
            self._recent[entry_id] = when
        if self.since is not None and (when is None or when < self.since):
            self.before_since += 1
            return
        external_id = _text(_get(entry, "sourceIdentity", "id"))
        record = self._records.get(external_id) if external_id is not None else None
        if record is None:
            self.unrelated += 1
            return
        status, code, reason = _status_and_error(entry)
        self._position += 1
        changes = _changes(entry)
        record.entries.append(
            _Entry(
                when=when or _OLDEST,
                listing=self._listing,
                position=self._position,
                activity=_text(entry.get("activityDateTime")) or "",
                action=_action(entry),
                status=status,
                error_code=code,
                reason=reason,
                target_id=_text(_get(entry, "targetIdentity", "id")),
                user_principal_name=_text(_get(entry, "targetIdentity", "details", "UserPrincipalName")),
                changes=changes,
                unresolved=_unresolved_steps(entry),
                resolves=changes,
            )
        )

    def cursor(self) -> LogCursor | None:
        """Where the next poll starts: a little before the newest entry listed so far (see LogCursor)."""
        if not self._recent:
            return self._cursor
        return LogCursor.of(self._recent)

    def results(self) -> RunResults:
        """The summary so far (a snapshot: feeding more entries later does not change it)."""
        outcomes: dict[str, RecordOutcome] = {}
        pending: list[str] = []
        for external_id, record in self._records.items():
            if not record.entries:
                pending.append(external_id)
                continue
            outcomes[external_id] = _outcome(external_id, sorted(record.entries, key=lambda e: e.order))
        return RunResults(
            outcomes=outcomes,
            pending=pending,
            counts=_counts(outcomes.values()),
            unrelated=self.unrelated,
            before_since=self.before_since,
            duplicates=self.duplicates,
            cursor=self.cursor(),
        )


def _counts(outcomes: Iterable[RecordOutcome]) -> dict[str, dict[str, int]]:
    """action -> status -> records, one per outcome."""
    counts: dict[str, dict[str, int]] = {}
    for outcome in outcomes:
        by_status = counts.setdefault(outcome.action, {})
        by_status[outcome.status] = by_status.get(outcome.status, 0) + 1
    return _ordered(counts)


def _ordered(counts: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """Counts with actions and statuses in their documented order (create first, success first)."""
    status_rank = {name: i for i, name in enumerate((*STATUSES, UNKNOWN_STATUS))}
    return {
        action: dict(sorted(counts[action].items(), key=lambda item: status_rank[item[0]]))
        for action in ACTIONS
        if action in counts
    }


def _outcome(external_id: str, entries: list[_Entry]) -> RecordOutcome:
    """entries: oldest first; the last one is the latest."""
    latest = entries[-1]
    changes: dict[str, None] = {}
    unresolved: dict[str, str] = {}
    for entry in entries:
        changes.update(dict.fromkeys(entry.changes))
        for attribute in entry.resolves:
            unresolved.pop(attribute, None)
        unresolved.update(entry.unresolved)
    return RecordOutcome(
        external_id=external_id,
        action=latest.action,
        status=latest.status,
        error_code=latest.error_code,
        reason=latest.reason,
        activity=latest.activity,
        entries=sum(e.count for e in entries),
        target_id=next((e.target_id for e in reversed(entries) if e.target_id), None),
        user_principal_name=next((e.user_principal_name for e in reversed(entries) if e.user_principal_name), None),
        changes=list(changes),
        unresolved=unresolved,
    )


def summarise(
    entries: Iterable[Mapping[str, Any]], sent_external_ids: Iterable[str], *, since: str | datetime | None = None
) -> RunResults:
    """One-shot :class:`LogCollector`: all the entries at once."""
    collector = LogCollector(sent_external_ids, since=since)
    collector.add(entries)
    return collector.results()


def _entries(count: int) -> str:
    return f"{count} entry" if count == 1 else f"{count} entries"


def _one_line(text: str | None, width: int = 160) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= width else flat[: width - 3] + "..."


def summarise_everyone(entries: Iterable[Mapping[str, Any]], *, since: str | datetime | None = None) -> RunResults:
    """Results for every worker the entries mention (``logs --since``: no run to correlate with)."""
    entries = list(entries)
    ids = dict.fromkeys(
        str(_get(entry, "sourceIdentity", "id") or "") for entry in entries if isinstance(entry, Mapping)
    )
    ids.pop("", None)
    return summarise(entries, list(ids), since=since)


def _problem_rank(outcome: RecordOutcome) -> float:
    return _UNRESOLVED_RANK if outcome.manager_unresolved else _PROBLEM_ORDER.get(outcome.status, 2)


def describe_results(results: RunResults, *, limit: int = 200) -> list[str]:
    """Lines for a person: a headline, counts by action and status, then a per-worker table (problems first,
    at most ``limit`` rows) and the pending externalIds. Never says done while a record is pending."""
    sent = results.sent
    failed = len(results.failed())
    lines: list[str] = []
    if results.pending:
        lines.append(
            f"Provisioning logs: {len(results.outcomes)} of {sent} records have entries; "
            f"{len(results.pending)} still pending: {LOG_LAG}"
        )
    elif sent:
        lines.append(f"Provisioning logs: all {sent} records have entries (done), {failed} failed")
    else:
        lines.append("Provisioning logs: no records were sent")
    for action, by_status in results.counts.items():
        parts = ", ".join(f"{count} {status}" for status, count in by_status.items())
        lines.append(f"  {action}: {parts}")
    unresolved = results.manager_unresolved()
    if unresolved:
        lines.append(
            f"  {len(unresolved)} provisioned, manager not resolved ({UNRESOLVED_REFERENCE}): the manager is not "
            "in the job yet; Entra sets it when the worker is sent again after the manager"
        )
    ignored = []
    if results.unrelated:
        ignored.append(f"{_entries(results.unrelated)} for records not sent in this run")
    if results.before_since:
        ignored.append(f"{_entries(results.before_since)} older than the run")
    if ignored:
        lines.append(f"  ignored: {', '.join(ignored)}")

    rows = sorted(results.outcomes.values(), key=_problem_rank)  # stable: sent order
    shown = rows[: max(limit, 0)]
    if shown:
        width = max(len("externalId"), *(len(o.external_id) for o in shown))
        lines.append(f"  {'externalId':<{width}}  {'action':<12}  {'status':<8}  error")
        for o in shown:
            error = ": ".join(part for part in (o.error_code, _one_line(o.reason)) if part)
            if o.manager_unresolved:
                error = "; ".join(f"{name} {ref or '?'} not resolved" for name, ref in o.unresolved.items())
            lines.append(f"  {o.external_id:<{width}}  {o.action:<12}  {o.status:<8}  {error}".rstrip())
    if len(rows) > len(shown):
        lines.append(f"  ... and {len(rows) - len(shown)} more records with entries (see the JSON results)")
    if results.pending:
        room = max(limit - len(shown), 0)
        named = results.pending[: max(room, 10)]
        more = len(results.pending) - len(named)
        suffix = f" (+{more} more)" if more else ""
        lines.append(f"  pending ({len(results.pending)}): {', '.join(named)}{suffix}")
    return lines

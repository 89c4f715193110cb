"""The pipeline every door calls: records -> SCIM users -> validated, de-duplicated, ordered requests.

Pass one maps each record and appends its serialised operation to a spool file, and its index entry
(id, manager, line, offset) to a temporary SQLite database. Pass two applies the duplicate policy,
numbers the manager levels in SQL and reads the operations back into requests of at most 50, managers
first. Nothing is kept in Python objects per worker, so memory does not grow with the number of
workers (SQLite's page cache is bounded), nor with the width or size of the file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from provisioning.core.errors import RowError
from provisioning.core.mapping.lifecycle import Deferred
from provisioning.core.mapping.mapper import UserMapper
from provisioning.core.mapping.profile import CORE_SCHEMA, ENTERPRISE_SCHEMA, Profile
from provisioning.core.plan.bulk import MAX_OPERATIONS, BulkRequest, checked_batch_size, operation_with_id, request_body
from provisioning.core.plan.delta import DeltaFilter
from provisioning.core.plan.identity import id_key
from provisioning.core.plan.ordering import manager_levels
from provisioning.core.plan.second_half import (
    MIN_BYTES,
    HalfFiles,
    SecondHalf,
    forking_pays,
    read_rejects,
    write_rejects,
)
from provisioning.core.read.records import NumberedRecord, RecordSource

PROGRESS_EVERY = 10_000
_LISTED_CYCLES = 20
LISTED_VANISHED = 1000
"""Vanished workers named in the summary (all of them are in the requests the run stores)."""


@dataclass(frozen=True)
class Reject:
    """A record that is not sent, and why."""

    line: int
    external_id: str
    field: str
    value: str
    reason: str


@dataclass
class Summary:
    source: str
    profile: str
    rows: int = 0
    operations: int = 0
    rejected: int = 0
    unchanged: int = 0
    """Records identical to what was last accepted (delta sends): checked, not sent."""
    requests: int = 0
    blank_lines: int = 0
    duplicates: dict[str, Any] = field(default_factory=dict)
    managers: dict[str, Any] = field(default_factory=dict)
    lifecycle: dict[str, Any] = field(default_factory=dict)
    """With a profile lifecycle: preHires (sent disabled), deferred (held back, not sent), leavers (disabled by
    their last day), vanished (missing from the source, sent disabled) with their ids, and nextChange (the
    earliest day some worker's ``active`` changes by date alone)."""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Summary:
        """Back from ``as_json()`` (as kept in a run record)."""
        fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**fields, blank_lines=int(data.get("blankLines", 0)))

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["blankLines"] = data.pop("blank_lines")
        return data


RejectSink = Callable[[Reject], None]
ChangeFilter = Callable[[str, str, bool], bool]
ProgressFn = Callable[[int], None]


class Plan:
    """The result of pass one: the summary so far, and ``requests()`` to stream the bodies."""

    def __init__(self, summary: Summary, spool: _Spool, index: _Index, batch_size: int, processes: int = 1) -> None:
        self.summary = summary
        self.processes = processes
        """How many processes read the source: 2 when a forked one read its second half (``second_half``)."""
        self._spool = spool
        self._index = index
        self._batch_size = batch_size

    def requests(self) -> Iterator[BulkRequest]:
        """The bulk requests in send order; the spool and the index are removed when the iteration ends."""
        size = self._batch_size
        batch: list[tuple[int, int]] = []
        ids: list[str] = []
        first_level = level = 0
        number = 0
        try:
            for level, offset, length, external_id in self._index.send_order():
                if not batch:
                    first_level = level
                batch.append((offset, length))
                ids.append(external_id)
                if len(batch) == size:
                    number += 1
                    yield BulkRequest(number, request_body(self._spool.read_all(batch)), ids, first_level, level)
                    batch, ids = [], []
            if batch:
                number += 1
                yield BulkRequest(number, request_body(self._spool.read_all(batch)), ids, first_level, level)
        finally:
            self.close()

    def close(self) -> None:
        self._spool.close()
        self._index.close()


def plan_run(
    source: RecordSource,
    profile: Profile,
    *,
    on_reject: RejectSink,
    batch_size: int = MAX_OPERATIONS,
    progress: ProgressFn | None = None,
    spool_dir: str | None = None,
    changed: ChangeFilter | None = None,
    now: datetime | None = None,
    known_active: Iterable[str] | None = None,
    parallel: bool | None = None,
) -> Plan:
    """Read and map every record of ``source``; rejects go to ``on_reject`` as they are found.

    ``changed(externalId, fingerprint, active)`` (delta sends) says whether a record differs from what
    was last accepted; records it calls unchanged are checked like any other (duplicates included)
    and then left out of the requests. ``now`` is the run's moment for the profile's lifecycle dates
    (default: the clock). ``known_active``: the workers last sent active for this feed, given only for a
    full source; with ``lifecycle.missing: disable`` those absent from it are sent ``active: false``.
    ``parallel``: read the second half of a large CSV file in a forked process (``second_half``): None lets
    the file's size and the process decide, False never, True whenever the file can be split at all (tests).
    The outcome is the same either way.
    """
    checked_batch_size(batch_size)
    mapper = UserMapper(profile, source, now=now)
    summary = Summary(source=source.name, profile=profile.name)
    spool = _Spool(spool_dir)
    index = _Index(spool_dir)
    present: set[str] = set()  # id keys of rows not mapped (rejected, held back): they did not vanish
    reading = _PassOne(mapper, summary, spool, index, present, on_reject, changed, progress)
    try:
        half = _start_second_half(source, reading, spool_dir, parallel)
        reading.read(source.records(), half)
        index.keyed()
        vanished = _vanished(index, present, known_active) if _disables_missing(profile, known_active) else []
        for external_id in vanished:
            # An update needs no userName: externalId finds the user, and only active changes.
            fingerprint, body = operation_with_id({"schemas": [CORE_SCHEMA, ENTERPRISE_SCHEMA],
                                                   "externalId": external_id, "active": False})  # fmt: skip
            if changed is None or changed(external_id, fingerprint, False):
                offset, length = spool.append(body)
                index.add(external_id, None, 0, offset, length)
            else:
                index.add(external_id, None, 0, -1, 0, unchanged=True)
        index.keyed()
    except BaseException:
        spool.close()
        index.close()
        raise
    if mapper.lifecycle is not None:
        policy = mapper.lifecycle
        summary.lifecycle = {
            "preHires": policy.pre_hires,
            "deferred": reading.deferred,
            "leavers": policy.leavers,
            "vanished": len(vanished),
            "vanishedIds": vanished[:LISTED_VANISHED],
            "nextChange": policy.next_change.isoformat() if policy.next_change else None,
        }
    if progress is not None:
        progress(summary.rows)
    summary.blank_lines = getattr(source, "blank_lines", 0) + reading.blank_lines_elsewhere
    try:
        dropped = _apply_duplicate_policy(index, profile.duplicates, summary, on_reject)
        summary.unchanged, counts = index.resolve(dropped, profile.duplicates)
        managers: dict[str, Any] = dict(counts)
        cycles = index.number_levels()
        managers["levels"] = index.levels()
        managers["cycles"] = len(cycles)
        managers["cyclesListed"] = [[index.external_id(r) for r in c] for c in cycles[:_LISTED_CYCLES]]
    except BaseException:
        spool.close()
        index.close()
        raise
    summary.managers = managers
    summary.operations = index.count - summary.unchanged - len(dropped)
    summary.requests = -(-summary.operations // batch_size)
    return Plan(summary, spool, index, batch_size, reading.processes)


class _PassOne:
    """Pass one over records: each mapped, its operation spooled and its keys indexed; rejects as they come."""

    def __init__(self, mapper: UserMapper, summary: Summary, spool: _Spool, index: _Index, present: set[str],
                 on_reject: RejectSink, changed: ChangeFilter | None, progress: ProgressFn | None) -> None:  # fmt: skip
        self.mapper, self.summary, self.spool, self.index = mapper, summary, spool, index
        self.present, self.on_reject, self.changed, self.progress = present, on_reject, changed, progress
        self.deferred = 0
        self.processes = 1
        self.blank_lines_elsewhere = 0
        """Blank lines the second half's process skipped (the source counts only its own)."""

    def read(self, records: Iterator[NumberedRecord], half: SecondHalf | None = None) -> None:
        """Reads ``records`` to their end, or up to ``half``'s first line when one of them starts exactly there
        and the second half's outcome is taken over instead."""
        boundary = half.first_line if half is not None else 0
        try:
            self._read(records, half, boundary)
        finally:
            if half is not None:
                half.abandon()  # unless taken over: its files are removed either way
            close = getattr(records, "close", None)
            if close is not None:
                close()

    def _read(self, records: Iterator[NumberedRecord], half: SecondHalf | None, boundary: int) -> None:
        summary, mapper, spool, index, changed = self.summary, self.mapper, self.spool, self.index, self.changed
        progress, on_reject, present = self.progress, self.on_reject, self.present
        map_record = mapper.map
        for line, record in records:
            if half is not None and line >= boundary:
                if line == boundary and self._take_over(half):
                    return
                half.abandon()  # a record ran past the child's first line, or the child failed: read on alone
                half = None
            summary.rows += 1
            if progress is not None and summary.rows % PROGRESS_EVERY == 0:
                progress(summary.rows)
            try:
                if isinstance(record, RowError):
                    raise record
                user, external_id, manager_id = map_record(record)
            except RowError as error:
                summary.rejected += 1
                external = _external_id_of(mapper, record)
                present.add(id_key(external))
                on_reject(Reject(line, external, error.field, error.value, error.reason))
                continue
            except Deferred as held:
                self.deferred += 1
                present.add(id_key(held.external_id))
                continue
            fingerprint, body = operation_with_id(user)
            if changed is None or changed(external_id, fingerprint, user["active"]):
                offset, length = spool.append(body)
                index.add(external_id, manager_id, line, offset, length)
            else:
                index.add(external_id, manager_id, line, -1, 0, unchanged=True)

    # ---- the second half, in a forked process --------------------------------------------------------

    def counters(self) -> dict[str, Any]:
        """What the child's reading changed besides its files, for ``_take_over`` to add to the parent's."""
        policy = self.mapper.lifecycle
        return {
            "rows": self.summary.rows,
            "rejected": self.summary.rejected,
            "deferred": self.deferred,
            "disables": self.changed.disables if isinstance(self.changed, DeltaFilter) else 0,
            "preHires": policy.pre_hires if policy is not None else 0,
            "leavers": policy.leavers if policy is not None else 0,
        }

    def work_on(self, rest: RecordSource) -> Callable[[HalfFiles], dict[str, Any]]:
        """What the child runs: this pass over ``rest``, into files of its own."""

        def work(files: HalfFiles) -> dict[str, Any]:
            before = self.counters()
            self.spool, self.index = _Spool(None, path=files.spool), _Index(path=files.index)
            self.present = set()
            self.on_reject, rejects = write_rejects(files.rejects)
            self.progress = None
            self._read(rest.records(), None, 0)
            rejects.close()
            self.spool.finish()
            self.index.finish()
            after = self.counters()
            policy = self.mapper.lifecycle
            return {
                **{key: after[key] - before[key] for key in after},
                "present": sorted(self.present),
                "blankLines": getattr(rest, "blank_lines", 0),
                "count": self.index.count,
                "nextChange": policy.next_change if policy is not None else None,
            }

        return work

    def _take_over(self, half: SecondHalf) -> bool:
        """Adds the child's outcome to this pass as if it had read the records itself; False if it failed."""
        outcome = half.join()
        if outcome is None:
            return False
        for reject in read_rejects(half.files.rejects):
            self.on_reject(reject)
        summary = self.summary
        summary.rows += outcome["rows"]
        summary.rejected += outcome["rejected"]
        self.deferred += outcome["deferred"]
        self.blank_lines_elsewhere += outcome["blankLines"]
        self.present.update(outcome["present"])
        if isinstance(self.changed, DeltaFilter):  # the only filter with a count (_start_second_half checks)
            self.changed.disables += outcome["disables"]
        policy = self.mapper.lifecycle
        if policy is not None:
            policy.pre_hires += outcome["preHires"]
            policy.leavers += outcome["leavers"]
            later = outcome["nextChange"]
            if later is not None and (policy.next_change is None or later < policy.next_change):
                policy.next_change = later
        self.index.absorb(half.files.index, outcome["count"], spool_shift=self.spool.size)
        self.spool.absorb(half.files.spool)
        if self.progress is not None:
            self.progress(summary.rows)
        self.processes = 2
        return True


def _start_second_half(
    source: RecordSource, reading: _PassOne, spool_dir: str | None, parallel: bool | None
) -> SecondHalf | None:
    """A forked process reading the second half of ``source`` when that is allowed, possible and worth it."""
    if parallel is False or not isinstance(reading.changed, DeltaFilter | None) or not forking_pays():
        return None
    split = getattr(source, "second_half", None)
    rest = split(min_bytes=0 if parallel else MIN_BYTES) if split is not None else None
    if rest is None:
        return None
    return SecondHalf.start(rest.first_line, reading.work_on(rest), spool_dir)


def _disables_missing(profile: Profile, known_active: Iterable[str] | None) -> bool:
    return known_active is not None and profile.lifecycle is not None and profile.lifecycle.missing == "disable"


def _vanished(index: _Index, present: set[str], known_active: Iterable[str] | None) -> list[str]:
    """Workers last sent active who are neither in the source nor among its rows that could not be mapped."""
    vanished = []
    for external_id in known_active or ():
        key = id_key(external_id)
        if key not in present and not index.has_record(key):
            vanished.append(external_id)
    return vanished


def _external_id_of(mapper: UserMapper, record: Any) -> str:
    """The externalId of a rejected record when it can be read, for the rejects report."""
    if isinstance(record, RowError):
        record = record.record
    if record is None:
        return ""
    try:
        value = mapper.external_id(record)
    except (RowError, IndexError):
        return ""
    return value if isinstance(value, str) else ""


def _apply_duplicate_policy(index: _Index, policy: str, summary: Summary, on_reject: RejectSink) -> list[int]:
    """Rejects the rows of duplicated ids as the policy says; returns the records it drops."""
    dropped: list[int] = []
    dropped_lines: list[int] = []
    ids = rows = 0
    for records in index.duplicates():
        ids += 1
        rows += len(records)
        external_id = records[0][2]
        listed = ", ".join(str(line) for _, line, _ in records)
        spellings = list(dict.fromkeys(written for _, _, written in records))
        if len(spellings) > 1:  # look-alikes: say how each was written
            listed += " (written " + ", ".join(repr(s) for s in spellings) + ", which Entra would take for one id)"
        if policy == "reject":
            kept = None
            reason = (
                f"externalId {external_id!r} appears on lines {listed}: all of them are rejected, "
                "since sending them would let different people overwrite each other"
            )
        else:
            kept = records[0] if policy == "first" else records[-1]
            reason = (
                f"externalId {external_id!r} appears on lines {listed}: the profile keeps the {policy} (line {kept[1]})"
            )
        for record in records:
            if record is kept:
                continue
            record_number, line, written = record
            dropped.append(record_number)
            summary.rejected += 1
            dropped_lines.append(line)
            on_reject(Reject(line, written, "externalId", written, reason))
    summary.duplicates = {
        "policy": policy,
        "externalIds": ids,
        "rows": rows,
        "notSent": len(dropped_lines),
        "lines": sorted(dropped_lines)[:1000],
    }
    return dropped


class _Index:
    """What pass two needs of each record, in a temporary SQLite database rather than in Python objects.

    One row a record: its id's comparison key (and the id as written, when it differs), its manager's
    key, its line, where its operation is spooled, whether it is unchanged; then, in pass two, whether
    it is sent, its manager as a record and its manager level. Memory stays that of SQLite's page cache
    and of one buffer of rows, whatever the number of workers: the database lives on disk (in the
    temporary directory), and is removed when the index is closed.
    """

    _BUFFER = 5_000
    _CACHE_KIB = 4 * 1024

    def __init__(self, directory: str | None = None, *, path: str | None = None) -> None:
        """In a new file in ``directory`` (SQLite's own temporary file when None), or at ``path`` (the second
        half's index, which the reader of the first half takes over and removes)."""
        import sqlite3  # here, not at the top: a cold start that plans nothing does not pay for it

        self._path = path or ""
        if path is None and directory is not None:
            handle, self._path = tempfile.mkstemp(dir=directory, prefix="scim-index-", suffix=".sqlite")
            os.close(handle)
        db = self.db = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "temp_store=FILE", f"cache_size=-{self._CACHE_KIB}"):
            db.execute(f"PRAGMA {pragma}")
        db.execute(
            "CREATE TABLE rec (rec INTEGER PRIMARY KEY, key TEXT NOT NULL, written TEXT, mkey TEXT,"
            " line INTEGER, off INTEGER, len INTEGER, unchanged INTEGER, keep INTEGER, mrec INTEGER, level INTEGER)"
        )
        db.execute("BEGIN")
        self.count = 0
        self._rows: list[tuple[Any, ...]] = []
        self._keyed = -1
        """``count`` when ``node`` was last built (-1: never)."""
        self._duplicated = False
        self._last_manager: tuple[str | None, str | None] = (None, None)

    def add(self, external_id: str, manager_id: str | None, line: int, offset: int, length: int,
            unchanged: bool = False) -> None:  # fmt: skip
        key = id_key(external_id)
        if manager_id is None:
            manager_key = None
        elif manager_id == self._last_manager[0]:  # reports usually come together: one key for their manager
            manager_key = self._last_manager[1]
        else:
            manager_key = id_key(manager_id)
            self._last_manager = (manager_id, manager_key)
        self._rows.append((self.count, key, None if key is external_id else external_id, manager_key, line, offset,
                           length, 1 if unchanged else None))  # fmt: skip
        self.count += 1
        if len(self._rows) >= self._BUFFER:
            self._flush()

    def _flush(self) -> None:
        if self._rows:
            self.db.executemany("INSERT INTO rec (rec, key, written, mkey, line, off, len, unchanged, keep)"
                                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)", self._rows)  # fmt: skip
            self._rows = []

    def finish(self) -> None:
        """The second half's index complete on disk, for ``absorb`` in the other process."""
        self._flush()
        self.db.execute("COMMIT")
        self.db.close()

    def absorb(self, path: str, count: int, *, spool_shift: int) -> None:
        """The records of the second half's index (``finish``-ed at ``path``) after this index's own, their
        operations ``spool_shift`` bytes further on (where ``_Spool.absorb`` puts them)."""
        self._flush()
        db = self.db
        db.execute("COMMIT")  # SQLite attaches a database only outside a transaction
        db.execute("ATTACH DATABASE ? AS half", (path,))
        db.execute(
            "INSERT INTO rec (rec, key, written, mkey, line, off, len, unchanged, keep)"
            " SELECT rec + ?, key, written, mkey, line, CASE WHEN off >= 0 THEN off + ? ELSE off END, len,"
            " unchanged, keep FROM half.rec ORDER BY rec",
            (self.count, spool_shift),
        )
        db.execute("DETACH DATABASE half")
        db.execute("BEGIN")
        self.count += count

    def keyed(self) -> None:
        """The end of pass one's reading: one row a distinct id in ``node`` (its first and last record, how many
        hold it), for look-ups, duplicates and managers; the records themselves indexed by id only when some id
        is held twice (the duplicates are then listed id by id)."""
        self._flush()
        if self._keyed == self.count:
            return
        db = self.db
        db.execute("DROP TABLE IF EXISTS node")
        db.execute("CREATE TEMP TABLE node (key TEXT PRIMARY KEY, rec INTEGER, last INTEGER, n INTEGER) WITHOUT ROWID")
        db.execute("INSERT INTO node SELECT key, min(rec), max(rec), count(*) FROM rec GROUP BY key")
        self._duplicated = db.execute("SELECT EXISTS (SELECT 1 FROM node WHERE n > 1)").fetchone()[0] == 1
        if self._duplicated:
            db.execute("CREATE INDEX IF NOT EXISTS rec_key ON rec (key)")
        self._keyed = self.count

    def has_record(self, key: str) -> bool:
        self.keyed()
        return self.db.execute("SELECT 1 FROM node WHERE key = ?", (key,)).fetchone() is not None

    def duplicates(self) -> Iterator[list[tuple[int, int, str]]]:
        """Each id held by more than one record: its records as ``(record, line, id as written)``, in order."""
        self.keyed()
        if not self._duplicated:
            return
        # In the order their second record came, as they were found while reading.
        keys = self.db.execute(
            "SELECT key, (SELECT rec FROM rec e WHERE e.key = d.key ORDER BY rec LIMIT 1 OFFSET 1) AS second"
            " FROM node d WHERE n > 1 ORDER BY second"
        )
        lookup = self.db.cursor()
        for key, _ in keys:
            yield lookup.execute("SELECT rec, line, coalesce(written, key) FROM rec WHERE key = ? ORDER BY rec",
                                 (key,)).fetchall()  # fmt: skip

    def external_id(self, record: int) -> str:
        """The record's id as it was written (and is sent)."""
        row = self.db.execute("SELECT coalesce(written, key) FROM rec WHERE rec = ?", (record,)).fetchone()
        return str(row[0])

    def resolve(self, dropped: Iterable[int], policy: str) -> tuple[int, dict[str, int]]:
        """Mark what is sent and link each sent record to its manager's record; the unchanged left out.

        ``dropped``: the records the duplicate policy drops. Returns the number of unchanged records
        that would have been sent, and counts of how manager references resolved.
        """
        db = self.db
        self.keyed()
        db.executemany("UPDATE rec SET keep = 0 WHERE rec = ?", ((r,) for r in dropped))
        unchanged = db.execute("UPDATE rec SET keep = 0 WHERE unchanged = 1 AND keep = 1").rowcount
        # The record an id stands for: the first (or the one the policy keeps); none when all are rejected.
        if self._duplicated and policy == "last":
            db.execute("UPDATE node SET rec = last WHERE n > 1")
        elif self._duplicated and policy == "reject":
            db.execute("UPDATE node SET rec = -1 WHERE n > 1")
        db.execute(
            "UPDATE rec SET mrec = (SELECT node.rec FROM node WHERE node.key = rec.mkey)"
            " WHERE keep = 1 AND mkey IS NOT NULL"
        )
        outside, self_managed, in_run = db.execute(
            "SELECT count(CASE WHEN mrec IS NULL OR mrec = -1 THEN 1 END),"
            " count(CASE WHEN mrec >= 0 AND mkey = key THEN 1 END),"
            " count(CASE WHEN mrec >= 0 AND mkey != key THEN 1 END)"
            " FROM rec WHERE keep = 1 AND mkey IS NOT NULL"
        ).fetchone()
        db.execute("UPDATE rec SET mrec = NULL WHERE mrec = -1 OR (mrec IS NOT NULL AND mkey = key)")
        return unchanged, {"inRun": in_run, "outsideRun": outside, "selfManaged": self_managed}

    def number_levels(self) -> list[list[int]]:
        """Each record's manager level (see ``ordering``), level by level; returns the cycles broken."""
        db = self.db
        db.execute("CREATE INDEX rec_mrec ON rec (mrec)")
        db.execute("CREATE TEMP TABLE frontier (rec INTEGER PRIMARY KEY)")
        db.execute("CREATE TEMP TABLE next (rec INTEGER PRIMARY KEY)")
        db.execute("UPDATE rec SET level = 0 WHERE mrec IS NULL")
        db.execute("INSERT INTO frontier SELECT rec FROM rec WHERE mrec IS NULL")
        level = 0
        while True:
            db.execute("DELETE FROM next")
            found = db.execute(
                "INSERT INTO next SELECT r.rec FROM frontier f JOIN rec r ON r.mrec = f.rec WHERE r.level IS NULL"
            ).rowcount
            if not found:
                break
            level += 1
            db.execute("UPDATE rec SET level = ? WHERE rec IN (SELECT rec FROM next)", (level,))
            db.execute("DELETE FROM frontier")
            db.execute("INSERT INTO frontier SELECT rec FROM next")
        # What is left is in a cycle or reports into one: rare, and numbered in memory as ``ordering`` does.
        left = db.execute("SELECT rec, mrec FROM rec WHERE level IS NULL ORDER BY rec").fetchall()
        if not left:
            return []
        position = {record: i for i, (record, _) in enumerate(left)}
        levels, cycles = manager_levels([position[manager] for _, manager in left])
        db.executemany("UPDATE rec SET level = ? WHERE rec = ?", ((levels[i], r) for i, (r, _) in enumerate(left)))
        return [[left[i][0] for i in cycle] for cycle in cycles]

    def levels(self) -> int:
        """The number of manager levels among the records sent."""
        row = self.db.execute("SELECT max(level) FROM rec WHERE keep = 1").fetchone()
        return 0 if row[0] is None else int(row[0]) + 1

    def send_order(self) -> Iterator[tuple[int, int, int, str]]:
        """The records sent, managers first (by level, in source order within one): level, offset, length, id."""
        return self.db.execute(
            "SELECT level, off, len, coalesce(written, key) FROM rec WHERE keep = 1 ORDER BY level, rec"
        )

    def close(self) -> None:
        self.db.close()
        if self._path:
            with contextlib.suppress(OSError):
                os.unlink(self._path)


class _Spool:
    """Serialised operations parked on disk between the passes."""

    def __init__(self, directory: str | None, *, path: str | None = None) -> None:
        """An anonymous temporary file in ``directory``, or the file at ``path`` (the second half's spool)."""
        if path is None:
            self._file = tempfile.TemporaryFile(dir=directory, prefix="scim-spool-", buffering=1 << 20)  # noqa: SIM115
        else:
            self._file = open(path, "w+b", buffering=1 << 20)  # noqa: SIM115
        self._size = 0
        self._flushed = False

    @property
    def size(self) -> int:
        return self._size

    def finish(self) -> None:
        """The second half's spool complete on disk, for ``absorb`` in the other process."""
        self._file.close()

    def absorb(self, path: str) -> None:
        """The second half's operations, appended (``_Index.absorb`` moved their offsets by ``size``)."""
        with open(path, "rb") as other:
            while block := other.read(1 << 20):
                self._file.write(block)
                self._size += len(block)

    def append(self, data: bytes) -> tuple[int, int]:
        offset = self._size
        self._file.write(data)
        self._size += len(data)
        return offset, len(data)

    def read(self, offset: int, length: int) -> bytes:
        return self.read_all([(offset, length)])[0]

    def read_all(self, spans: list[tuple[int, int]]) -> list[bytes]:
        """The operations at ``(offset, length)``; neighbours on disk (most of them) in one read."""
        if not self._flushed:
            self._file.flush()
            self._flushed = True
        fileno = self._file.fileno()
        found: list[bytes] = []
        i, count = 0, len(spans)
        while i < count:
            start, length = spans[i]
            end = start + length
            j = i + 1
            while j < count and spans[j][0] == end:
                end += spans[j][1]
                j += 1
            if j == i + 1:
                found.append(os.pread(fileno, length, start))
            else:
                block = memoryview(os.pread(fileno, end - start, start))
                position = 0
                for _, piece in spans[i:j]:
                    found.append(bytes(block[position : position + piece]))
                    position += piece
            i = j
        return found

    def close(self) -> None:
        self._file.close()

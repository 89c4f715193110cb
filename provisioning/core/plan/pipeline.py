"""The pipeline every door calls: records -> SCIM users -> validated, de-duplicated, ordered requests.

Pass one maps each record and appends its serialised operation to a spool file, keeping only a small
index in memory (ids, managers, offsets). Pass two applies the duplicate policy, orders managers
first and reads the operations back into requests of at most 50. Memory grows with the number of
workers (about 150 bytes each), never with the width or size of the file.
"""

from __future__ import annotations

import os
import tempfile
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from provisioning.core.errors import RowError
from provisioning.core.mapping.lifecycle import Deferred
from provisioning.core.mapping.mapper import UserMapper
from provisioning.core.mapping.profile import CORE_SCHEMA, ENTERPRISE_SCHEMA, Profile
from provisioning.core.plan.bulk import MAX_OPERATIONS, BulkRequest, checked_batch_size, operation_with_id, request_body
from provisioning.core.plan.identity import id_key
from provisioning.core.plan.ordering import NO_MANAGER, manager_levels, send_order
from provisioning.core.read.records import RecordSource

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

    def __init__(
        self, summary: Summary, spool: _Spool, index: _Index, order: array[int], levels: array[int], batch_size: int
    ) -> None:
        self.summary = summary
        self._levels = levels
        self._spool = spool
        self._index = index
        self._order = order
        self._batch_size = batch_size

    def requests(self) -> Iterator[BulkRequest]:
        """The bulk requests in send order; the spool is removed when the iteration ends."""
        index, spool, size = self._index, self._spool, self._batch_size
        levels = self._levels
        operations: list[bytes] = []
        ids: list[str] = []
        first_level = 0
        number = 0
        try:
            for record in self._order:
                if not operations:
                    first_level = levels[record]
                operations.append(spool.read(index.offsets[record], index.lengths[record]))
                ids.append(index.external_id(record))
                if len(operations) == size:
                    number += 1
                    yield BulkRequest(number, request_body(operations), ids, first_level, levels[record])
                    operations, ids = [], []
            if operations:
                number += 1
                yield BulkRequest(number, request_body(operations), ids, first_level, levels[self._order[-1]])
        finally:
            spool.close()

    def close(self) -> None:
        self._spool.close()


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
) -> Plan:
    """Read and map every record of ``source``; rejects go to ``on_reject`` as they are found.

    ``changed(externalId, fingerprint, active)`` (delta sends) says whether a record differs from what
    was last accepted; records it calls unchanged are checked like any other (duplicates included)
    and then left out of the requests. ``now`` is the run's moment for the profile's lifecycle dates
    (default: the clock). ``known_active``: the workers last sent active for this feed, given only for a
    full source; with ``lifecycle.missing: disable`` those absent from it are sent ``active: false``.
    """
    checked_batch_size(batch_size)
    mapper = UserMapper(profile, source, now=now)
    summary = Summary(source=source.name, profile=profile.name)
    spool = _Spool(spool_dir)
    index = _Index()
    present: set[str] = set()  # id keys of rows not mapped (rejected, held back): they did not vanish
    deferred = 0
    try:
        for line, record in source.records():
            summary.rows += 1
            if progress is not None and summary.rows % PROGRESS_EVERY == 0:
                progress(summary.rows)
            try:
                if isinstance(record, RowError):
                    raise record
                user, external_id, manager_id = mapper(record)
            except RowError as error:
                summary.rejected += 1
                external = _external_id_of(mapper, record)
                present.add(id_key(external))
                on_reject(Reject(line, external, error.field, error.value, error.reason))
                continue
            except Deferred as held:
                deferred += 1
                present.add(id_key(held.external_id))
                continue
            fingerprint, body = operation_with_id(user)
            if changed is None or changed(external_id, fingerprint, user["active"]):
                offset, length = spool.append(body)
            else:
                offset, length = -1, 0
                index.unchanged.add(len(index.lines))
            index.add(external_id, manager_id, line, offset, length)
        vanished = _vanished(index, present, known_active) if _disables_missing(profile, known_active) else []
        for external_id in vanished:
            # An update needs no userName: externalId finds the user, and only active changes.
            fingerprint, body = operation_with_id({"schemas": [CORE_SCHEMA, ENTERPRISE_SCHEMA],
                                                   "externalId": external_id, "active": False})  # fmt: skip
            if changed is None or changed(external_id, fingerprint, False):
                offset, length = spool.append(body)
            else:
                offset, length = -1, 0
                index.unchanged.add(len(index.lines))
            index.add(external_id, None, 0, offset, length)
    except BaseException:
        spool.close()
        raise
    if mapper.lifecycle is not None:
        policy = mapper.lifecycle
        summary.lifecycle = {
            "preHires": policy.pre_hires,
            "deferred": deferred,
            "leavers": policy.leavers,
            "vanished": len(vanished),
            "vanishedIds": vanished[:LISTED_VANISHED],
            "nextChange": policy.next_change.isoformat() if policy.next_change else None,
        }
    if progress is not None:
        progress(summary.rows)
    summary.blank_lines = getattr(source, "blank_lines", 0)
    keep = _apply_duplicate_policy(index, profile.duplicates, summary, on_reject)
    for record in index.unchanged:
        if keep[record]:
            keep[record] = 0
            summary.unchanged += 1
    manager_of, counts = index.managers(keep)
    managers: dict[str, Any] = dict(counts)
    levels, cycles = manager_levels(manager_of)
    order = send_order(levels, keep)
    managers["levels"] = (max(levels[i] for i in order) + 1) if len(order) else 0
    managers["cycles"] = len(cycles)
    managers["cyclesListed"] = [[index.external_id(r) for r in c] for c in cycles[:_LISTED_CYCLES]]
    summary.managers = managers
    summary.operations = len(order)
    summary.requests = -(-len(order) // batch_size)
    return Plan(summary, spool, index, order, levels, batch_size)


def _disables_missing(profile: Profile, known_active: Iterable[str] | None) -> bool:
    return known_active is not None and profile.lifecycle is not None and profile.lifecycle.missing == "disable"


def _vanished(index: _Index, present: set[str], known_active: Iterable[str] | None) -> list[str]:
    """Workers last sent active who are neither in the source nor among its rows that could not be mapped."""
    vanished = []
    for external_id in known_active or ():
        key = id_key(external_id)
        node = index.node_of.get(key)
        if (node is None or index.node_record[node] == -1) and key not in present:
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


def _apply_duplicate_policy(index: _Index, policy: str, summary: Summary, on_reject: RejectSink) -> bytearray:
    keep = bytearray(b"\x01") * len(index.lines)
    dropped_lines: list[int] = []
    for node, records in index.duplicates.items():
        external_id = index.node_ids[node]
        lines = [index.lines[r] for r in records]
        listed = ", ".join(map(str, lines))
        spellings = list(dict.fromkeys(index.external_id(r) for r in records))
        if len(spellings) > 1:  # look-alikes: say how each was written
            listed += " (written " + ", ".join(repr(s) for s in spellings) + ", which Entra would take for one id)"
        if policy == "reject":
            kept = None
            reason = (
                f"externalId {external_id!r} appears on lines {listed}: all of them are rejected, "
                "since sending them would let different people overwrite each other"
            )
            index.node_record[node] = -1
        else:
            kept = records[0] if policy == "first" else records[-1]
            reason = (
                f"externalId {external_id!r} appears on lines {listed}: the profile keeps the "
                f"{policy} (line {index.lines[kept]})"
            )
            index.node_record[node] = kept
        for record in records:
            if record == kept:
                continue
            keep[record] = 0
            summary.rejected += 1
            dropped_lines.append(index.lines[record])
            written = index.external_id(record)
            on_reject(Reject(index.lines[record], written, "externalId", written, reason))
    summary.duplicates = {
        "policy": policy,
        "externalIds": len(index.duplicates),
        "rows": sum(len(r) for r in index.duplicates.values()),
        "notSent": len(dropped_lines),
        "lines": sorted(dropped_lines)[:1000],
    }
    return keep


class _Index:
    """What pass two needs of each record, in compact arrays; ids are interned once as graph nodes."""

    def __init__(self) -> None:
        self.node_of: dict[str, int] = {}
        self.node_ids: list[str] = []
        self.node_record = array("i")
        self.record_node = array("i")
        self.record_manager = array("i")
        self.lines = array("I")
        self.offsets = array("q")
        self.lengths = array("I")
        self.duplicates: dict[int, list[int]] = {}
        self.unchanged: set[int] = set()
        self.spellings: dict[int, str] = {}
        """A record whose id is written otherwise than its node's first spelling (``ABC`` for ``abc``)."""

    def _node(self, external_id: str) -> int:
        key = id_key(external_id)
        node = self.node_of.get(key)
        if node is None:
            node = self.node_of[key] = len(self.node_ids)
            self.node_ids.append(external_id)
            self.node_record.append(-1)
        return node

    def add(self, external_id: str, manager_id: str | None, line: int, offset: int, length: int) -> None:
        record = len(self.lines)
        node = self._node(external_id)
        if self.node_ids[node] != external_id:
            self.spellings[record] = external_id
        first = self.node_record[node]
        if first == -1:
            self.node_record[node] = record
        else:
            self.duplicates.setdefault(node, [first]).append(record)
        self.record_node.append(node)
        self.record_manager.append(self._node(manager_id) if manager_id is not None else NO_MANAGER)
        self.lines.append(line)
        self.offsets.append(offset)
        self.lengths.append(length)

    def external_id(self, record: int) -> str:
        """The record's id as it was written (and is sent)."""
        return self.spellings.get(record) or self.node_ids[self.record_node[record]]

    def managers(self, keep: bytearray) -> tuple[array[int], dict[str, int]]:
        """Each record's manager as a record index, and counts of how references resolved."""
        manager_of = array("i", [NO_MANAGER]) * len(self.lines)
        in_run = outside = self_managed = 0
        for record, manager_node in enumerate(self.record_manager):
            if manager_node == NO_MANAGER or not keep[record]:
                continue
            manager = self.node_record[manager_node]
            if manager == -1:
                outside += 1
            elif manager_node == self.record_node[record]:
                self_managed += 1
            else:
                manager_of[record] = manager
                in_run += 1
        return manager_of, {"inRun": in_run, "outsideRun": outside, "selfManaged": self_managed}


class _Spool:
    """Serialised operations parked on disk between the passes."""

    def __init__(self, directory: str | None) -> None:
        self._file = tempfile.TemporaryFile(dir=directory, prefix="scim-spool-")  # noqa: SIM115
        self._size = 0
        self._flushed = False

    def append(self, data: bytes) -> tuple[int, int]:
        offset = self._size
        self._file.write(data)
        self._size += len(data)
        return offset, len(data)

    def read(self, offset: int, length: int) -> bytes:
        if not self._flushed:
            self._file.flush()
            self._flushed = True
        return os.pread(self._file.fileno(), length, offset)

    def close(self) -> None:
        self._file.close()

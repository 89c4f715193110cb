"""Delta sends and safety stops: what was last accepted per source, and when a run must wait for a person.

Pure: the state is a plain JSON document (read and written with ETags by the storage edge). A
record's fingerprint is its bulkId, the hash of the SCIM user exactly as it would be sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

STATE_VERSION = 1


@dataclass
class SourceState:
    """What the last runs of one source left behind."""

    records: dict[str, tuple[str, bool]] = field(default_factory=dict)
    """externalId -> (fingerprint of the last accepted payload, whether it was active)."""
    rows: int = 0
    """How many rows the source had at its last run (for the shrink check)."""
    last_run: str = ""
    """The id of the latest run whose accepted requests are in this state."""
    last_run_at: str = ""
    """When that run started (``createdAt``): a held run older than this would send stale data."""
    next_change: str = ""
    """The earliest day (ISO date) on which a worker's ``active`` changes by date alone (a pre-hire's start, the
    day after a last day): from then on, a pull must read the whole source, since an HR system's own delta
    reports a change when it is entered, not when it takes effect."""

    @property
    def active(self) -> int:
        return sum(1 for _, active in self.records.values() if active)

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> SourceState:
        if not data:
            return cls()
        records = {key: (str(value[0]), bool(value[1])) for key, value in (data.get("records") or {}).items()}
        return cls(
            records=records,
            rows=int(data.get("rows") or 0),
            last_run=str(data.get("lastRun") or ""),
            last_run_at=str(data.get("lastRunAt") or ""),
            next_change=str(data.get("nextChange") or ""),
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "rows": self.rows,
            "lastRun": self.last_run,
            "lastRunAt": self.last_run_at,
            "nextChange": self.next_change,
            "records": {key: [fingerprint, active] for key, (fingerprint, active) in self.records.items()},
        }


class DeltaFilter:
    """``changed(externalId, fingerprint, active)`` for the pipeline, counting disables as it goes."""

    def __init__(self, state: SourceState, *, full_sync: bool = False, history: SourceState | None = None) -> None:
        self.state = state
        self.history = history or state
        """What the safety stop compares with: the feed's own state, or (for a feed with none yet) the
        profile's, so that a new folder or source name is no way around the check."""
        self.full_sync = full_sync
        self.disables = 0
        """Records active at the last run and inactive now: what the safety stop weighs."""

    def __call__(self, external_id: str, fingerprint: str, active: bool) -> bool:
        before = self.history.records.get(external_id)
        if before is not None and before[1] and not active:
            self.disables += 1
        previous = self.state.records.get(external_id) if self.history is not self.state else before
        if self.full_sync or previous is None:
            return True
        return previous[0] != fingerprint


@dataclass(frozen=True)
class SafetyVerdict:
    held: bool
    reasons: list[str]

    @property
    def message(self) -> str:
        return "; ".join(self.reasons)


def safety_check(
    state: SourceState, *, rows_now: int, disables: int, max_disable_share: float, max_shrink_share: float
) -> SafetyVerdict:
    """Holds a run that would disable too many active workers, or whose source shrank too much."""
    reasons = []
    active_before = state.active
    if active_before and disables / active_before > max_disable_share:
        reasons.append(
            f"it would disable {disables} of the source's {active_before} active workers "
            f"({disables / active_before:.0%}, more than the {max_disable_share:.0%} allowed)"
        )
    if state.rows and (state.rows - rows_now) / state.rows > max_shrink_share:
        reasons.append(
            f"the source shrank from {state.rows} to {rows_now} rows "
            f"({(state.rows - rows_now) / state.rows:.0%}, more than the {max_shrink_share:.0%} allowed)"
        )
    return SafetyVerdict(bool(reasons), reasons)


def remember_accepted(
    state: SourceState,
    accepted: Iterable[tuple[str, str, bool]],
    *,
    rows: int | None,
    run: tuple[str, str] | None = None,
) -> SourceState:
    """The state after requests were accepted: their records' fingerprints, the source's size, and (``run``:
    its id and start) the latest run in it."""
    records = dict(state.records)
    for external_id, fingerprint, active in accepted:
        records[external_id] = (fingerprint, active)
    last_run, last_run_at = state.last_run, state.last_run_at
    if run is not None and run[1] >= last_run_at:
        last_run, last_run_at = run
    return replace(state, records=records, rows=state.rows if rows is None else rows, last_run=last_run,
                   last_run_at=last_run_at)  # fmt: skip


def stale_approval(state: SourceState, run_id: str, created_at: str) -> str | None:
    """Why approving the held run ``run_id`` (started at ``created_at``) would send old data, or None."""
    if state.last_run and state.last_run != run_id and state.last_run_at > created_at:
        return (
            f"run {state.last_run}, started after this one was held, has been sent since: approving this one "
            "would send older data over newer (workers the latest file says are active could be disabled). "
            "Run the latest file again instead"
        )
    return None


def forget(state: SourceState, external_ids: Iterable[str]) -> SourceState:
    """Records the logs reported as failed are forgotten, so that the next run sends them again."""
    records = dict(state.records)
    for external_id in external_ids:
        records.pop(external_id, None)
    return replace(state, records=records)


def with_next_change(state: SourceState, day: str | None, *, whole_source: bool) -> SourceState:
    """The feed after a run that found ``day`` as its earliest date-driven change: a whole source's run knows
    every worker's dates and replaces the day; a delta's run knows only some, so the earlier day stands."""
    if whole_source:
        return replace(state, next_change=day or "")
    days = [d for d in (state.next_change, day) if d]
    return replace(state, next_change=min(days) if days else "")


def change_due(state: SourceState, today: str) -> bool:
    """Whether some worker's ``active`` has changed by date since the feed's last whole read."""
    return bool(state.next_change) and state.next_change <= today

"""The one state interface the run engine works over, whatever holds it (a local folder, blob storage).

Four kinds of state, each written by the engine and read by every door:

- run records (``run.json``), the stored request bodies and the rejects CSV;
- each run's plan (its request groups) and one manifest per request, which a sender *claims* while it
  sends, so that two senders never send the same request at once and an accepted one is never sent again;
- markers: names that exactly one caller gets to create (a group enqueued, a run finalised);
- feed state: per feed, the fingerprints last accepted and the size of its last source (delta sends
  and safety stops), updated without losing a concurrent update.

``tests/test_state_contract.py`` runs one suite against both backends.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import IO, Protocol

from provisioning.core.errors import ProvisioningError
from provisioning.core.plan.delta import SourceState
from provisioning.core.runs import RUN_ID, Manifest, ManifestStatus, RunPlan, RunRecord

REQUEST_FILE = "bulk-{number:04d}.json"
MANIFEST_FILE = "{number:04d}.json"


class RunNotFound(ProvisioningError):
    pass


class Claim(Protocol):
    """A request held by one sender: ``save`` writes its manifest under the claim; ``renew`` extends it."""

    def save(self, manifest: Manifest) -> None: ...
    def renew(self) -> None: ...


class StateStore(Protocol):
    description: str
    """Where the state is, safe to show (no key)."""

    # run records, bodies and rejects
    def save_record(self, record: RunRecord) -> None: ...
    def load_record(self, run_id: str) -> RunRecord: ...
    def list_runs(self, limit: int = 50) -> list[RunRecord]: ...
    def save_request(self, run_id: str, number: int, body: bytes) -> None: ...
    def load_request(self, run_id: str, number: int) -> bytes: ...
    def rejects_writer(self, run_id: str) -> AbstractContextManager[IO[str]]: ...
    def load_rejects(self, run_id: str) -> str: ...

    # plans, manifests and markers
    def save_plan(self, run_id: str, plan: RunPlan) -> None: ...
    def load_plan(self, run_id: str) -> RunPlan | None: ...
    def create_manifest(self, run_id: str, manifest: Manifest) -> Manifest:
        """Stores a planned request's manifest, unless one already exists that was sent or is being sent
        (planned again after a crash): returns the manifest that is stored."""
        ...

    def load_manifest(self, run_id: str, number: int) -> Manifest | None: ...
    def save_manifest(self, run_id: str, manifest: Manifest) -> None:
        """An unclaimed write (a poison message, a request ended unsent while no one sends it)."""
        ...

    def manifests(self, run_id: str) -> list[Manifest]: ...
    def statuses(self, run_id: str) -> dict[int, ManifestStatus]:
        """Each request's status, cheaper than reading every manifest where the backend allows it."""
        ...

    def claim(self, run_id: str, number: int) -> AbstractContextManager[Claim | None]:
        """Holds request ``number`` for the block (None: another sender holds it). A request that was never
        planned raises ``RunNotFound`` and leaves nothing behind."""
        ...

    def mark_once(self, run_id: str, name: str) -> bool:
        """True for the one caller that created the marker, False for every other."""
        ...

    def has_marker(self, run_id: str, name: str) -> bool: ...

    # usage
    def add_calls(self, day: str, count: int) -> int:
        """Adds ``count`` bulkUpload calls to the UTC ``day``'s total (never losing a concurrent add)."""
        ...

    def calls_on(self, day: str) -> int: ...

    # feeds
    def load_feed(self, key: str) -> SourceState: ...
    def update_feed(self, key: str, change: Callable[[SourceState], SourceState]) -> SourceState:
        """Read, change, write, never losing a concurrent update; ``change`` may run more than once."""
        ...


def check_run_id(run_id: str) -> str:
    """A run id used as a folder or blob prefix: only what the engine makes (``RUN_ID``), so nothing that
    could leave the folder, in every door."""
    if not isinstance(run_id, str) or not RUN_ID.fullmatch(run_id):
        raise RunNotFound(f"run {run_id[:80]!r} not found (a run id looks like 20261128T150501Z-3f9a1c)")
    return run_id


def feed_file_name(key: str) -> str:
    """A feed key (``route:employees/``, ``hrms:workday``) as one safe path segment."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in key) or "_"


def newest_first(records: list[RunRecord]) -> list[RunRecord]:
    """By start time: run ids sort by time only to the second (a blob's run id comes from the blob)."""
    return sorted(records, key=lambda r: (r.createdAt, r.runId), reverse=True)


def candidates(run_ids: list[str], limit: int) -> list[str]:
    """The run ids that may be among the ``limit`` newest: the newest ``limit`` by id, and every other id of
    the same second as the last of them (ids order runs only to the second; their records know better)."""
    ordered = sorted(run_ids, reverse=True)
    if len(ordered) <= limit:
        return ordered
    second = ordered[limit - 1].split("-", 1)[0]
    return [i for i in ordered if i >= second or i.split("-", 1)[0] == second]

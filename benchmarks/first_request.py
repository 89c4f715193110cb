"""Goal 4: how long a ``run`` takes to reach its first bulkUpload.

The run goes through the engine as the CLI runs it (``Workflow`` over local folders, the Graph emulator
on 127.0.0.1 for the job check), with a sender that notes the moment the run is released to it (the
first bulkUpload is the sender's first act) and sends nothing, so that a million workers do not take
the emulator's throttled minutes. Prints ``first_request=SECONDS`` and ``read=SECONDS`` (until the last
row was read and mapped; after it come the duplicate check, the manager levels and storing every request
with its manifest).

    python -m benchmarks.first_request WORKERS.csv
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from emulators.entra import EntraEmulator
from provisioning import CsvSource
from provisioning.core.mapping.profiles import BundledProfiles
from provisioning.core.runs import RunPlan, RunRecord
from provisioning.engine.config import RunConfig
from provisioning.engine.workflow import StartRequest, Workflow
from provisioning.entra.credentials import EmulatorCredential
from provisioning.entra.graph_client import GraphClient
from provisioning.entra.graph_endpoint import parse_bulk_upload_url
from provisioning.state.local import LocalState


class FirstSend:
    """A sender that notes when it is handed the run and sends nothing."""

    def __init__(self) -> None:
        self.released_at: float | None = None

    def release(self, workflow: Any, record: RunRecord, plan: RunPlan) -> RunRecord:
        self.released_at = time.perf_counter()
        return record

    def results(self, workflow: Any, record: RunRecord) -> RunRecord:
        return record


class _Timed:
    """Wraps the workflow's progress to note when reading ends."""

    def __init__(self) -> None:
        self.read_at: float | None = None

    def __call__(self, rows: int) -> None:
        self.read_at = time.perf_counter()


def main(source: str) -> int:
    emulator = EntraEmulator()
    emulator.start()
    try:
        endpoint = parse_bulk_upload_url(emulator.bulk_upload_url(), allow_loopback=True)
        with (
            tempfile.TemporaryDirectory(prefix="bench-first-") as folder,
            GraphClient(endpoint, EmulatorCredential()) as client,
        ):
            state = LocalState(Path(folder) / "runs", Path(folder) / "state")
            sender = FirstSend()
            progress = _Timed()
            workflow = Workflow(state, graph=lambda: client, profiles=BundledProfiles(), sender=sender,
                                config=RunConfig(full_sync=True), progress=progress)  # fmt: skip
            started = time.perf_counter()
            workflow.start(StartRequest(source=CsvSource(source), profile="microsoft-sample", trigger="cli", feed="b"))
    finally:
        emulator.stop()
    if sender.released_at is None:
        print("the run was never released to the sender", file=sys.stderr)
        return 1
    print(f"first_request={sender.released_at - started:.3f}")
    print(f"read={(progress.read_at or started) - started:.3f}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m benchmarks.first_request WORKERS.csv")
    sys.exit(main(sys.argv[1]))

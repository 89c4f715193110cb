"""Goal 4: how long a ``run`` takes to reach its first bulkUpload.

The run goes through the engine as the CLI runs it: ``Workflow`` over local folders, and the Graph
emulator on 127.0.0.1 for the job check, in a process of its own, as Entra is remote (in this process its
server thread would keep the planning from forking a reader for the file's second half). The sender notes
the moment the run is released to it (the first bulkUpload is the sender's first act) and sends nothing,
so that a million workers do not take the emulator's throttled minutes. Prints ``first_request=SECONDS``
and ``read=SECONDS`` (until the last row was read and mapped; after it come the duplicate check, the
manager levels and storing every request with its manifest).

    python -m benchmarks.first_request WORKERS.csv
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks.child import child_process
from emulators.entra import DEFAULT_JOB, DEFAULT_SP
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


@contextmanager
def emulator_process() -> Iterator[str]:
    """``python -m emulators.entra`` on a free loopback port: its base URL, until the block ends."""
    with child_process([sys.executable, "-m", "emulators.entra", "--port", "0"]) as process:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        if not base_url.startswith("http://127.0.0.1:"):
            raise RuntimeError(f"the Graph emulator did not start: {base_url!r}")
        yield base_url


def main(source: str) -> int:
    with emulator_process() as base_url:
        url = f"{base_url}/v1.0/servicePrincipals/{DEFAULT_SP}/synchronization/jobs/{DEFAULT_JOB}/bulkUpload"
        endpoint = parse_bulk_upload_url(url, allow_loopback=True)
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

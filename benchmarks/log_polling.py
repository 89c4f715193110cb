"""Goal 5: the Graph calls a run spends reading its results from the provisioning logs.

A whole ``run`` of generated workers goes through the engine as the CLI runs it (the workflow over local
folders, the threads sender, the Graph client) against the Graph emulator, on one virtual clock: the
client's pacing (40 uploads per 5 s, 5 log reads per 10 s), the workflow's waits between polls (30 s,
1, 2, 4 minutes, then every 5, for half an hour) and the emulator's throttles all run at the real
service's rates, without the benchmark waiting for them. The emulator holds each accepted upload and
processes it 5 to 10 minutes later (docs/entra-api.md, from Microsoft's "API-driven inbound provisioning
concepts": the outcome appears in the provisioning logs typically 5 to 10 minutes after the 202), in
acceptance order, dating its entries then; entries therefore appear while the run polls, and while it
pages through a poll.

The ideal is one pass over the new entries: ceil(entries / 1,000) reads of 1,000 entries, one at least
for each poll. Prints ``key=value`` lines.

    python -m benchmarks.log_polling WORKERS.csv
"""

from __future__ import annotations

import math
import random
import sys
import tempfile
import threading
import time
from collections import deque
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.goals import ideal_log_reads
from emulators.entra import EntraEmulator
from provisioning import CsvSource
from provisioning.core.mapping.profiles import BundledProfiles
from provisioning.engine.config import RunConfig
from provisioning.engine.sending import ThreadSender
from provisioning.engine.workflow import StartRequest, Workflow
from provisioning.entra.credentials import EmulatorCredential
from provisioning.entra.graph_client import LOG_RATE, GraphClient
from provisioning.entra.graph_endpoint import parse_bulk_upload_url
from provisioning.state.local import LocalState

PROCESSING_LAG = (300.0, 600.0)
"""Seconds from an upload's 202 to its entries in the logs: 5 to 10 minutes (see the module's text)."""
LOG_PAGE = 1000
LOG_PATH = "/auditlogs/provisioning"


class VirtualTime:
    """The one clock of the emulator, the client, the workflow and the sender. Sleeping moves it on, and as it
    moves the emulator processes the uploads that have come due, oldest first."""

    def __init__(self, emulator_ref: list[EntraEmulator], seed: int = 14) -> None:
        self.now = time.time()
        self._emulator = emulator_ref  # filled once the emulator exists (it needs this clock first)
        self._lock = threading.RLock()
        self._random = random.Random(seed)
        self._due: deque[float] = deque()
        self._scheduled = 0
        self._last_due = 0.0

    def time(self) -> float:
        return self.now

    def datetime(self) -> datetime:
        return datetime.fromtimestamp(self.now, UTC)

    def sleep(self, seconds: float) -> None:
        self.advance_to(self.now + max(0.0, seconds))

    def advance_to(self, target: float) -> None:
        with self._lock:
            self._schedule_new_uploads()
            emulator = self._emulator[0]
            while self._due and self._due[0] <= target:
                self.now = max(self.now, self._due.popleft())
                emulator.process_oldest(1)
            self.now = max(self.now, target)

    def _schedule_new_uploads(self) -> None:
        accepted = [r for r in self._emulator[0].uploads() if r.status == 202]
        for upload in accepted[self._scheduled :]:
            due = upload.time + self._random.uniform(*PROCESSING_LAG)
            self._last_due = max(self._last_due, due)  # the service works through its queue in order
            self._due.append(self._last_due)
        self._scheduled = len(accepted)


def main(source: str) -> int:
    emulator_ref: list[EntraEmulator] = []
    clock = VirtualTime(emulator_ref)
    emulator = EntraEmulator(clock=clock.time, processing_delay=math.inf)
    emulator_ref.append(emulator)
    emulator.start()
    started = time.perf_counter()
    try:
        endpoint = parse_bulk_upload_url(emulator.bulk_upload_url(), allow_loopback=True)
        with (
            tempfile.TemporaryDirectory(prefix="bench-logs-") as folder,
            GraphClient(endpoint, EmulatorCredential(), clock=clock.time, sleep=clock.sleep) as client,
        ):
            state = LocalState(Path(folder) / "runs", Path(folder) / "state")
            # One sender thread: the virtual clock moves on one thread's sleeps at a time.
            sender = ThreadSender(client, concurrency=1, sleep=clock.sleep)
            workflow = Workflow(state, graph=lambda: client, profiles=BundledProfiles(), sender=sender,
                                config=RunConfig(full_sync=True), clock=clock.datetime)  # fmt: skip
            record = workflow.start(
                StartRequest(source=CsvSource(source), profile="microsoft-sample", trigger="cli", feed="bench")
            )
            results = record.results or {}
    finally:
        emulator.stop()
    reads = [r for r in emulator.requests if r.method == "GET" and r.path.lower().endswith(LOG_PATH)]
    entries = len(emulator.log_entries())
    polls = sum(1 for r in reads if r.status == 200 and "skiptoken" not in r.query.lower())
    throttled = sum(1 for r in reads if r.status == 429)
    busiest = busiest_window([r.time for r in reads if r.status == 200], LOG_RATE[1])
    print(f"status={record.status}")
    print(f"pending={len(results.get('pending') or [])}")
    print(f"entries={entries}")
    print(f"log_reads={len(reads)}")
    print(f"polls={polls}")
    print(f"ideal_reads={ideal_log_reads(entries, LOG_PAGE)}")
    print(f"throttled={throttled}")
    print(f"busiest_window={busiest}")
    print(f"virtual_minutes={(clock.now - reads[0].time) / 60 if reads else 0:.1f}")
    print(f"seconds={time.perf_counter() - started:.1f}")
    return 0 if record.status == "completed" else 1


def busiest_window(times: list[float], seconds: float) -> int:
    """The most reads answered within any ``seconds``-long window."""
    busiest, window = 0, deque[float]()
    for moment in sorted(times):
        window.append(moment)
        while window[0] <= moment - seconds:
            window.popleft()
        busiest = max(busiest, len(window))
    return busiest


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m benchmarks.log_polling WORKERS.csv")
    sys.exit(main(sys.argv[1]))

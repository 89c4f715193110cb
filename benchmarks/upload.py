"""The upload benchmark: how close the paced client gets to the job's throttle, with nothing dropped.

Entra's throttle (40 bulkUpload calls per 5 s) is scaled down tenfold, to 40 per 0.5 s, so a run takes
seconds: the Graph emulator enforces it (429 with Retry-After past it) and the client paces at the same
40/0.5 (a slot frees a window after the call it replaces was answered, plus 1%). The records come
from the real pipeline (a generated CSV, ``microsoft-sample``), so the requests carry two manager
levels: every 10th worker manages the next nine. The run goes through the engine as the CLI runs it
(``Workflow`` over local folders, ``ThreadSender``): every manager request is answered before the
first report is sent (the plan's groups), one expected pause at the level boundary, shown, and left
out of the rate.

A second, over-eager case paces the client at 40/0.4, faster than the server allows: it must be
throttled, retry every 429 and still drop nothing. Concurrency 8 is shown next to 4 for both.

The emulator runs in this process on 127.0.0.1, with ``processing_delay`` set: it answers 202 at
once and processes the users only when asked, after the upload (as Graph does: bulkUpload is
accepted, then processed by the provisioning cycle), and the directory is counted then.
"""

from __future__ import annotations

import random
import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path

from emulators.entra import EntraEmulator, max_in_window
from provisioning import CsvSource
from provisioning.core.mapping.profiles import BundledProfiles
from provisioning.core.retry import RetryPolicy
from provisioning.core.runs import Manifest, RunPlan
from provisioning.engine.config import RunConfig
from provisioning.engine.sending import ThreadSender
from provisioning.engine.workflow import StartRequest, Workflow
from provisioning.entra.credentials import EmulatorCredential
from provisioning.entra.graph_client import GraphClient
from provisioning.entra.graph_endpoint import parse_bulk_upload_url
from provisioning.state.local import LocalState

from . import Options, Outcome, say
from .generate import write_workers_csv

SERVER_RATE = (40, 0.5)
"""The emulator's throttle: Entra's 40 calls per 5 s with the window scaled down tenfold."""
EAGER_RATE = (40, 0.4)
"""The over-eager client: 25% faster than the server allows."""
MIN_RATIO = 0.95
"""Accepted uploads per window over the ceiling, at least (matched pacing)."""
PROFILE = "microsoft-sample"
DEFERRED = 24 * 3600.0
"""The emulator's processing_delay: never during the run; ``process_pending()`` does it after."""


@dataclass(frozen=True)
class Case:
    name: str
    client_rate: tuple[int, float]
    concurrency: int
    ratio_target: bool
    """Whether the ratio is held to MIN_RATIO (dropped requests and unretried 429s always are)."""
    check_directory: bool
    """Process the uploads and count the emulated directory."""

    @property
    def label(self) -> str:
        calls, seconds = self.client_rate
        return f"{self.name}, client {calls}/{seconds:g} s, concurrency {self.concurrency}"


CASES = (
    Case("matched", SERVER_RATE, 4, ratio_target=True, check_directory=True),
    Case("matched", SERVER_RATE, 8, ratio_target=False, check_directory=True),
    Case("over-eager", EAGER_RATE, 4, ratio_target=False, check_directory=True),
    Case("over-eager", EAGER_RATE, 8, ratio_target=False, check_directory=True),
)


@dataclass(frozen=True)
class Result:
    case: Case
    records: int
    requests: int
    seconds: float
    """From the first bulkUpload answered to the last (the emulator's clock), the boundary pause and every
    back-off included."""
    accepted: int
    """Requests whose outcome is accepted."""
    accepted_records: int
    """Distinct externalIds in accepted requests."""
    emulator_accepted: int
    """bulkUpload calls the emulator answered 202."""
    directory_users: int | None
    """Users in the emulated directory after processing; None when not checked."""
    throttled: int
    """429 answers the emulator sent."""
    throttle_events: int
    """Runs of 429s (answers less than one window apart count as one back-off)."""
    client_429: int
    """429 answers the client saw (in the outcomes' retried statuses)."""
    throttled_not_accepted: int
    """Requests that got a 429 and did not end accepted."""
    calls_per_window: float
    """Steady-state accepted uploads per server window; see ``steady_rate``."""
    boundary_pauses: list[float]
    max_accepted_in_window: int
    mean_round_trip: float

    @property
    def ratio(self) -> float:
        return self.calls_per_window / SERVER_RATE[0]

    @property
    def dropped(self) -> int:
        return self.requests - self.accepted

    @property
    def nothing_dropped(self) -> bool:
        return (
            self.dropped == 0
            and self.emulator_accepted == self.requests
            and self.accepted_records == self.records
            and self.directory_users in (None, self.records)
        )

    @property
    def every_429_retried(self) -> bool:
        """Every 429 the emulator sent reached the client, and each such batch was retried to a 202."""
        return self.client_429 == self.throttled and self.throttled_not_accepted == 0


def phase_sizes(plan: RunPlan) -> list[int]:
    """How many requests each group (manager-level phase) has, in send order. The sender has every
    request of a group answered before it starts the next, so the emulator's accepted uploads, in
    time order, are these groups one after the other."""
    return [len(group) for group in plan.groups]


def steady_rate(accepted_times: list[float], phases: list[int]) -> float:
    """Accepted uploads per server window, in steady state.

    The throttle is a sliding window: at most N calls in any W seconds, so accepted uploads ``k``
    and ``k + N`` are at least W apart, and a client that keeps exactly at the ceiling has them
    exactly W apart. The rate is N calls per the mean time between accepted uploads ``k`` and
    ``k + N``, over every ``k`` whose pair lies within one manager-level phase: N * W / that mean is
    the mean number of accepted calls per window (the ceiling N when every span is W; less when
    round trips, the pacer or 429 back-offs leave slots unused). Unlike counts in fixed 0.5 s
    buckets it does not depend on where the buckets fall, needs no trimming of the partial first and
    last windows, and leaves out the level-boundary pause (no pair straddles two phases). A 429's
    back-off inside a phase counts: that is throughput lost to throttling.

    The times are the emulator's, when each 202 was sent (arrival plus a parse: processing is
    deferred); their jitter averages out over the many spans.
    """
    calls, window = SERVER_RATE
    spans: list[float] = []
    start = 0
    for size in phases:
        phase = accepted_times[start : start + size]
        spans += [phase[k + calls] - phase[k] for k in range(len(phase) - calls)]
        start += size
    if not spans:
        raise RuntimeError(f"no manager level has more than {calls} requests: too few records for a rate")
    return calls * window / statistics.fmean(spans)


def runs_of(times: list[float], gap: float) -> int:
    """How many runs ``times`` (sorted) make when a run ends at a gap of ``gap`` or more."""
    return sum(1 for i, moment in enumerate(times) if i == 0 or moment - times[i - 1] >= gap)


def mean_round_trip(manifests: list[Manifest]) -> float:
    """Mean seconds per attempt spent sending beyond waiting for the pacer (mostly HTTP)."""
    return statistics.fmean(max(m.seconds - m.waitedForThrottle, 0.0) / max(m.attempts, 1) for m in manifests)


def run_case(case: Case, source: Path, records: int) -> Result:
    emulator = EntraEmulator(rate_limit=SERVER_RATE, processing_delay=DEFERRED)
    emulator.start()
    try:
        endpoint = parse_bulk_upload_url(emulator.bulk_upload_url(), allow_loopback=True)
        policy = RetryPolicy(rng=random.Random(0))  # 429s carry Retry-After: the jitter is unused
        with (
            tempfile.TemporaryDirectory(prefix="bench-upload-state-") as folder,
            GraphClient(endpoint, EmulatorCredential(), rate=case.client_rate, policy=policy) as client,
        ):
            state = LocalState(Path(folder) / "runs", Path(folder) / "state")
            sender = ThreadSender(client, concurrency=case.concurrency, wait_for_results=False)
            workflow = Workflow(
                state, graph=lambda: client, profiles=BundledProfiles(), sender=sender, config=RunConfig(full_sync=True)
            )
            record = workflow.start(StartRequest(source=CsvSource(source), profile=PROFILE, trigger="cli", feed="b"))
            manifests = state.manifests(record.runId)
            plan = state.load_plan(record.runId)
            assert plan is not None
        uploads = emulator.uploads()
    finally:
        emulator.stop()
    if record.counts.operations != records:
        raise RuntimeError(f"the engine planned {record.counts.operations} records of {records}: {record.message}")
    directory_users = None
    if case.check_directory:
        emulator.process_pending()
        directory_users = len(emulator.directory())

    accepted_times = sorted(u.time for u in uploads if u.status == 202)
    throttled_times = sorted(u.time for u in uploads if u.status == 429)
    phases = phase_sizes(plan)
    pauses, start = [], 0
    for size in phases[:-1]:
        start += size
        pauses.append(accepted_times[start] - accepted_times[start - 1])
    accepted = [m for m in manifests if m.status == "accepted"]
    return Result(
        case=case,
        records=records,
        requests=len(manifests),
        seconds=uploads[-1].time - uploads[0].time if uploads else 0.0,
        accepted=len(accepted),
        accepted_records=len({external_id for m in accepted for external_id in m.externalIds}),
        emulator_accepted=emulator.accepted_upload_count,
        directory_users=directory_users,
        throttled=len(throttled_times),
        throttle_events=runs_of(throttled_times, SERVER_RATE[1]),
        client_429=sum(m.retriedStatuses.count(429) for m in manifests),
        throttled_not_accepted=sum(1 for m in manifests if 429 in m.retriedStatuses and m.status != "accepted"),
        calls_per_window=steady_rate(accepted_times, phases),
        boundary_pauses=pauses,
        max_accepted_in_window=max_in_window(accepted_times, SERVER_RATE[1]),
        mean_round_trip=mean_round_trip(manifests),
    )


def describe(result: Result) -> str:
    calls, window = SERVER_RATE
    pauses = ", ".join(f"{p:.2f} s" for p in result.boundary_pauses)
    directory = "not built" if result.directory_users is None else f"{result.directory_users:,} users"
    return (
        f"{result.case.label}: {result.records:,} records in {result.requests} requests, {result.seconds:.2f} s "
        f"({result.requests / result.seconds:.1f} requests/s); {result.calls_per_window:.1f} accepted per "
        f"{window:g} s = {result.ratio:.1%} of {calls} "
        f"(most 202s sent in any {window:g} s: {result.max_accepted_in_window}); "
        f"429s: {result.throttled} in {result.throttle_events} back-offs (client saw {result.client_429}, "
        f"not accepted after one: {result.throttled_not_accepted}); dropped {result.dropped}; "
        f"emulator accepted {result.emulator_accepted}; directory {directory}; level-boundary pause {pauses}; "
        f"mean round trip {result.mean_round_trip * 1000:.1f} ms"
    )


def run(options: Options) -> Outcome:
    records = 5_000 if options.quick else 20_000
    calls, window = SERVER_RATE
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-upload-") as tmp:
        source = write_workers_csv(Path(tmp) / f"workers-{records}.csv", records)
        say(f"{records:,} generated records; server throttle {calls}/{window:g} s")
        for case in CASES:
            result = run_case(case, source, records)
            say(describe(result))
            results.append(result)

    def verdict(met: bool) -> str:
        return "met" if met else "**missed**"

    outcome = Outcome()
    outcome.markdown += [
        f"bulkUpload against the Graph emulator throttling at {calls} calls per {window:g} s (Entra's 40 per 5 s, "
        f"scaled down tenfold), {records:,} records from the pipeline (`{PROFILE}`, two manager levels). Calls per "
        f"window: mean accepted uploads per {window:g} s in steady state, N·W / mean time between accepted uploads "
        "k and k+N within a manager level (the level-boundary pause is left out, 429 back-offs are not). Dropped: "
        "requests not accepted in the end (directory counted at concurrency 4).",
        "",
        "| Client pacing | Concurrency | Requests | Wall time | Requests/s | Calls per window | 429s "
        "| Dropped | Target |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for result in results:
        case = result.case
        ratio_met = result.ratio >= MIN_RATIO
        targets = [
            f"0 dropped: {verdict(result.nothing_dropped)}",
            f"429s retried: {verdict(result.every_429_retried)}",
        ]
        if case.ratio_target:
            targets.insert(0, f">= {MIN_RATIO:.0%}: {verdict(ratio_met)}")
            if not ratio_met:
                outcome.missed.append(f"{case.label}: {result.ratio:.1%} of the ceiling < {MIN_RATIO:.0%}")
        if not result.nothing_dropped:
            outcome.missed.append(
                f"{case.label}: {result.dropped} requests dropped ({result.throttled_not_accepted} after a 429), "
                f"{result.emulator_accepted} accepted by the emulator, {result.accepted_records:,} records accepted, "
                f"directory {result.directory_users} of {records:,} users"
            )
        if not result.every_429_retried:
            outcome.missed.append(
                f"{case.label}: {result.throttled} 429s sent, {result.client_429} seen by the client, "
                f"{result.throttled_not_accepted} requests not accepted after one"
            )
        client_calls, client_window = case.client_rate
        outcome.markdown.append(
            f"| {client_calls}/{client_window:g} s ({case.name}) | {case.concurrency} | {result.requests} "
            f"| {result.seconds:.2f} s | {result.requests / result.seconds:.1f} "
            f"| {result.calls_per_window:.1f} of {calls} ({result.ratio:.1%}) "
            f"| {result.throttled} | {result.dropped} | {'; '.join(targets)} |"
        )
    return outcome

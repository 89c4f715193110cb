"""The connectors benchmark: records/s of a paged pull, one page at a time and 4 pages ahead, and its memory.

The HR system is the custom-rest emulator (``/offset/people``: ``offset`` + ``limit``, ``total`` in
every page, API-key auth) serving 10,000 workers (2,000 with ``--quick``) in pages of 100. It runs in
a child process (``python -m emulators.hrms``), so that the pull's own time and allocations are
measured, not the server's. Every record is consumed (its worker id read) and dropped, as a mapping
step would.

Throughput: the whole pull, wall clock, for ``concurrency`` 1 and 4 (median of 5 rounds; 1 with
``--quick``), without tracemalloc, on two links: bare loopback (no latency at all: the pull is bound
by the client's own CPU, flattening records) and loopback with a simulated network round trip of
5 ms per request (a transport that waits before each request; real HR APIs take far longer).
Memory: ``tracemalloc``'s peak over a pull of the first fifth of the records (``limit``) and over the
whole pull, for both concurrencies: with records streamed, the peak depends on the pages held, not on
how many pages there are.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from connectors import fetch_records, load_registry

from . import Options, Outcome, say
from .child import child_process

PAGE = 100
AHEAD = 4
CONCURRENCIES = (1, AHEAD)
ROUND_TRIP = 0.005
"""Seconds the simulated network adds to each request."""
MAX_MEMORY_RATIO = 1.5
"""tracemalloc peak of the whole pull over that of its first fifth, at most: constant memory per page."""
MIN_SPEEDUP = 1.0
"""Records/s with 4 pages ahead over one page at a time, at least."""


class RoundTrip(httpx.HTTPTransport):
    """An HTTP transport that waits ``delay`` seconds before each request: a network round trip."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        time.sleep(self.delay)
        return super().handle_request(request)


@dataclass(frozen=True)
class Pull:
    records: int
    pages: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.records / self.seconds


@contextmanager
def emulator(workers: int) -> Iterator[dict[str, Any]]:
    """The custom-rest emulator in a child process; yields a connector config for /offset/people."""
    command = [sys.executable, "-m", "emulators.hrms", "--vendor", "custom-rest", "--port", "0",
               "--workers", str(workers), "--max-page-size", str(PAGE)]  # fmt: skip
    with child_process(command) as process:
        assert process.stdout is not None
        process.stdout.readline()  # the base URL; the config on the next line holds it too
        served = json.loads(process.stdout.readline())
        yield {**served, "path": "/offset/people", "authType": "apikey-header", "pagingStyle": "offset",
               "totalPath": "total", "pageSize": str(PAGE)}  # fmt: skip


def pull(config: dict[str, Any], concurrency: int, limit: int | None = None, delay: float = 0.0) -> Pull:
    """One pull to its end, every record consumed and dropped."""
    started = time.perf_counter()
    stream = fetch_records(load_registry()["custom-rest"], config, concurrency=concurrency, limit=limit,
                           allow_loopback_http=True, transport=RoundTrip(delay) if delay else None)  # fmt: skip
    count = 0
    for record in stream:
        if record["workerId"]:
            count += 1
    seconds = time.perf_counter() - started
    return Pull(count, stream.report.pages, seconds)


def peak_kib(config: dict[str, Any], concurrency: int, limit: int | None) -> tuple[Pull, float]:
    """A pull under tracemalloc: its result and the peak of traced memory during it, in KiB."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        result = pull(config, concurrency, limit)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak / 1024


def run(options: Options) -> Outcome:
    records = 2_000 if options.quick else 10_000
    small = records // 5
    rounds = 1 if options.quick else 5
    links = {"loopback": 0.0, f"{ROUND_TRIP * 1000:g} ms round trip": ROUND_TRIP}
    outcome = Outcome()
    with emulator(records) as config:
        for concurrency in CONCURRENCIES:  # warm-up: imports, connections, the emulator's first answers
            pull(config, concurrency, limit=2 * PAGE)
        runs: dict[tuple[str, int], list[Pull]] = {(link, c): [] for link in links for c in CONCURRENCIES}
        for round_number in range(1, rounds + 1):
            for link, concurrency in runs:
                result = pull(config, concurrency, delay=links[link])
                if result.records != records:
                    raise RuntimeError(f"concurrency {concurrency}: {result.records:,} records, not {records:,}")
                runs[link, concurrency].append(result)
                say(f"round {round_number}/{rounds} {link}, concurrency {concurrency}: {result.records:,} records, "
                    f"{result.pages} pages in {result.seconds:.2f} s ({result.rate:,.0f} records/s)")  # fmt: skip
        peaks: dict[tuple[int, int], tuple[Pull, float]] = {}
        for concurrency in CONCURRENCIES:
            for limit in (small, records):
                peaks[concurrency, limit] = peak_kib(config, concurrency, limit)
                result, peak = peaks[concurrency, limit]
                say(f"tracemalloc, concurrency {concurrency}: {result.records:,} records ({result.pages} pages), "
                    f"peak {peak:,.0f} KiB")  # fmt: skip

    median = {key: statistics.median(r.seconds for r in results) for key, results in runs.items()}
    rate = {key: records / seconds for key, seconds in median.items()}
    speedup = {link: rate[link, AHEAD] / rate[link, 1] for link in links}
    memory_ratio = {c: peaks[c, records][1] / peaks[c, small][1] for c in CONCURRENCIES}
    for link, ratio in speedup.items():
        say(f"{link}: concurrency {AHEAD} / 1: {ratio:.2f}x the records/s (target >= {MIN_SPEEDUP:.1f}x)")
        if ratio < MIN_SPEEDUP and _networked(link):
            outcome.missed.append(f"{link}: concurrency {AHEAD} at {ratio:.2f}x the records/s of sequential "
                                  f"(< {MIN_SPEEDUP:.1f}x)")  # fmt: skip
    for concurrency, ratio in memory_ratio.items():
        say(f"concurrency {concurrency}: peak {records:,} / {small:,} records: {ratio:.2f} "
            f"(target <= {MAX_MEMORY_RATIO})")  # fmt: skip
        if ratio > MAX_MEMORY_RATIO:
            outcome.missed.append(f"concurrency {concurrency}: tracemalloc peak grew {ratio:.2f}x from {small:,} "
                                  f"to {records:,} records (> {MAX_MEMORY_RATIO})")  # fmt: skip

    def verdict(met: bool) -> str:
        return "met" if met else "**missed**"

    how = f"median of {rounds}" if rounds > 1 else "1 round"
    outcome.markdown += [
        f"`fetch_records` from the custom-rest emulator (`/offset/people`, pages of {PAGE}, emulator in a child "
        f"process), every record consumed; wall time of the whole pull ({how}, after a warm-up) on bare loopback "
        f"and with a simulated {ROUND_TRIP * 1000:g} ms round trip per request:",
        "",
        "| Link | Concurrency | Records | Pages | Wall time | Records/s | Target |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for link in links:
        for concurrency in CONCURRENCIES:
            pages = runs[link, concurrency][0].pages
            outcome.markdown.append(
                f"| {link} | {concurrency} | {records:,} | {pages} | {median[link, concurrency]:.2f} s | "
                f"{rate[link, concurrency]:,.0f} | |"
            )
        met = speedup[link] >= MIN_SPEEDUP
        target = f">= {MIN_SPEEDUP:.1f}x: {verdict(met)}" if _networked(link) else "none: CPU-bound on loopback"
        outcome.markdown.append(f"| {link} | {AHEAD} / 1 | | | | {speedup[link]:.2f}x | {target} |")
    outcome.markdown += [
        "",
        "Memory: tracemalloc's peak while pulling and consuming (bare loopback):",
        "",
        "| Concurrency | Records | Pages | Peak | Target |",
        "|---:|---:|---:|---:|---|",
    ]
    for concurrency in CONCURRENCIES:
        for limit in (small, records):
            result, peak = peaks[concurrency, limit]
            outcome.markdown.append(f"| {concurrency} | {result.records:,} | {result.pages} | {peak:,.0f} KiB | |")
        met = memory_ratio[concurrency] <= MAX_MEMORY_RATIO
        outcome.markdown.append(
            f"| {concurrency} | {records:,} / {small:,} | | {memory_ratio[concurrency]:.2f}x | "
            f"<= {MAX_MEMORY_RATIO}x (constant memory per page): {verdict(met)} |"
        )
    return outcome


def _networked(link: str) -> bool:
    """Concurrency pays where requests wait on the network; on bare loopback the pull is CPU-bound (turning
    records into flat fields), so extra threads there only share the same two cores."""
    return "round trip" in link

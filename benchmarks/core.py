"""The core benchmark, issue 14's goals 1 to 6: speed against the plain streaming loop, memory and linear
time up to 2.5M workers, time to the first request, the cost of reading the logs, cold start.

Every command runs as a subprocess of this interpreter, timed wall clock from start to exit (so the
interpreter start-up and imports count for both). Peak RSS comes from ``os.wait4`` on the child's
pid: the rusage of that child alone, not the maximum over every child waited so far.
"""

from __future__ import annotations

import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from provisioning.entra.graph_client import LOG_RATE

from . import Options, Outcome, say
from .child import PROJECT
from .generate import write_workers_csv
from .goals import MARKDOWN_HEAD, Goal, median_ratio, missed, per_row_ratio, ratio

MAX_RATIO = 0.70
"""Goal 1: preview's wall time over the plain streaming loop's (benchmarks/baseline.py), at most, on 100k."""
MAX_PEAK_MB = 256.0
"""Goal 2: preview's peak RSS on 2.5M workers, at most."""
MAX_PEAK_GROWTH = 1.2
"""Goal 2: peak RSS on 2.5M over peak RSS on 250k, at most."""
MAX_PER_ROW_GROWTH = 1.2
"""Goal 3: time per row on 2.5M over time per row on 100k, at most."""
BATCH = 50
ONLY_SOME_USE = (
    "provisioning.doors.http.api",
    "provisioning.engine.workflow",
    "provisioning.settings",
    "provisioning.core.mapping.profile",
    "provisioning.core.plan.pipeline",
    "pydantic",
    "httpx",
)
"""Goal 6: modules that only some functions or commands use; a start (indexing, ``--help``) loads none."""
STARTS = {
    "import function_app": "import function_app",
    "python -m provisioning --help": "import runpy, sys\nsys.argv = ['provisioning', '--help']\n"
    "try:\n    runpy.run_module('provisioning', run_name='__main__')\nexcept SystemExit:\n    pass",
}


@dataclass(frozen=True)
class Measured:
    seconds: float
    peak_kib: int
    output: str

    @property
    def peak_mb(self) -> float:
        return self.peak_kib / 1024  # ru_maxrss is in KiB on Linux


def measure(command: list[str], *, cwd: Path = PROJECT) -> Measured:
    """Run ``command`` to its end; its wall time and its own peak RSS. Raises unless it exits 0.

    A ``python -m MODULE`` command runs under ``benchmarks.peak``, which reports the child's own peak
    (``VmHWM``): ``os.wait4``'s ``ru_maxrss`` would include this process's memory, carried over the exec.
    """
    wrapped = len(command) > 2 and command[0] == sys.executable and command[1] == "-m"
    with tempfile.TemporaryFile() as log, tempfile.NamedTemporaryFile(prefix="bench-peak-") as peak_file:
        env = dict(os.environ)
        if wrapped:
            command = [sys.executable, "-m", "benchmarks.peak", *command[2:]]
            env["BENCH_PEAK_FILE"] = peak_file.name
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            _, status, usage = os.wait4(process.pid, 0)
        except BaseException:
            process.kill()
            process.wait()
            raise
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        log.seek(0)
        output = log.read().decode("utf-8", "replace")
        reported = Path(peak_file.name).read_text("ascii").strip() if wrapped else ""
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {process.returncode}:\n{output}")
    return Measured(seconds, int(reported) if reported else usage.ru_maxrss, output)


def preview_command(source: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "provisioning", "preview", str(source), "--mapping", "microsoft-sample",
            "--out", str(out)]  # fmt: skip


def baseline_command(source: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "benchmarks.baseline", str(source), str(out)]


def run_once(name: str, command: list[str], out: Path, rows: int) -> Measured:
    """One run into an empty ``out``, checked to have written every request.

    The files of the run before are removed and written out to disk first (``os.sync``, not timed): each
    run pays for its own writes, not for the writeback of the previous run's 70 MB, which otherwise lands
    on whichever command runs next."""
    shutil.rmtree(out, ignore_errors=True)
    os.sync()
    measured = measure(command)
    written = sum(1 for _ in out.glob("bulk-*.json"))
    expected = math.ceil(rows / BATCH)
    if written != expected:
        raise RuntimeError(f"{name} wrote {written} requests for {rows} rows, not {expected}")
    return measured


def generate(folder: Path, rows: int) -> Path:
    path = folder / f"workers-{rows}.csv"
    started = time.perf_counter()
    write_workers_csv(path, rows)
    seconds = time.perf_counter() - started
    say(f"generated {rows:,} workers in {seconds:.1f} s ({path.stat().st_size / 1e6:,.0f} MB)")
    return path


def describe(name: str, rows: int, measured: Measured) -> str:
    return (f"{name}: {rows:,} rows in {measured.seconds:.2f} s ({rows / measured.seconds:,.0f} rows/s, "
            f"peak RSS {measured.peak_mb:,.0f} MB)")  # fmt: skip


def cold_start(rounds: int) -> dict[str, tuple[float, list[str]]]:
    """For each start in ``STARTS``: the median wall time of a fresh interpreter running it, and which of
    ``ONLY_SOME_USE`` it loaded (it should load none)."""
    found: dict[str, tuple[float, list[str]]] = {}
    for name, code in STARTS.items():
        seconds = statistics.median(measure([sys.executable, "-c", code]).seconds for _ in range(rounds))
        listing = measure([sys.executable, "-c", f"{code}\nimport sys\nprint(' '.join(sys.modules))"]).output
        loaded = set(listing.split())
        found[name] = (seconds, [module for module in ONLY_SOME_USE if module in loaded])
    return found


def first_request(source: Path) -> tuple[float, float]:
    """``run`` on ``source`` to the moment it would send its first bulkUpload: (seconds, reading seconds)."""
    output = measure([sys.executable, "-m", "benchmarks.first_request", str(source)]).output
    values = dict(line.split("=", 1) for line in output.splitlines() if "=" in line)
    return float(values["first_request"]), float(values["read"])


def log_polling(source: Path) -> dict[str, str]:
    """A whole ``run`` on ``source`` and its log reads (``benchmarks.log_polling``): its ``key=value`` lines."""
    output = measure([sys.executable, "-m", "benchmarks.log_polling", str(source)]).output
    return dict(line.split("=", 1) for line in output.splitlines() if "=" in line)


def log_polling_goal(rows: int, found: dict[str, str]) -> Goal:
    reads, ideal = int(found["log_reads"]), int(found["ideal_reads"])
    throttled, busiest = int(found["throttled"]), int(found["busiest_window"])
    within = throttled == 0 and busiest <= LOG_RATE[0] and found["status"] == "completed"
    note = (f"{reads} reads for {int(found['entries']):,} entries in {found['polls']} polls over "
            f"{found['virtual_minutes']} minutes (ideal {ideal}); {throttled} throttled, at most {busiest} in any "
            f"{LOG_RATE[1]:.0f} s (limit {LOG_RATE[0]}); decided by the throttle, the ratio is shown")  # fmt: skip
    return Goal(5, f"log polling: reads / one pass over the new entries, `run` of {rows:,} workers",
                ratio(reads, ideal), None, met_by_note=within, note=note)  # fmt: skip


def run(options: Options) -> Outcome:
    if options.quick:
        compare_rows, small_rows, large_rows, first_rows, rounds = 10_000, 25_000, 250_000, 100_000, 1
    else:
        compare_rows, small_rows, large_rows, first_rows, rounds = 100_000, 250_000, 2_500_000, 1_000_000, 5
    outcome = Outcome()
    goals: list[Goal] = []
    with tempfile.TemporaryDirectory(prefix="bench-core-") as tmp:
        folder = Path(tmp)
        # Goal 1: alternating runs in one session, after a warm-up of each.
        source = generate(folder, compare_rows)
        commands = {
            "preview": preview_command(source, folder / "out-preview"),
            "baseline": baseline_command(source, folder / "out-baseline"),
        }
        for name, command in commands.items():
            measured = run_once(name, command, folder / f"out-{name}", compare_rows)
            say("warm-up " + describe(name, compare_rows, measured))
        times: dict[str, list[Measured]] = {name: [] for name in commands}
        for round_number in range(1, rounds + 1):
            for name, command in commands.items():
                measured = run_once(name, command, folder / f"out-{name}", compare_rows)
                times[name].append(measured)
                say(f"round {round_number}/{rounds} " + describe(name, compare_rows, measured))
        median = {name: statistics.median(m.seconds for m in runs) for name, runs in times.items()}
        peak = {name: max(m.peak_mb for m in runs) for name, runs in times.items()}
        speed = median_ratio([m.seconds for m in times["preview"]], [m.seconds for m in times["baseline"]])
        for name in commands:
            say(f"{name}: median {median[name]:.2f} s, {compare_rows / median[name]:,.0f} rows/s")
        goals.append(Goal(1, f"speed: preview / plain streaming loop, {compare_rows:,} workers", speed, MAX_RATIO,
                          note=f"median of {rounds}, alternating"))  # fmt: skip
        for out in ("out-preview", "out-baseline"):
            shutil.rmtree(folder / out)
        say(f"log polling: a whole run of {compare_rows:,} workers on a virtual clock ...")
        polling = log_polling(source)
        source.unlink()

        # Goals 2 and 3: peak memory at 250k and 2.5M, time per row at 2.5M against 100k.
        sized: dict[int, Measured] = {}
        first = (math.nan, math.nan)
        for rows in (small_rows, large_rows):
            large = generate(folder, rows)
            say(f"preview on {rows:,} rows ...")
            sized[rows] = run_once("preview", preview_command(large, folder / "out-large"), folder / "out-large", rows)
            say(describe("preview", rows, sized[rows]))
            shutil.rmtree(folder / "out-large")
            if rows == first_rows:
                first = first_request(large)
            large.unlink()
        if first_rows not in sized:
            large = generate(folder, first_rows)
            first = first_request(large)
            large.unlink()
    big, small = sized[large_rows], sized[small_rows]
    goals.append(Goal(2, f"memory: peak RSS, {large_rows:,} workers", big.peak_mb, MAX_PEAK_MB, " MB"))
    goals.append(Goal(2, f"memory: peak at {large_rows:,} / peak at {small_rows:,}", ratio(big.peak_mb, small.peak_mb),
                      MAX_PEAK_GROWTH, note=f"{big.peak_mb:,.0f} MB / {small.peak_mb:,.0f} MB"))  # fmt: skip
    per_row = per_row_ratio(big.seconds, large_rows, median["preview"], compare_rows)
    goals.append(Goal(3, f"linear time: time per row at {large_rows:,} / at {compare_rows:,}", per_row,
                      MAX_PER_ROW_GROWTH, note=f"{big.seconds / large_rows * 1e6:.1f} us / "
                      f"{median['preview'] / compare_rows * 1e6:.1f} us a row"))  # fmt: skip
    first_seconds, planned_seconds = first
    goals.append(Goal(4, f"time to the first bulkUpload, `run` on {first_rows:,} workers", first_seconds, None, " s",
                      note=f"explained, not streamed: the whole file is read first ({planned_seconds:.1f} s of it), "
                      "since the duplicate check, managers-first ordering and the safety stop need every row "
                      "(README, Performance)", met_by_note=not math.isnan(first_seconds)))  # fmt: skip
    goals.append(log_polling_goal(compare_rows, polling))
    starts = cold_start(5 if not options.quick else 1)
    for name, (seconds, loaded) in starts.items():
        note = (
            "loads " + ", ".join(loaded)
            if loaded
            else "loads none of the modules only some functions or "
            "commands use (the HTTP API, the engine, the settings, the profile models, pydantic, httpx)"
        )
        goals.append(Goal(6, f"cold start: {name}", seconds, None, " s", met_by_note=not loaded, note=note))

    for goal in goals:
        say(goal.line())
    outcome.missed += [line for line in missed(goals) if not (options.quick and line.startswith("goal 1 "))]
    how = f"median of {rounds}" if rounds > 1 else "1 round"
    outcome.markdown += [
        f"`preview --mapping microsoft-sample` against the plain streaming `csv.DictReader` + `json.dumps` loop "
        f"(`benchmarks/baseline.py`), wall time of the whole command ({how}, alternating, after one warm-up run):",
        "",
        "| Run | Rows | Wall time | Rows/s | Peak RSS |",
        "|---|---:|---:|---:|---:|",
    ]
    for name in ("preview", "baseline"):
        outcome.markdown.append(
            f"| {name} | {compare_rows:,} | {median[name]:.2f} s | {compare_rows / median[name]:,.0f} | "
            f"{peak[name]:,.0f} MB |"
        )
    for rows, measured in sized.items():
        outcome.markdown.append(
            f"| preview | {rows:,} | {measured.seconds:.2f} s | {rows / measured.seconds:,.0f} | "
            f"{measured.peak_mb:,.0f} MB |"
        )
    outcome.markdown += ["", *MARKDOWN_HEAD, *(goal.markdown() for goal in goals)]
    return outcome

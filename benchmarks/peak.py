"""Run a module as ``python -m`` would, and write its peak RSS (KiB) to ``$BENCH_PEAK_FILE`` at exit: its own,
plus the largest of the processes it forked and waited for (the second half's reader of a large CSV).

``os.wait4``'s ``ru_maxrss`` is not the child's own peak on Linux: a child started by fork or vfork and
exec carries the parent's high-water mark over the exec, so every child of a 50 MB benchmark process
reported at least 50 MB. ``VmHWM`` in ``/proc/self/status`` is the peak of the process's own memory
since its exec, which is what the memory goals are about.

A forked child's peak counts the pages it still shares with its parent, so the sum counts those twice: an
upper bound of the memory the command needed, never less.

    BENCH_PEAK_FILE=peak.txt python -m benchmarks.peak provisioning preview ...
"""

from __future__ import annotations

import atexit
import os
import resource
import runpy
import sys


def own_peak_kib() -> int | None:
    """``VmHWM`` of this process in KiB, or None where /proc does not say (not Linux)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def forked_peak_kib() -> int:
    """The peak RSS (KiB on Linux) of the largest child this process has waited for; 0 with none."""
    return int(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)


def _report() -> None:
    target = os.environ.get("BENCH_PEAK_FILE")
    own = own_peak_kib()
    peak = None if own is None else own + forked_peak_kib()
    if target and peak is not None:
        with open(target, "w", encoding="ascii") as stream:
            stream.write(str(peak))


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit("usage: python -m benchmarks.peak MODULE [ARGS ...]")
    atexit.register(_report)
    module = sys.argv[1]
    sys.argv = sys.argv[1:]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()

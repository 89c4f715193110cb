"""``python -m benchmarks [--quick] [--only NAME ...]``: run the benchmarks, print a Markdown summary.

Exits 1 when a benchmark misses one of its targets. To add a benchmark (upload pacing, HR
connectors, ...), write a module with ``run(options) -> Outcome`` and register it in ``BENCHMARKS``.
"""

from __future__ import annotations

import argparse
import os
import platform
from collections.abc import Callable, Sequence

from . import Options, Outcome, connectors, core, say, upload

BENCHMARKS: dict[str, Callable[[Options], Outcome]] = {
    "core": core.run,
    "upload": upload.run,
    "connectors": connectors.run,
}


def machine() -> str:
    return (
        f"{os.cpu_count()} CPUs, {platform.platform()}, {platform.machine()}, "
        f"{platform.python_implementation()} {platform.python_version()}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small inputs, one round: a fast check")
    parser.add_argument(
        "--only", action="append", choices=sorted(BENCHMARKS), metavar="NAME",
        help=f"run only this benchmark (repeatable; one of: {', '.join(BENCHMARKS)})",
    )  # fmt: skip
    args = parser.parse_args(argv)
    options = Options(quick=args.quick)
    names = args.only or list(BENCHMARKS)
    say(f"machine: {machine()}")
    outcomes = {}
    for name in names:
        say(f"== {name}")
        outcomes[name] = BENCHMARKS[name](options)

    print()
    print("---- Markdown (paste into the README) ----")
    print()
    print(f"Machine: {machine()}{' (quick run)' if options.quick else ''}.")
    for outcome in outcomes.values():
        print()
        print("\n".join(outcome.markdown))
    print()
    missed = [f"{name}: {target}" for name, outcome in outcomes.items() for target in outcome.missed]
    if missed:
        print("TARGETS MISSED:")
        for line in missed:
            print(f"  {line}")
        return 1
    print("all checked targets met")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

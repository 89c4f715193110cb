"""An emulator (or any server) in a child process of the benchmark, stopped whatever happens."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent


@contextmanager
def child_process(command: list[str]) -> Iterator[subprocess.Popen[str]]:
    """``command`` started in the project folder with its standard output readable as text; terminated when
    the block ends (killed if it does not stop within 10 s)."""
    process = subprocess.Popen(command, cwd=PROJECT, stdout=subprocess.PIPE, text=True)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

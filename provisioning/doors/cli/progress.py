"""Progress on a terminal (rows and rows/s on one rewritten line); silent when not on one."""

from __future__ import annotations

import sys
import time
from typing import IO


class Progress:
    def __init__(self, label: str, stream: IO[str] | None = None, *, enabled: bool | None = None) -> None:
        self._stream = stream or sys.stderr
        self._enabled = self._stream.isatty() if enabled is None else enabled
        self._label = label
        self._started = time.monotonic()
        self._shown = False

    def __call__(self, count: int) -> None:
        if not self._enabled:
            return
        elapsed = max(time.monotonic() - self._started, 1e-9)
        self._stream.write(f"\r{self._label}: {count:,} rows ({count / elapsed:,.0f} rows/s)   ")
        self._stream.flush()
        self._shown = True

    def done(self) -> None:
        if self._shown:
            self._stream.write("\n")
            self._stream.flush()

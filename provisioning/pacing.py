"""Pacing under Entra's throttle: at most N calls starting in any window of W seconds, across threads.

Each caller reserves the earliest start time that keeps the window's promise, then sleeps until it.
A 429 pushes every later start back by the server's Retry-After. Clock and sleep are injected, so
tests run without real sleeping.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


def parse_rate(text: str) -> tuple[int, float]:
    """``"40/5"`` -> (40, 5.0): calls per seconds."""
    try:
        calls, seconds = text.split("/")
        parsed = int(calls), float(seconds)
    except ValueError as exc:
        raise ValueError(f"rate {text!r} is not CALLS/SECONDS, e.g. 40/5") from exc
    if parsed[0] < 1 or parsed[1] <= 0:
        raise ValueError(f"rate {text!r} must allow at least one call in a positive number of seconds")
    return parsed


class SlidingWindowPacer:
    def __init__(
        self,
        calls: int,
        window: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.calls = calls
        self.window = window
        self._clock = clock
        self._sleep = sleep
        self._starts: deque[float] = deque(maxlen=calls)
        self._not_before = 0.0
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Blocks until this call may start; returns how long it waited."""
        with self._lock:
            now = self._clock()
            start = max(now, self._not_before)
            if len(self._starts) == self.calls:
                start = max(start, self._starts[0] + self.window)
            self._starts.append(start)
        wait = start - now
        if wait > 0:
            self._sleep(wait)
        return max(wait, 0.0)

    def hold(self, seconds: float) -> None:
        """No call starts before ``seconds`` from now (the server said Retry-After)."""
        with self._lock:
            self._not_before = max(self._not_before, self._clock() + seconds)

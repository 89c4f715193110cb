"""Sliding-window call limits, as bulkUpload enforces them per job (40 calls / 5 s, a daily quota)."""

from __future__ import annotations

import math
from collections import deque

DAY_SECONDS = 24 * 60 * 60.0


class SlidingWindow:
    """At most ``limit`` admitted calls in any ``seconds``-long window.

    Only admitted calls count: a client that keeps hammering while throttled is not punished
    further, which is what lets a correctly paced client recover after one Retry-After.
    """

    def __init__(self, limit: int, seconds: float) -> None:
        if limit < 1 or seconds <= 0:
            raise ValueError(f"a window needs limit >= 1 and seconds > 0, got {limit}/{seconds}")
        self.limit = limit
        self.seconds = seconds
        self._admitted: deque[float] = deque()

    def retry_after(self, now: float) -> float | None:
        """Seconds until a call would be admitted, or None if one is admitted now."""
        while self._admitted and self._admitted[0] <= now - self.seconds:
            self._admitted.popleft()
        if len(self._admitted) < self.limit:
            return None
        return self._admitted[0] + self.seconds - now

    def admit(self, now: float) -> None:
        self._admitted.append(now)


def retry_after_header(seconds: float) -> str:
    """Retry-After as whole seconds, never 0: a 0 would invite an immediate, doomed retry."""
    return str(max(1, math.ceil(seconds - 1e-9)))


def given_retry_after(seconds: float) -> str:
    """An injected Retry-After, as the test asked for it (Graph itself sometimes sends "2.128")."""
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"

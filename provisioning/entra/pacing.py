"""Pacing under Entra's throttle: at most N calls in any window of W seconds, across threads.

The server counts a call when it arrives, which the client cannot see; it can see when the call was
answered, which is after it arrived. So a call may start only once the call N places before it was
answered W seconds ago (plus a small margin): however late that earlier call reached the server, this
one cannot reach it within the same window. Network and thread jitter then cost no 429s, only the
server's response time. A 429 still pushes every later start back by the server's Retry-After.
Clock and sleep are injected, so tests run without real sleeping.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

DEFAULT_MARGIN = 0.01
"""Each window is kept 1% longer than the server's (50 ms of Entra's 5 s), for clock granularity."""


@dataclass
class Slot:
    """One call's place in the window: when it may start, and when it was answered."""

    start: float
    answered: float | None = None


class SlidingWindowPacer:
    def __init__(
        self,
        calls: int,
        window: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        margin: float = DEFAULT_MARGIN,
    ) -> None:
        self.calls = calls
        self.window = window * (1 + margin)
        self._clock = clock
        self._sleep = sleep
        self._slots: deque[Slot] = deque()
        self._not_before = 0.0
        self._changed = threading.Condition()

    def acquire(self) -> Slot:
        """Blocks until a call may start; pass the slot to ``answered`` when the call comes back."""
        with self._changed:
            while len(self._slots) == self.calls and self._slots[0].answered is None:
                self._changed.wait()  # N calls in flight: the oldest must be answered first
            now = self._clock()
            start = max(now, self._not_before)
            if len(self._slots) == self.calls:
                oldest = self._slots.popleft()
                assert oldest.answered is not None
                start = max(start, oldest.answered + self.window)
            slot = Slot(start)
            self._slots.append(slot)
        if start > now:
            self._sleep(start - now)
        return slot

    def answered(self, slot: Slot) -> None:
        with self._changed:
            slot.answered = max(self._clock(), slot.start)
            self._changed.notify_all()

    def hold(self, seconds: float) -> None:
        """No call starts before ``seconds`` from now (the server said Retry-After)."""
        with self._changed:
            self._not_before = max(self._not_before, self._clock() + seconds)

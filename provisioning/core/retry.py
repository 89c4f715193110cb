"""One retry policy for every HTTP call: which answers to retry, and how long to wait before the next try.

Retried: 429, 408, 500, 502, 503, 504 and transport errors. ``Retry-After`` (seconds or an HTTP date)
wins when present; otherwise exponential backoff with full jitter, capped, for a bounded number of
attempts. Never retried: 400, 401 after the one token refresh, 403, 404 and the rest of 4xx.

``retry_loop`` is the one loop every caller uses (Graph, the HR connectors, storage updates): the
caller says what a try is and how to judge its answer; the loop owns the waiting, the total deadline
and the logging hook.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

T = TypeVar("T")
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None when absent or bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


@dataclass
class RetryPolicy:
    max_attempts: int = 6
    """Tries in all, the first included."""
    base_delay: float = 1.0
    max_delay: float = 60.0
    max_retry_after: float = 300.0
    """A longer Retry-After is still honoured up to this, so one answer cannot stall a run for hours."""
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int, retry_after: float | None = None) -> float | None:
        """Seconds to wait after failed try number ``attempt`` (1-based), or None to give up."""
        if attempt >= self.max_attempts:
            return None
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        ceiling = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return self.rng.uniform(ceiling / 2, ceiling)

    @staticmethod
    def retryable(status: int) -> bool:
        return status in RETRYABLE_STATUSES


@dataclass(frozen=True)
class Retry:
    """A judge's answer that the try is worth repeating."""

    after: float | None = None
    """The server's Retry-After in seconds, when it sent one."""
    reason: str = ""
    """What went wrong, for the log line (never a secret)."""
    shared: bool = False
    """The wait concerns every caller (a 429 from a shared throttle), not just this one: ``hold`` it."""


def retry_loop(
    call: Callable[[], T],
    judge: Callable[[T | Exception], Retry | None],
    *,
    policy: RetryPolicy,
    sleep: Callable[[float], None],
    clock: Callable[[], float] = time.monotonic,
    deadline: float | None = None,
    hold: Callable[[float], None] | None = None,
    on_retry: Callable[[int, float, Retry], None] | None = None,
) -> T:
    """Calls ``call`` until ``judge`` says the answer is final, the policy gives up, or ``deadline`` would pass.

    ``judge`` sees the result or the exception ``call`` raised, and returns None (final) or a ``Retry``.
    When the loop stops, the last result is returned or the last exception raised, so the caller reports
    the real last answer. ``deadline`` is a ``clock()`` value: no wait is started that would end past it
    (a request's lease must outlive its sending). ``on_retry(attempt, delay, retry)`` logs each wait;
    ``hold`` replaces ``sleep`` for shared waits (a pacer that holds every sender back).
    """
    attempt = 0
    while True:
        attempt += 1
        failure: Exception | None = None
        try:
            result: T | None = call()
        except Exception as exc:  # judged below: the judge decides what is worth retrying
            failure, result = exc, None
        verdict = judge(failure if failure is not None else result)  # type: ignore[arg-type]
        delay = None if verdict is None else policy.delay(attempt, verdict.after)
        if verdict is None or delay is None or (deadline is not None and clock() + delay > deadline):
            if failure is not None:
                raise failure
            return result  # type: ignore[return-value]
        if on_retry is not None:
            on_retry(attempt, delay, verdict)
        (hold if verdict.shared and hold is not None else sleep)(delay)

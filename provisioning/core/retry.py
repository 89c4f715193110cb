"""One retry policy for every HTTP call: which answers to retry, and how long to wait before the next try.

Retried: 429, 408, 500, 502, 503, 504 and transport errors. ``Retry-After`` (seconds or an HTTP date)
wins when present; otherwise exponential backoff with full jitter, capped, for a bounded number of
attempts. Never retried: 400, 401 after the one token refresh, 403, 404 and the rest of 4xx.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

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

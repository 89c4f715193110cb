"""Pacing and backoff with time under the test's control: no real sleeping."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from provisioning.core.retry import RetryPolicy, parse_retry_after
from provisioning.entra.pacing import SlidingWindowPacer
from provisioning.settings import parse_rate


class FakeTime:
    """A clock that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_parse_rate() -> None:
    assert parse_rate("40/5") == (40, 5.0)
    assert parse_rate("40/0.5") == (40, 0.5)
    for bad in ("40", "a/b", "0/5", "40/0"):
        with pytest.raises(ValueError, match="rate"):
            parse_rate(bad)


def _call(pacer: SlidingWindowPacer, time: FakeTime, latency: float = 0.0) -> float:
    """One paced call that takes ``latency`` seconds to be answered; returns when it started."""
    pacer.acquire()
    started = time.now
    slot = pacer._slots[-1]
    time.now += latency
    pacer.answered(slot)
    return started


def test_no_window_ever_holds_more_than_the_limit() -> None:
    time = FakeTime()
    pacer = SlidingWindowPacer(40, 5.0, clock=time.clock, sleep=time.sleep, margin=0)
    starts = [_call(pacer, time) for _ in range(200)]
    for i in range(len(starts) - 40):
        assert starts[i + 40] - starts[i] >= 5.0 - 1e-9
    # and it does not wait more than it must: 200 calls in 4 full windows after the first burst
    assert starts[-1] - starts[0] == pytest.approx(20.0)


def test_a_slot_frees_a_window_after_the_call_was_answered_not_started() -> None:
    """However late call k reached the server (it was answered late), call k+N arrives a window after it."""
    time = FakeTime()
    pacer = SlidingWindowPacer(2, 1.0, clock=time.clock, sleep=time.sleep, margin=0)
    first = _call(pacer, time, latency=0.3)
    _call(pacer, time, latency=0.0)
    third = _call(pacer, time)
    assert third - first == pytest.approx(1.3)


def test_with_every_call_in_flight_the_next_waits_for_an_answer() -> None:
    import threading

    time = FakeTime()
    pacer = SlidingWindowPacer(2, 1.0, clock=time.clock, sleep=time.sleep, margin=0)
    first, _ = pacer.acquire(), pacer.acquire()
    started = threading.Event()

    def third() -> None:
        pacer.acquire()
        started.set()

    worker = threading.Thread(target=third)
    worker.start()
    assert not started.wait(0.2), "the third call must wait while both are in flight"
    pacer.answered(first)
    assert started.wait(2)
    worker.join()


def test_first_calls_of_a_window_do_not_wait() -> None:
    time = FakeTime()
    pacer = SlidingWindowPacer(3, 1.0, clock=time.clock, sleep=time.sleep, margin=0)
    assert [_call(pacer, time) for _ in range(3)] == [1000.0, 1000.0, 1000.0]
    assert _call(pacer, time) == pytest.approx(1001.0)


def test_the_default_margin_keeps_windows_one_percent_longer() -> None:
    time = FakeTime()
    pacer = SlidingWindowPacer(40, 5.0, clock=time.clock, sleep=time.sleep)
    starts = [_call(pacer, time) for _ in range(41)]
    assert starts[-1] - starts[0] == pytest.approx(5.05)


def test_hold_pushes_every_later_start_back() -> None:
    time = FakeTime()
    pacer = SlidingWindowPacer(40, 5.0, clock=time.clock, sleep=time.sleep)
    _call(pacer, time)
    pacer.hold(7.0)
    assert _call(pacer, time) == pytest.approx(1007.0)


def test_backoff_is_exponential_with_jitter_and_bounded() -> None:
    policy = RetryPolicy(max_attempts=5, base_delay=1.0, max_delay=8.0, rng=random.Random(1))
    delays = [policy.delay(attempt) for attempt in range(1, 6)]
    assert delays[-1] is None, "gives up after max_attempts"
    for attempt, delay in enumerate(delays[:-1], start=1):
        ceiling = min(8.0, 2 ** (attempt - 1))
        assert delay is not None and ceiling / 2 <= delay <= ceiling


def test_retry_after_wins_and_is_capped() -> None:
    policy = RetryPolicy(max_retry_after=120.0)
    assert policy.delay(1, retry_after=3.0) == 3.0
    assert policy.delay(1, retry_after=3600.0) == 120.0


def test_what_is_retried() -> None:
    assert all(RetryPolicy.retryable(s) for s in (408, 429, 500, 502, 503, 504))
    assert not any(RetryPolicy.retryable(s) for s in (400, 401, 403, 404, 409, 413))


def test_parse_retry_after() -> None:
    now = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("5") == 5.0
    assert parse_retry_after("0.5") == 0.5
    assert parse_retry_after("Sat, 28 Nov 2026 12:00:30 GMT", now) == 30.0
    assert parse_retry_after("Sat, 28 Nov 2026 11:00:00 GMT", now) == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None

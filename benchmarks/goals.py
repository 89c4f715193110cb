"""The goals of issue 14 as checks: each measured figure against its limit, said pass or fail.

A goal is met when its measured value is at most its limit (every goal here is a ceiling: a ratio of
times, a ratio of peaks, megabytes, seconds). A goal that could not be measured is never a pass. A goal
decided by a fact rather than a figure says which (``met_by_note``): goal 4, which the issue lets an
explanation meet ("or the README explains why it cannot"), goal 5 by the throttle, goal 6 by the modules
a start loads; each still shows its figure.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Goal:
    number: int
    name: str
    measured: float | None
    """None: not measured (``note`` says why)."""
    limit: float | None
    """None: a figure shown with no pass/fail threshold of its own (``note`` says what decides)."""
    unit: str = ""
    note: str = ""
    met_by_note: bool | None = None
    """For a goal decided by a fact rather than a figure (the README explains why it cannot be met)."""

    @property
    def met(self) -> bool:
        if self.met_by_note is not None:
            return self.met_by_note
        if self.measured is None or self.limit is None or math.isnan(self.measured):
            return False
        return self.measured <= self.limit

    @property
    def verdict(self) -> str:
        return "pass" if self.met else "FAIL"

    def figure(self) -> str:
        if self.measured is None:
            return "not measured"
        shown = f"{self.measured:,.2f}{self.unit}"
        return f"{shown} (limit {self.limit:,.2f}{self.unit})" if self.limit is not None else shown

    def line(self) -> str:
        note = f": {self.note}" if self.note else ""
        return f"goal {self.number} {self.name}: {self.figure()} -> {self.verdict}{note}"

    def markdown(self) -> str:
        limit = f"at most {self.limit:,.2f}{self.unit}" if self.limit is not None else ""
        measured = "not measured" if self.measured is None else f"{self.measured:,.2f}{self.unit}"
        verdict = "met" if self.met else "**not met**"
        return f"| {self.number}. {self.name} | {measured} | {limit} | {verdict} | {self.note} |"


MARKDOWN_HEAD = ["| Goal | Measured | Target | Verdict | Note |", "|---|---:|---|---|---|"]


def ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator``; NaN when the denominator is not positive (never a pass)."""
    return numerator / denominator if denominator > 0 else math.nan


def median_ratio(ours: Sequence[float], theirs: Sequence[float]) -> float:
    """The median of ours over the median of theirs (runs alternated in one session)."""
    if not ours or not theirs:
        return math.nan
    return ratio(statistics.median(ours), statistics.median(theirs))


def per_row_ratio(large_seconds: float, large_rows: int, small_seconds: float, small_rows: int) -> float:
    """Time per row on the large input over time per row on the small one (1.0: perfectly linear)."""
    return ratio(large_seconds / large_rows, small_seconds / small_rows)


def ideal_log_reads(entries: int, page: int = 1000) -> int:
    """The Graph calls of one pass over ``entries`` new log entries in pages of ``page`` (at least one)."""
    return max(1, -(-entries // page))


def missed(goals: Sequence[Goal]) -> list[str]:
    return [goal.line() for goal in goals if not goal.met]

"""The goal checks of ``make bench``: a figure against its limit, never a pass without a figure."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from benchmarks import log_polling
from benchmarks.generate import write_workers_csv
from benchmarks.goals import Goal, ideal_log_reads, median_ratio, missed, per_row_ratio, ratio
from benchmarks.log_polling import busiest_window


def test_a_goal_is_met_at_or_under_its_limit() -> None:
    assert Goal(1, "speed", 0.70, 0.70).met
    assert Goal(1, "speed", 0.69, 0.70).verdict == "pass"
    assert not Goal(1, "speed", 0.71, 0.70).met
    assert Goal(1, "speed", 0.71, 0.70).verdict == "FAIL"


def test_a_goal_without_a_figure_or_with_nan_is_never_met() -> None:
    assert not Goal(5, "log polling", None, 1.0).met
    assert not Goal(1, "speed", math.nan, 0.7).met
    assert not Goal(6, "shown", 0.3, None).met  # a figure with no limit passes only by an explicit note
    assert Goal(6, "shown", 0.3, None, met_by_note=True).met
    assert not Goal(4, "first request", 1.0, 5.0, met_by_note=False).met


def test_lines_say_the_figure_the_limit_and_the_verdict() -> None:
    line = Goal(2, "memory", 300.0, 256.0, " MB", note="2.5M").line()
    assert line == "goal 2 memory: 300.00 MB (limit 256.00 MB) -> FAIL: 2.5M"
    assert "not measured" in Goal(5, "log polling", None, 1.0).line()
    assert "**not met**" in Goal(5, "log polling", None, 1.0).markdown()
    assert "| met |" in Goal(1, "speed", 0.5, 0.7).markdown()


def test_missed_lists_only_the_goals_not_met() -> None:
    goals = [Goal(1, "a", 0.5, 0.7), Goal(2, "b", 2.0, 1.2), Goal(5, "c", None, 1.0)]
    assert [line.split(":")[0] for line in missed(goals)] == ["goal 2 b", "goal 5 c"]


def test_ratios() -> None:
    assert median_ratio([3.0, 1.0, 2.0], [4.0, 4.0, 5.0]) == 0.5
    assert math.isnan(median_ratio([], [1.0]))
    assert math.isnan(ratio(1.0, 0.0))
    # 2.5M rows in 100 s against 100k in 4 s: the same time per row.
    assert per_row_ratio(100.0, 2_500_000, 4.0, 100_000) == 1.0
    assert per_row_ratio(120.0, 2_500_000, 4.0, 100_000) == 1.2


def test_ideal_log_reads_is_one_pass_in_pages() -> None:
    assert ideal_log_reads(0) == 1
    assert ideal_log_reads(1000) == 1
    assert ideal_log_reads(1001) == 2
    assert ideal_log_reads(100_000, page=1000) == 100


def test_the_busiest_window_counts_reads_within_any_window() -> None:
    assert busiest_window([], 10.0) == 0
    assert busiest_window([0, 1, 2, 9.9, 10.0, 10.5], 10.0) == 5  # 0 has left the window at 10.0
    assert busiest_window([0, 20, 40], 10.0) == 1


def test_a_run_reads_its_logs_within_the_throttle_on_the_virtual_clock(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The benchmark's whole run, small: every record's entry found, no read throttled, and no more reads than the
    polls plus one pass over the entries and the re-read windows."""
    source = tmp_path / "workers.csv"
    write_workers_csv(source, 1_500)
    assert log_polling.main(str(source)) == 0
    found = dict(line.split("=", 1) for line in capsys.readouterr().out.splitlines() if "=" in line)
    assert found["status"] == "completed" and found["pending"] == "0"
    assert int(found["entries"]) == 1_500 and found["ideal_reads"] == "2"
    assert found["throttled"] == "0" and int(found["busiest_window"]) <= 5
    polls = int(found["polls"])
    assert polls >= 3  # the entries come 5 to 10 minutes after the sends: the first polls find nothing
    assert polls <= int(found["log_reads"]) <= polls + 2 * 2

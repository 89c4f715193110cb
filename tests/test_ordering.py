"""Manager levels and send order, including cycles and deep chains."""

from __future__ import annotations

from provisioning.core.plan.ordering import NO_MANAGER, manager_levels, send_order


def test_levels_follow_the_reporting_line() -> None:
    # 0 <- 1 <- 2 ; 3 alone ; 4 reports to 2
    levels, cycles = manager_levels([NO_MANAGER, 0, 1, NO_MANAGER, 2])
    assert list(levels) == [0, 1, 2, 0, 3]
    assert cycles == []


def test_reports_before_managers_in_the_input() -> None:
    levels, _ = manager_levels([2, 2, NO_MANAGER])
    assert list(levels) == [1, 1, 0]
    assert list(send_order(levels, b"\x01\x01\x01")) == [2, 0, 1]


def test_a_cycle_is_broken_at_the_record_where_the_walk_meets_itself() -> None:
    levels, cycles = manager_levels([1, 2, 0, 2])
    assert cycles == [[0, 1, 2]]
    assert levels[0] == 0 and levels[2] == 1 and levels[1] == 2
    assert levels[3] == levels[2] + 1


def test_deep_chain_has_no_recursion_limit() -> None:
    depth = 100_000
    levels, _ = manager_levels([NO_MANAGER, *range(depth - 1)])
    assert levels[-1] == depth - 1


def test_send_order_skips_records_not_kept() -> None:
    levels, _ = manager_levels([NO_MANAGER, 0, 0])
    assert list(send_order(levels, bytearray([1, 0, 1]))) == [0, 2]
    assert list(send_order(levels, bytearray(3))) == []

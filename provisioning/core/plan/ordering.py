"""Managers first: a level for every record so that each manager is sent before its reports.

A record's level is 0 when its manager is not in the run, else its manager's level + 1. Sending by
increasing level (stable within a level) puts every manager in the same or an earlier request than
its reports. Cycles (A manages B manages A) are broken at the record where the walk meets itself,
and reported.
"""

from __future__ import annotations

import itertools
from array import array
from collections.abc import Sequence

NO_MANAGER = -1


def manager_levels(manager_of: Sequence[int]) -> tuple[array[int], list[list[int]]]:
    """Levels for records ``0..n-1`` whose manager is record ``manager_of[i]`` (or ``NO_MANAGER``).

    Returns the levels and the cycles found, each as the list of records in it; in each cycle the
    first record is the one treated as having no manager.
    """
    count = len(manager_of)
    unknown, visiting = -1, -2
    levels = array("i", [unknown]) * count
    cycles: list[list[int]] = []
    for start in range(count):
        if levels[start] != unknown:
            continue
        path: list[int] = []
        current = start
        while current != NO_MANAGER and levels[current] == unknown:
            levels[current] = visiting
            path.append(current)
            current = manager_of[current]
        if current != NO_MANAGER and levels[current] == visiting:
            closing = path.index(current)
            cycles.append(path[closing:])
            levels[current] = 0
            _number_down(levels, path[closing + 1 :], 0)
            _number_down(levels, path[:closing], 0)
        else:
            _number_down(levels, path, levels[current] if current != NO_MANAGER else -1)
    return levels, cycles


def _number_down(levels: array[int], chain: list[int], top_level: int) -> None:
    """``chain[-1]`` reports to a record at ``top_level``, ``chain[-2]`` to ``chain[-1]``, and so on."""
    level = top_level
    for record in reversed(chain):
        level += 1
        levels[record] = level


def send_order(levels: Sequence[int], keep: Sequence[int] | bytes | bytearray) -> array[int]:
    """The kept records (``keep[i]`` true) sorted by level, in source order within a level."""
    # A counting sort over the levels: no per-record Python objects, so a million workers stay cheap.
    counts: list[int] = []
    for i in itertools.compress(range(len(levels)), keep):
        level = levels[i]
        if level >= len(counts):
            counts.extend([0] * (level + 1 - len(counts)))
        counts[level] += 1
    positions = [0] * len(counts)
    for level in range(1, len(counts)):
        positions[level] = positions[level - 1] + counts[level - 1]
    order = array("i", [0]) * sum(counts)
    for i in itertools.compress(range(len(levels)), keep):
        level = levels[i]
        order[positions[level]] = i
        positions[level] += 1
    return order

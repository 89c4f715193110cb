"""Benchmarks: ``python -m benchmarks`` (``make bench``).

Each benchmark is a module with a ``run(options) -> Outcome`` function registered in ``__main__``.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Options:
    quick: bool = False
    """Smaller inputs and one round: a fast check rather than figures to publish."""


@dataclass
class Outcome:
    """What a benchmark found: Markdown lines for the README and the targets it missed."""

    markdown: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)


def say(message: str) -> None:
    """One progress line, flushed at once."""
    print(message, flush=True)

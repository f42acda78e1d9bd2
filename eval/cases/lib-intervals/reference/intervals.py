"""Arithmetic over closed integer intervals given as ``(start, end)`` tuples."""

from __future__ import annotations

from collections.abc import Iterable

Interval = tuple[int, int]


def _checked(intervals: Iterable[Interval]) -> list[Interval]:
    found = []
    for item in intervals:
        if (
            not isinstance(item, tuple)
            or len(item) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in item)
        ):
            raise ValueError(f"not an interval of two ints: {item!r}")
        if item[0] > item[1]:
            raise ValueError(f"interval starts after it ends: {item!r}")
        found.append(item)
    return found


def merge(intervals: list[Interval]) -> list[Interval]:
    """Merge overlapping or adjacent intervals, sorted by start."""
    merged: list[Interval] = []
    for start, end in sorted(_checked(intervals)):
        if merged and start <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def total_length(intervals: list[Interval]) -> int:
    """Count the integers that at least one interval covers."""
    return sum(end - start + 1 for start, end in merge(intervals))


def intersect(a: list[Interval], b: list[Interval]) -> list[Interval]:
    """Return the merged intervals covered by both ``a`` and ``b``."""
    found = []
    for a_start, a_end in merge(a):
        for b_start, b_end in merge(b):
            start, end = max(a_start, b_start), min(a_end, b_end)
            if start <= end:
                found.append((start, end))
    return merge(found)


def subtract(a: list[Interval], b: list[Interval]) -> list[Interval]:
    """Return the merged intervals covered by ``a`` and not by ``b``."""
    holes = merge(b)
    found = []
    for start, end in merge(a):
        for hole_start, hole_end in holes:
            if hole_end < start or hole_start > end:
                continue
            if hole_start > start:
                found.append((start, hole_start - 1))
            start = hole_end + 1
            if start > end:
                break
        if start <= end:
            found.append((start, end))
    return merge(found)


def contains(intervals: list[Interval], x: int) -> bool:
    """Say whether some interval covers ``x``."""
    return any(start <= x <= end for start, end in _checked(intervals))

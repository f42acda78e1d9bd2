"""Working-day arithmetic over ``datetime.date`` values, and month grids."""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import date, timedelta

ONE_DAY = timedelta(days=1)


def is_workday(day: date, holidays: Iterable[date] = ()) -> bool:
    """Say whether ``day`` is a Monday to Friday that is not a holiday."""
    return day.weekday() < 5 and day not in set(holidays)


def count_workdays(start: date, end: date, holidays: Iterable[date] = ()) -> int:
    """Count the working days from ``start`` to ``end``, both included."""
    if start > end:
        raise ValueError(f"start {start} is after end {end}")
    off = set(holidays)
    total = 0
    day = start
    while day <= end:
        total += is_workday(day, off)
        day += ONE_DAY
    return total


def add_workdays(start: date, days: int, holidays: Iterable[date] = ()) -> date:
    """Return the date ``days`` working days after ``start`` (before it when negative)."""
    off = set(holidays)
    day = start
    if days == 0:
        while not is_workday(day, off):
            day += ONE_DAY
        return day
    step = ONE_DAY if days > 0 else -ONE_DAY
    left = abs(days)
    while left:
        day += step
        if is_workday(day, off):
            left -= 1
    return day


def month_grid(year: int, month: int) -> list[list[int]]:
    """Return the month's weeks, Monday first, with 0 for days outside the month."""
    if not 1 <= month <= 12:
        raise ValueError(f"month must be from 1 to 12, not {month}")
    return calendar.Calendar(firstweekday=calendar.MONDAY).monthdayscalendar(year, month)

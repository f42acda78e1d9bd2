"""Acceptance tests for the `workdays` module, written from the requirement alone."""

from datetime import date

import pytest
from workdays import add_workdays, count_workdays, is_workday, month_grid


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2024, 3, 1), True),
        (date(2024, 3, 2), False),
        (date(2024, 3, 3), False),
        (date(2024, 3, 4), True),
    ],
)
def test_monday_to_friday_are_working_days(day: date, expected: bool) -> None:
    assert is_workday(day) is expected


def test_holidays_are_not_working_days() -> None:
    assert is_workday(date(2024, 12, 25), [date(2024, 12, 25)]) is False
    assert is_workday(date(2024, 12, 24), {date(2024, 12, 25)}) is True


def test_count_workdays_includes_both_ends() -> None:
    assert count_workdays(date(2024, 3, 4), date(2024, 3, 17)) == 10
    holidays = [date(2024, 3, 8), date(2024, 3, 9)]  # a Friday and a Saturday
    assert count_workdays(date(2024, 3, 4), date(2024, 3, 17), holidays) == 9
    assert count_workdays(date(2024, 3, 4), date(2024, 3, 4)) == 1
    assert count_workdays(date(2024, 3, 2), date(2024, 3, 3)) == 0


def test_count_workdays_rejects_start_after_end() -> None:
    with pytest.raises(ValueError):
        count_workdays(date(2024, 3, 5), date(2024, 3, 4))


@pytest.mark.parametrize(
    ("start", "days", "holidays", "expected"),
    [
        (date(2024, 3, 1), 1, [], date(2024, 3, 4)),
        (date(2024, 3, 1), -1, [], date(2024, 2, 29)),
        (date(2024, 3, 1), 10, [], date(2024, 3, 15)),
        (date(2024, 3, 4), -1, [], date(2024, 3, 1)),
        (date(2024, 3, 1), 0, [], date(2024, 3, 1)),
        (date(2024, 3, 2), 0, [], date(2024, 3, 4)),
        (date(2024, 12, 24), 1, [date(2024, 12, 25), date(2024, 12, 26)], date(2024, 12, 27)),
        (date(2024, 12, 27), -2, [date(2024, 12, 25), date(2024, 12, 26)], date(2024, 12, 23)),
    ],
)
def test_add_workdays_moves_by_working_days(
    start: date, days: int, holidays: list[date], expected: date
) -> None:
    assert add_workdays(start, days, holidays) == expected


def test_month_grid_lists_weeks_from_monday_to_sunday() -> None:
    assert month_grid(2024, 3) == [
        [0, 0, 0, 0, 1, 2, 3],
        [4, 5, 6, 7, 8, 9, 10],
        [11, 12, 13, 14, 15, 16, 17],
        [18, 19, 20, 21, 22, 23, 24],
        [25, 26, 27, 28, 29, 30, 31],
    ]
    assert month_grid(2021, 2) == [list(range(w, w + 7)) for w in (1, 8, 15, 22)]
    september = month_grid(2024, 9)
    assert len(september) == 6
    assert september[0] == [0, 0, 0, 0, 0, 0, 1]
    assert september[-1] == [30, 0, 0, 0, 0, 0, 0]


@pytest.mark.parametrize("month", [0, 13])
def test_month_grid_rejects_months_outside_1_to_12(month: int) -> None:
    with pytest.raises(ValueError):
        month_grid(2024, month)

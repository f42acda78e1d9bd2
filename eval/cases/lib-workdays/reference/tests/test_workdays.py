from datetime import date

from workdays import add_workdays, count_workdays, month_grid


def test_count_a_week() -> None:
    assert count_workdays(date(2024, 3, 4), date(2024, 3, 10)) == 5


def test_add_over_a_weekend() -> None:
    assert add_workdays(date(2024, 3, 1), 1) == date(2024, 3, 4)


def test_grid_starts_on_monday() -> None:
    assert month_grid(2024, 3)[0] == [0, 0, 0, 0, 1, 2, 3]

import io

import pytest
from timesheet import SheetError, render, totals

SHEET = "date,project,start,end\n2024-01-01,a,09:00,09:50\n2024-01-01,b,10:00,12:00\n"


def test_totals_sorted_by_minutes() -> None:
    groups = totals(io.StringIO(SHEET))
    assert [(g.name, g.minutes) for g in groups] == [("b", 120), ("a", 50)]


def test_hours_column() -> None:
    assert render(totals(io.StringIO(SHEET)), "csv").splitlines()[2] == "a,1,50,0:50"


def test_end_before_start_is_an_error() -> None:
    with pytest.raises(SheetError, match="line 2"):
        totals(io.StringIO("date,project,start,end\n2024-01-01,a,10:00,09:00\n"))

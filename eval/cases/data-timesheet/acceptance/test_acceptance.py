"""Acceptance tests for `python -m timesheet`, written from the requirement alone."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

SHEET = """\
date,project,start,end,note
2024-01-01,garden,09:00,10:30,weeding
2024-01-02,kitchen,13:00,13:45,
2024-01-08,garden,08:15,09:00,
2024-01-09,kitchen,10:00,11:30,tiles
2024-01-09,shed,14:00,14:20,
"""


def timesheet(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "timesheet", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=30,
    )


def run_on(tmp_path: Path, text: str, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "sheet.csv").write_bytes(text.encode("utf-8"))
    return timesheet("sheet.csv", *args, cwd=tmp_path)


def test_by_project_is_the_default_sorted_by_minutes_then_name(tmp_path: Path) -> None:
    result = run_on(tmp_path, SHEET)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "group,entries,minutes,hours\ngarden,2,135,2:15\nkitchen,2,135,2:15\nshed,1,20,0:20\n"
    )
    assert run_on(tmp_path, SHEET, "--by", "project", "--format", "csv").stdout == result.stdout


def test_by_week_uses_iso_weeks(tmp_path: Path) -> None:
    result = run_on(tmp_path, SHEET, "--by", "week")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "group,entries,minutes,hours",
        "2024-W02,3,155,2:35",
        "2024-W01,2,135,2:15",
    ]


def test_iso_week_years_differ_from_calendar_years(tmp_path: Path) -> None:
    text = (
        "date,project,start,end\n"
        "2024-12-30,a,09:00,10:00\n"
        "2021-01-03,a,09:00,09:30\n"
        "2025-01-05,a,09:00,09:10\n"
    )
    result = run_on(tmp_path, text, "--by", "week")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "group,entries,minutes,hours",
        "2025-W01,2,70,1:10",
        "2020-W53,1,30,0:30",
    ]


def test_json_format(tmp_path: Path) -> None:
    result = run_on(tmp_path, SHEET, "--format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "groups": [
            {"group": "garden", "entries": 2, "minutes": 135},
            {"group": "kitchen", "entries": 2, "minutes": 135},
            {"group": "shed", "entries": 1, "minutes": 20},
        ],
        "total_minutes": 290,
    }


def test_columns_in_any_order_with_extra_ones(tmp_path: Path) -> None:
    text = "end,room,project,start,date\n17:05,b2,library,15:00,2024-05-06\n"
    result = run_on(tmp_path, text)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "group,entries,minutes,hours\nlibrary,1,125,2:05\n"


def test_a_missing_column_exits_1(tmp_path: Path) -> None:
    result = run_on(tmp_path, "date,project,start\n2024-01-01,a,09:00\n")
    assert result.returncode == 1
    assert "timesheet: missing column end" in result.stderr


@pytest.mark.parametrize(
    ("old", "new", "line"),
    [
        ("2024-01-08,garden", "2024-01-32,garden", 4),
        ("13:00,13:45", "13:00,25:00", 3),
        ("14:00,14:20", "14:20,14:20", 6),
    ],
)
def test_bad_rows_exit_1_and_name_the_line(tmp_path: Path, old: str, new: str, line: int) -> None:
    result = run_on(tmp_path, SHEET.replace(old, new))
    assert result.returncode == 1
    assert f"timesheet: line {line}:" in result.stderr


def test_an_unreadable_file_exits_1(tmp_path: Path) -> None:
    result = timesheet("missing.csv", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr


@pytest.mark.parametrize("args", [("--by", "day"), ("--format", "xml")])
def test_other_by_or_format_values_exit_2(tmp_path: Path, args: tuple[str, str]) -> None:
    assert run_on(tmp_path, SHEET, *args).returncode == 2

"""Acceptance tests for the weatherstats script, written from the requirement alone."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

READINGS = """\
city,date,temp
Oslo,2026-01-01,10
Lima,2026-01-01,21.4
Oslo,2026-01-02,12.5
Cairo,2026-01-01,19
Oslo,2026-01-03,14
Lima,2026-01-02,23
"""
SUMMARY = {
    "Cairo": {"count": 1, "min": 19, "max": 19, "mean": 19.0},
    "Lima": {"count": 2, "min": 21.4, "max": 23, "mean": 22.2},
    "Oslo": {"count": 3, "min": 10, "max": 14, "mean": 12.2},
}


def weatherstats(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "weatherstats", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=30,
    )


def run_on(tmp_path: Path, text: str, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "readings.csv").write_text(text, encoding="utf-8")
    return weatherstats("readings.csv", *args, cwd=tmp_path)


def test_each_city_is_summarised(tmp_path: Path) -> None:
    result = run_on(tmp_path, READINGS)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == SUMMARY


def test_the_cities_are_in_alphabetical_order(tmp_path: Path) -> None:
    result = run_on(tmp_path, READINGS)
    assert list(json.loads(result.stdout)) == ["Cairo", "Lima", "Oslo"]


@pytest.mark.parametrize(
    ("temps", "low", "high", "mean"),
    [
        (["10", "12.5", "14"], 10, 14, 12.2),
        (["-4", "2", "7"], -4, 7, 1.7),
        (["0.1", "0.2", "0.3"], 0.1, 0.3, 0.2),
    ],
)
def test_min_max_and_a_mean_rounded_to_one_decimal(
    tmp_path: Path, temps: list[str], low: float, high: float, mean: float
) -> None:
    rows = "".join(f"Oslo,2026-01-0{n},{t}\n" for n, t in enumerate(temps, 1))
    result = run_on(tmp_path, "city,date,temp\n" + rows)
    assert result.returncode == 0, result.stderr
    stats = json.loads(result.stdout)["Oslo"]
    assert stats == {"count": len(temps), "min": low, "max": high, "mean": mean}


@pytest.mark.parametrize("bad", ["", "n/a", "warm"])
def test_a_temp_that_is_not_a_number_is_skipped(tmp_path: Path, bad: str) -> None:
    text = f"city,date,temp\nRiga,2026-01-01,4\nRiga,2026-01-02,{bad}\nRiga,2026-01-03,6\n"
    result = run_on(tmp_path, text)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"Riga": {"count": 2, "min": 4, "max": 6, "mean": 5.0}}


@pytest.mark.parametrize(
    ("city", "expected"),
    [("Oslo", {"Oslo": SUMMARY["Oslo"]}), ("Quito", {})],
)
def test_the_city_option_keeps_one_city(tmp_path: Path, city: str, expected: dict) -> None:
    result = run_on(tmp_path, READINGS, "--city", city)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == expected


def test_the_columns_may_come_in_any_order(tmp_path: Path) -> None:
    text = "temp,city,date\n3,Bern,2026-01-01\n5,Bern,2026-01-02\n"
    result = run_on(tmp_path, text)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"Bern": {"count": 2, "min": 3, "max": 5, "mean": 4.0}}


def test_a_file_that_cannot_be_read_exits_1(tmp_path: Path) -> None:
    result = weatherstats("missing.csv", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr


def test_a_missing_column_exits_1(tmp_path: Path) -> None:
    result = run_on(tmp_path, "city,date\nOslo,2026-01-01\n")
    assert result.returncode == 1
    assert result.stderr


def test_no_file_argument_is_a_usage_error(tmp_path: Path) -> None:
    assert weatherstats(cwd=tmp_path).returncode == 2

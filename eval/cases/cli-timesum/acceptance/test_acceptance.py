"""Acceptance tests for `python -m timesum`, written from the requirement alone."""

import subprocess
import sys

import pytest


def timesum(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "timesum", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=30,
    )


@pytest.mark.parametrize(
    ("durations", "total"),
    [
        (("1h30m", "45m", "30s"), "2:15:30"),
        (("2h",), "2:00:00"),
        (("90m",), "1:30:00"),
        (("20h", "6h3m"), "26:03:00"),
        (("0m",), "0:00:00"),
        (("1H2M3S", "59s"), "1:03:02"),
        (("2h5s", "3599s"), "3:00:04"),
    ],
)
def test_prints_the_total_as_h_mm_ss(durations: tuple[str, ...], total: str) -> None:
    result = timesum(*durations)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == total


def test_seconds_option_prints_the_total_in_seconds() -> None:
    result = timesum("1h30m", "45m", "30s", "--seconds")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "8130"
    first = timesum("--seconds", "2h5s")
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "7205"


@pytest.mark.parametrize("duration", ["1x", "h", "m5", "30m1h", "1h1h", "1.5h", "1 h"])
def test_an_invalid_duration_exits_1(duration: str) -> None:
    result = timesum(duration)
    assert result.returncode == 1
    assert f"timesum: invalid duration: {duration}" in result.stderr
    assert result.stdout == ""


def test_one_invalid_duration_among_valid_ones_prints_no_total() -> None:
    result = timesum("1h", "soon", "5m")
    assert result.returncode == 1
    assert "timesum: invalid duration: soon" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("args", [(), ("1h", "--minutes")])
def test_usage_errors_exit_2(args: tuple[str, ...]) -> None:
    result = timesum(*args)
    assert result.returncode == 2
    assert result.stderr

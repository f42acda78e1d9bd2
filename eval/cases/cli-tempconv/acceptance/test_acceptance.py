"""Acceptance tests for `python -m tempconv`, written from the requirement alone."""

import subprocess
import sys

import pytest


def tempconv(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tempconv", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=30,
    )


@pytest.mark.parametrize(
    ("value", "source", "target", "printed"),
    [
        ("100", "C", "F", "212.00 F"),
        ("0", "C", "K", "273.15 K"),
        ("98.6", "F", "C", "37.00 C"),
        ("300", "K", "C", "26.85 C"),
        ("212", "F", "K", "373.15 K"),
        ("-40", "C", "F", "-40.00 F"),
    ],
)
def test_converts_with_two_decimals_by_default(
    value: str, source: str, target: str, printed: str
) -> None:
    result = tempconv(value, "--from", source, "--to", target)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == printed


@pytest.mark.parametrize(
    ("args", "printed"),
    [
        (("100", "--from", "C", "--to", "F", "--digits", "0"), "212 F"),
        (("1", "--from", "F", "--to", "C", "--digits", "3"), "-17.222 C"),
    ],
)
def test_digits_sets_the_decimal_places(args: tuple[str, ...], printed: str) -> None:
    result = tempconv(*args)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == printed


@pytest.mark.parametrize(
    "args", [("-0.001", "--from", "C", "--to", "C"), ("31.999", "--from", "F", "--to", "C")]
)
def test_a_result_rounding_to_zero_has_no_minus_sign(args: tuple[str, ...]) -> None:
    result = tempconv(*args)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0.00 C"


def test_units_may_be_lower_case_and_are_printed_in_upper_case() -> None:
    result = tempconv("-40", "--from", "f", "--to", "c")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "-40.00 C"


def test_absolute_zero_itself_is_allowed() -> None:
    result = tempconv("-273.15", "--from", "C", "--to", "K")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0.00 K"


@pytest.mark.parametrize(
    ("value", "source"),
    [("-300", "C"), ("-1", "K"), ("-460", "F")],
)
def test_below_absolute_zero_exits_1(value: str, source: str) -> None:
    target = "C" if source != "C" else "F"
    result = tempconv(value, "--from", source, "--to", target)
    assert result.returncode == 1
    assert "tempconv: below absolute zero" in result.stderr
    assert result.stdout == ""


def test_a_value_that_is_not_a_number_exits_1() -> None:
    result = tempconv("warm", "--from", "C", "--to", "F")
    assert result.returncode == 1
    assert "tempconv: not a number: warm" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    "args",
    [
        ("10", "--from", "C", "--to", "R"),
        ("10", "--from", "C"),
        ("--from", "C", "--to", "F"),
        ("10", "--from", "C", "--to", "F", "--digits", "7"),
    ],
)
def test_usage_errors_exit_2(args: tuple[str, ...]) -> None:
    result = tempconv(*args)
    assert result.returncode == 2
    assert result.stderr

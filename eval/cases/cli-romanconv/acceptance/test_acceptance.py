"""Acceptance tests for the `romanconv` module and CLI, written from the requirement alone."""

import subprocess
import sys

import pytest
from romanconv import from_roman, to_roman


def romanconv(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "romanconv", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=30,
    )


@pytest.mark.parametrize(
    ("number", "numeral"),
    [
        (1, "I"),
        (4, "IV"),
        (9, "IX"),
        (14, "XIV"),
        (40, "XL"),
        (1994, "MCMXCIV"),
        (2024, "MMXXIV"),
        (3999, "MMMCMXCIX"),
    ],
)
def test_to_roman_uses_subtractive_form(number: int, numeral: str) -> None:
    assert to_roman(number) == numeral


def test_from_roman_reads_either_case() -> None:
    assert from_roman("MCMXCIV") == 1994
    assert from_roman("mcmxciv") == 1994
    assert from_roman("xL") == 40


def test_every_value_round_trips() -> None:
    for number in range(1, 4000):
        assert from_roman(to_roman(number)) == number


@pytest.mark.parametrize("number", [0, -1, 4000])
def test_to_roman_rejects_out_of_range(number: int) -> None:
    with pytest.raises(ValueError):
        to_roman(number)


@pytest.mark.parametrize("text", ["IIII", "IC", "VX", "", "ABC", "MMMM", "IIV"])
def test_from_roman_rejects_non_canonical(text: str) -> None:
    with pytest.raises(ValueError):
        from_roman(text)


def test_cli_to_roman_prints_the_numeral() -> None:
    result = romanconv("to-roman", "1994")
    assert result.returncode == 0
    assert result.stdout.strip() == "MCMXCIV"


def test_cli_from_roman_prints_the_integer() -> None:
    result = romanconv("from-roman", "mmxxiv")
    assert result.returncode == 0
    assert result.stdout.strip() == "2024"


@pytest.mark.parametrize("args", [("to-roman", "0"), ("to-roman", "ten"), ("from-roman", "IIII")])
def test_cli_invalid_input_exits_1_with_error(args: tuple[str, str]) -> None:
    result = romanconv(*args)
    assert result.returncode == 1
    assert result.stderr.startswith("error:")
    assert result.stdout == ""


@pytest.mark.parametrize("args", [(), ("to-latin", "5")])
def test_cli_missing_or_unknown_command_exits_2(args: tuple[str, ...]) -> None:
    result = romanconv(*args)
    assert result.returncode == 2
    assert result.stderr

"""Acceptance tests for the numwords command, written from the requirement alone."""

import subprocess
import sys
from pathlib import Path

import pytest


def numwords(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "numwords", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=30,
    )


@pytest.mark.parametrize(
    ("number", "words"),
    [
        ("0", "zero"),
        ("21", "twenty-one"),
        ("105", "one hundred five"),
        ("4000", "four thousand"),
        ("70010", "seventy thousand ten"),
        ("999999", "nine hundred ninety-nine thousand nine hundred ninety-nine"),
    ],
)
def test_numbers_are_written_in_words(tmp_path: Path, number: str, words: str) -> None:
    result = numwords(number, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == words + "\n"


def test_several_numbers_each_get_a_line_in_order(tmp_path: Path) -> None:
    result = numwords("13", "40", "512", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["thirteen", "forty", "five hundred twelve"]


@pytest.mark.parametrize(
    ("number", "words"),
    [
        ("3", "third"),
        ("12", "twelfth"),
        ("21", "twenty-first"),
        ("45", "forty-fifth"),
        ("100", "one hundredth"),
        ("1000", "one thousandth"),
    ],
)
def test_ordinal_names_a_position(tmp_path: Path, number: str, words: str) -> None:
    result = numwords("--ordinal", number, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == words + "\n"


@pytest.mark.parametrize("args", [["-3"], ["1000000"], ["ten"], ["5", "ten"]])
def test_a_number_out_of_range_exits_1_and_prints_nothing(tmp_path: Path, args: list[str]) -> None:
    result = numwords(*args, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("numwords:")


def test_no_number_is_a_usage_error(tmp_path: Path) -> None:
    assert numwords(cwd=tmp_path).returncode == 2

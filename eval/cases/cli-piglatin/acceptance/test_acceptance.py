"""Acceptance tests for the piglatin tool, written from the requirement alone."""

import subprocess
import sys
from pathlib import Path

import pytest


def piglatin(*args: str, cwd: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "piglatin", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=30,
    )


def test_the_words_given_are_printed_on_one_line(tmp_path: Path) -> None:
    result = piglatin("hello", "world", "apple", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ellohay orldway appleway\n"


@pytest.mark.parametrize(
    ("word", "latin"),
    [
        ("apple", "appleway"),
        ("string", "ingstray"),
        ("queen", "ueenqay"),
        ("yellow", "ellowyay"),
        ("rhythm", "rhythmay"),
    ],
)
def test_each_word_follows_the_rules(tmp_path: Path, word: str, latin: str) -> None:
    result = piglatin(word, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == latin + "\n"


@pytest.mark.parametrize(
    ("word", "latin"),
    [("Hello", "Ellohay"), ("SCHOOL", "Oolschay")],
)
def test_a_capital_stays_at_the_front(tmp_path: Path, word: str, latin: str) -> None:
    result = piglatin(word, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == latin + "\n"


def test_punctuation_and_digits_stay_where_they_are(tmp_path: Path) -> None:
    result = piglatin("Hello,", "world!", "42", "(cats)", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Ellohay, orldway! 42 (atscay)\n"


def test_without_words_standard_input_is_translated_line_by_line(tmp_path: Path) -> None:
    result = piglatin(cwd=tmp_path, stdin="The cat\n\nsat  down.\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Ethay atcay\n\natsay  ownday.\n"


def test_words_given_win_over_standard_input(tmp_path: Path) -> None:
    result = piglatin("pig", cwd=tmp_path, stdin="ignored\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "igpay\n"


@pytest.mark.parametrize(
    ("word", "latin"),
    [
        ("Street", "Eet-stray"),
        ("rhythm", "rhythm-ay"),
    ],
)
def test_dashes_put_a_hyphen_before_the_added_part(tmp_path: Path, word: str, latin: str) -> None:
    result = piglatin("--dashes", word, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == latin + "\n"


def test_dashes_work_on_standard_input_too(tmp_path: Path) -> None:
    result = piglatin("--dashes", cwd=tmp_path, stdin="big dog\nold owl\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ig-bay og-day\nold-way owl-way\n"


def test_an_unknown_option_is_a_usage_error(tmp_path: Path) -> None:
    assert piglatin("--loud", "hello", cwd=tmp_path).returncode == 2

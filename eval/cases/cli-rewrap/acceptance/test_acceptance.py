"""Acceptance tests for `python -m rewrap`, written from the requirement alone."""

import subprocess
import sys
from pathlib import Path

import pytest


def rewrap(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rewrap", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=30,
    )


def test_wraps_greedily_at_the_width(tmp_path: Path) -> None:
    (tmp_path / "in.txt").write_text("the quick\nbrown     fox\n", encoding="utf-8")
    result = rewrap("in.txt", "--width", "10", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "the quick\nbrown fox\n"


def test_default_width_is_72(tmp_path: Path) -> None:
    (tmp_path / "in.txt").write_text(" ".join(["abcde"] * 30) + "\n", encoding="utf-8")
    result = rewrap("in.txt", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    twelve = " ".join(["abcde"] * 12)
    assert result.stdout == f"{twelve}\n{twelve}\n" + " ".join(["abcde"] * 6) + "\n"


def test_paragraphs_are_joined_and_separated_by_one_empty_line(tmp_path: Path) -> None:
    text = "\n\none\ttwo\nthree\n\n\n   \nfour   five\n\n"
    (tmp_path / "in.txt").write_text(text, encoding="utf-8")
    result = rewrap("in.txt", "--width", "20", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "one two three\n\nfour five\n"


def test_a_word_longer_than_the_width_stands_alone(tmp_path: Path) -> None:
    (tmp_path / "in.txt").write_text("a supercalifragilistic b c\n", encoding="utf-8")
    result = rewrap("in.txt", "--width", "8", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "a\nsupercalifragilistic\nb c\n"


@pytest.mark.parametrize(
    ("text", "width", "expected"),
    [
        ("aa bb cc dd", "9", "aa  bb cc\ndd\n"),
        ("the quick brown fox jumps", "16", "the  quick brown\nfox jumps\n"),
        ("a verylongword b c\n\nx y z w", "10", "a\nverylongword\nb c\n\nx y z w\n"),
    ],
)
def test_justify_pads_all_but_last_and_single_word_lines(
    tmp_path: Path, text: str, width: str, expected: str
) -> None:
    (tmp_path / "in.txt").write_text(text + "\n", encoding="utf-8")
    result = rewrap("in.txt", "--width", width, "--justify", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == expected


@pytest.mark.parametrize("args", [(), ("-",)])
def test_reads_standard_input_when_file_is_omitted_or_dash(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    result = rewrap(*args, "--width", "10", cwd=tmp_path, stdin="the quick brown fox\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "the quick\nbrown fox\n"


def test_input_without_words_prints_nothing(tmp_path: Path) -> None:
    result = rewrap(cwd=tmp_path, stdin="  \n\n\t\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""


def test_an_unreadable_file_exits_1(tmp_path: Path) -> None:
    result = rewrap("missing.txt", cwd=tmp_path)
    assert result.returncode == 1
    assert "rewrap: missing.txt:" in result.stderr


@pytest.mark.parametrize("args", [("--width", "0"), ("--columns", "5")])
def test_usage_errors_exit_2(tmp_path: Path, args: tuple[str, ...]) -> None:
    result = rewrap(*args, cwd=tmp_path, stdin="text\n")
    assert result.returncode == 2
    assert result.stderr

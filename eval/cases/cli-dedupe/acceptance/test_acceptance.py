"""Acceptance tests for `python -m dedupe`, written from the requirement alone."""

import subprocess
import sys
from pathlib import Path


def dedupe(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dedupe", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=30,
    )


def test_keeps_first_occurrence_in_original_order(tmp_path: Path) -> None:
    (tmp_path / "in.txt").write_text("pear\napple\npear\nfig\napple\n", encoding="utf-8")
    result = dedupe("in.txt", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout == "pear\napple\nfig\n"


def test_reads_standard_input_when_file_is_omitted_or_dash(tmp_path: Path) -> None:
    for args in ((), ("-",)):
        result = dedupe(*args, cwd=tmp_path, stdin="b\na\nb\n")
        assert result.returncode == 0
        assert result.stdout == "b\na\n"


def test_last_line_without_newline_equals_the_same_line_with_one(tmp_path: Path) -> None:
    (tmp_path / "in.txt").write_text("x\ny\nx", encoding="utf-8")
    result = dedupe("in.txt", cwd=tmp_path)
    assert result.stdout == "x\ny\n"


def test_blank_lines_are_deduplicated_like_other_lines(tmp_path: Path) -> None:
    (tmp_path / "in.txt").write_text("a\n\nb\n\na\n", encoding="utf-8")
    result = dedupe("in.txt", cwd=tmp_path)
    assert result.stdout == "a\n\nb\n"


def test_ignore_case_prints_the_first_spelling(tmp_path: Path) -> None:
    (tmp_path / "in.txt").write_text("Straße\nSTRASSE\napple\nApple\n", encoding="utf-8")
    result = dedupe("in.txt", "--ignore-case", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout == "Straße\napple\n"


def test_count_prefixes_occurrences_and_a_tab(tmp_path: Path) -> None:
    (tmp_path / "in.txt").write_text("apple\npear\napple\napple\n", encoding="utf-8")
    result = dedupe("--count", "in.txt", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout == "3\tapple\n1\tpear\n"


def test_output_writes_the_file_and_prints_nothing(tmp_path: Path) -> None:
    (tmp_path / "in.txt").write_text("a\na\nb\n", encoding="utf-8")
    result = dedupe("in.txt", "--output", "out.txt", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout == ""
    assert (tmp_path / "out.txt").read_text(encoding="utf-8") == "a\nb\n"


def test_missing_file_exits_1_with_a_message(tmp_path: Path) -> None:
    result = dedupe("nope.txt", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("dedupe:")


def test_unknown_option_exits_2(tmp_path: Path) -> None:
    result = dedupe("--frobnicate", cwd=tmp_path, stdin="a\n")
    assert result.returncode == 2

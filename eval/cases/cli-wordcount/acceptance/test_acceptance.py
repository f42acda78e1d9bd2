"""Acceptance tests for `python -m wordcount`, written from the requirement alone."""

import json
import subprocess
import sys
from pathlib import Path


def wordcount(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wordcount", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=30,
    )


def test_one_file_prints_lines_words_bytes_and_path(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("hello world\nsecond line here\n", encoding="utf-8")
    result = wordcount("a.txt", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.strip().splitlines() == ["2 5 29 a.txt"]


def test_two_files_end_with_a_total_line(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("one two\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("three\nfour five six\n", encoding="utf-8")
    result = wordcount("a.txt", "b.txt", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.strip().splitlines() == [
        "1 2 8 a.txt",
        "2 4 20 b.txt",
        "3 6 28 total",
    ]


def test_bytes_count_utf8_bytes_and_a_last_line_without_newline(tmp_path: Path) -> None:
    (tmp_path / "u.txt").write_text("crème brûlée\nfin", encoding="utf-8")
    result = wordcount("u.txt", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.strip() == "1 3 19 u.txt"


def test_lines_option_prints_only_line_counts(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a\nb\nc\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("d\n", encoding="utf-8")
    result = wordcount("--lines", "a.txt", "b.txt", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.strip().splitlines() == ["3 a.txt", "1 b.txt", "4 total"]


def test_json_option_prints_files_and_total(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("one two\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("x\ny\n", encoding="utf-8")
    result = wordcount("a.txt", "b.txt", "--json", cwd=tmp_path)
    assert result.returncode == 0
    assert json.loads(result.stdout) == {
        "files": [
            {"path": "a.txt", "lines": 1, "words": 2, "bytes": 8},
            {"path": "b.txt", "lines": 2, "words": 2, "bytes": 4},
        ],
        "total": {"lines": 3, "words": 4, "bytes": 12},
    }


def test_json_with_lines_still_reports_all_counts(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("one two\n", encoding="utf-8")
    result = wordcount("--json", "--lines", "a.txt", cwd=tmp_path)
    assert result.returncode == 0
    report = json.loads(result.stdout)
    assert report["files"] == [{"path": "a.txt", "lines": 1, "words": 2, "bytes": 8}]
    assert report["total"] == {"lines": 1, "words": 2, "bytes": 8}


def test_unreadable_file_exits_1_and_still_counts_the_others(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("one two\n", encoding="utf-8")
    result = wordcount("a.txt", "missing.txt", cwd=tmp_path)
    assert result.returncode == 1
    assert "wordcount: missing.txt:" in result.stderr
    assert "1 2 8 a.txt" in result.stdout.splitlines()


def test_no_file_is_a_usage_error(tmp_path: Path) -> None:
    result = wordcount(cwd=tmp_path)
    assert result.returncode == 2

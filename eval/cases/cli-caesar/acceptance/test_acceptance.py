"""Acceptance tests for the caesar command, written from the requirement alone."""

import subprocess
import sys
from pathlib import Path

import pytest


def caesar(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "caesar", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=30,
    )


def test_the_default_shift_is_3(tmp_path: Path) -> None:
    result = caesar(cwd=tmp_path, stdin="Hello, World!\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Khoor, Zruog!\n"


@pytest.mark.parametrize(
    ("shift", "text", "shifted"),
    [
        ("1", "zoo\n", "app\n"),
        ("13", "Hello\n", "Uryyb\n"),
        ("-1", "abc ABC\n", "zab ZAB\n"),
        ("29", "xyz\n", "abc\n"),
        ("26", "Same\n", "Same\n"),
    ],
)
def test_shift_moves_letters_and_wraps(tmp_path: Path, shift: str, text: str, shifted: str) -> None:
    result = caesar("--shift", shift, cwd=tmp_path, stdin=text)
    assert result.returncode == 0, result.stderr
    assert result.stdout == shifted


@pytest.mark.parametrize(
    ("args", "text", "plain"),
    [
        (["--decode"], "Khoor, Zruog!\n", "Hello, World!\n"),
        (["--decode", "--shift", "1"], "app\n", "zoo\n"),
    ],
)
def test_decode_undoes_the_shift(tmp_path: Path, args: list[str], text: str, plain: str) -> None:
    result = caesar(*args, cwd=tmp_path, stdin=text)
    assert result.returncode == 0, result.stderr
    assert result.stdout == plain


def test_other_characters_are_left_as_they_are(tmp_path: Path) -> None:
    result = caesar("--shift", "1", cwd=tmp_path, stdin="Café 2026 - ok? élan\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Dbgé 2026 - pl? émbo\n"


def test_a_file_is_read_and_its_lines_kept(tmp_path: Path) -> None:
    (tmp_path / "note.txt").write_text("attack\n\nat dawn\n", encoding="utf-8")
    result = caesar("note.txt", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "dwwdfn\n\ndw gdzq\n"


def test_a_file_that_cannot_be_read_exits_1(tmp_path: Path) -> None:
    result = caesar("missing.txt", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr


@pytest.mark.parametrize("shift", ["two", "1.5"])
def test_a_shift_that_is_not_a_whole_number_exits_2(tmp_path: Path, shift: str) -> None:
    assert caesar("--shift", shift, cwd=tmp_path, stdin="abc\n").returncode == 2

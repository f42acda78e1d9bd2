"""Acceptance tests for the morse command, written from the requirement alone."""

import subprocess
import sys
from pathlib import Path

import pytest


def morse(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "morse", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=30,
    )


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("SOS", "... --- ..."),
        ("sos", "... --- ..."),
        ("Morse", "-- --- .-. ... ."),
        ("2026", "..--- ----- ..--- -...."),
        ("Hello World", ".... . .-.. .-.. --- / .-- --- .-. .-.. -.."),
    ],
)
def test_encodes_letters_and_digits(tmp_path: Path, text: str, code: str) -> None:
    result = morse(text, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == code + "\n"


@pytest.mark.parametrize("args", [["hi there"], ["hi", "there"]])
def test_words_are_separated_by_a_slash(tmp_path: Path, args: list[str]) -> None:
    result = morse(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ".... .. / - .... . .-. .\n"


@pytest.mark.parametrize(
    ("code", "text"),
    [
        ("... --- ...", "SOS"),
        (".... .. / - .... . .-. .", "HI THERE"),
        ("..--- -----", "20"),
    ],
)
def test_decode_gives_upper_case_text(tmp_path: Path, code: str, text: str) -> None:
    result = morse("--decode", code, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == text + "\n"


@pytest.mark.parametrize(
    ("args", "offending"),
    [
        (["hello!"], "!"),
        (["--decode", "...... ---"], "......"),
    ],
)
def test_something_untranslatable_exits_1(tmp_path: Path, args: list[str], offending: str) -> None:
    result = morse(*args, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("morse:")
    assert offending in result.stderr


@pytest.mark.parametrize("args", [[], ["--decode"]])
def test_no_text_is_a_usage_error(tmp_path: Path, args: list[str]) -> None:
    assert morse(*args, cwd=tmp_path).returncode == 2

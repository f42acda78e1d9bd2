"""Acceptance tests for the srtshift script, written from the requirement alone."""

import subprocess
import sys
from pathlib import Path

import pytest

SUBTITLES = """\
1
00:00:01,000 --> 00:00:03,500
Hello there.

2
00:00:04,250 --> 00:00:06,000
General Kenobi!
You are a bold one.

3
00:59:59,900 --> 01:00:02,100
Later --> on.
"""


def srtshift(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "srtshift", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=30,
    )


def run_on(tmp_path: Path, text: str, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "film.srt").write_text(text, encoding="utf-8")
    return srtshift("film.srt", *args, cwd=tmp_path)


def block(number: int, timing: str, text: str = "Hi.") -> str:
    return f"{number}\n{timing}\n{text}\n"


def test_every_block_moves_and_the_text_is_kept(tmp_path: Path) -> None:
    result = run_on(tmp_path, SUBTITLES, "--by", "1500")
    assert result.returncode == 0, result.stderr
    assert result.stdout.rstrip("\n") == (
        "1\n00:00:02,500 --> 00:00:05,000\nHello there.\n\n"
        "2\n00:00:05,750 --> 00:00:07,500\nGeneral Kenobi!\nYou are a bold one.\n\n"
        "3\n01:00:01,400 --> 01:00:03,600\nLater --> on."
    )


@pytest.mark.parametrize(
    ("by", "timing"),
    [
        ("-500", "00:00:09,500 --> 00:00:11,500"),
        ("61001", "00:01:11,001 --> 00:01:13,001"),
        ("3600000", "01:00:10,000 --> 01:00:12,000"),
        ("0", "00:00:10,000 --> 00:00:12,000"),
    ],
)
def test_times_carry_into_seconds_minutes_and_hours(tmp_path: Path, by: str, timing: str) -> None:
    result = run_on(tmp_path, block(1, "00:00:10,000 --> 00:00:12,000"), "--by", by)
    assert result.returncode == 0, result.stderr
    assert result.stdout.rstrip("\n") == block(1, timing).rstrip("\n")


def test_a_start_below_zero_becomes_zero(tmp_path: Path) -> None:
    result = run_on(tmp_path, block(1, "00:00:01,000 --> 00:00:03,000"), "--by", "-2000")
    assert result.returncode == 0, result.stderr
    assert result.stdout.rstrip("\n") == block(1, "00:00:00,000 --> 00:00:01,000").rstrip("\n")


def test_blocks_ending_at_zero_are_left_out_and_the_rest_renumbered(tmp_path: Path) -> None:
    text = "\n".join(
        [
            block(1, "00:00:00,500 --> 00:00:01,000", "Gone."),
            block(2, "00:00:01,000 --> 00:00:02,000", "Also gone."),
            block(3, "00:00:02,500 --> 00:00:04,000", "Kept."),
        ]
    )
    result = run_on(tmp_path, text, "--by", "-2000")
    assert result.returncode == 0, result.stderr
    kept = block(1, "00:00:00,500 --> 00:00:02,000", "Kept.")
    assert result.stdout.rstrip("\n") == kept.rstrip("\n")


@pytest.mark.parametrize(
    "timing",
    ["00:00:01 --> 00:00:02", "0:00:01,000 --> 0:00:02,000", "00:00:01,000 - 00:00:02,000"],
)
def test_a_bad_timing_line_exits_1(tmp_path: Path, timing: str) -> None:
    result = run_on(tmp_path, block(1, timing), "--by", "100")
    assert result.returncode == 1
    assert result.stderr


def test_an_unreadable_file_exits_1(tmp_path: Path) -> None:
    result = srtshift("missing.srt", "--by", "100", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr


@pytest.mark.parametrize("args", [[], ["--by", "fast"], ["--by", "1.5"]])
def test_a_missing_or_bad_by_is_a_usage_error(tmp_path: Path, args: list[str]) -> None:
    assert run_on(tmp_path, SUBTITLES, *args).returncode == 2

"""Acceptance tests for the hexpeek program, written from the requirement alone."""

import subprocess
import sys
from pathlib import Path

import pytest


def hexpeek(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hexpeek", *args],
        cwd=cwd,
        input="",
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=30,
    )


def dump_of(tmp_path: Path, data: bytes, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "blob.bin").write_bytes(data)
    return hexpeek("blob.bin", *args, cwd=tmp_path)


def test_sixteen_bytes_a_line_and_a_padded_last_line(tmp_path: Path) -> None:
    result = dump_of(tmp_path, b"The quick brown fox!")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "00000000  54 68 65 20 71 75 69 63 6b 20 62 72 6f 77 6e 20  The quick brown ",
        "00000010  66 6f 78 21" + " " * 36 + "  fox!",
    ]
    assert result.stdout.endswith("\n")


def test_bytes_outside_32_to_126_show_as_full_stops(tmp_path: Path) -> None:
    result = dump_of(tmp_path, bytes([0, 9, 10, 31, 32, 65, 126, 127, 128, 255]))
    assert result.returncode == 0, result.stderr
    hexes = "00 09 0a 1f 20 41 7e 7f 80 ff"
    assert result.stdout == f"00000000  {hexes:<47}  .... A~...\n"


@pytest.mark.parametrize(
    ("width", "data", "lines"),
    [
        (
            "4",
            b"ABCDEFGHIJ",
            [
                "00000000  41 42 43 44  ABCD",
                "00000004  45 46 47 48  EFGH",
                "00000008  49 4a        IJ",
            ],
        ),
        ("1", b"ok", ["00000000  6f  o", "00000001  6b  k"]),
        ("32", b"a" * 32, ["00000000  " + " ".join(["61"] * 32) + "  " + "a" * 32]),
        ("10", b"hello", ["00000000  68 65 6c 6c 6f                 hello"]),
    ],
)
def test_width_sets_the_bytes_a_line(
    tmp_path: Path, width: str, data: bytes, lines: list[str]
) -> None:
    result = dump_of(tmp_path, data, "--width", width)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == lines


def test_offsets_are_eight_hexadecimal_digits(tmp_path: Path) -> None:
    result = dump_of(tmp_path, bytes(range(256)) + bytes(44), "--width", "32")
    assert result.returncode == 0, result.stderr
    offsets = [line[:10] for line in result.stdout.splitlines()]
    assert offsets == [f"{n:08x}  " for n in range(0, 300, 32)]
    assert offsets[-1] == "00000120  "


def test_a_file_of_whole_lines_has_no_extra_line(tmp_path: Path) -> None:
    result = dump_of(tmp_path, b"0123456789abcdef" * 2)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert lines[1] == "00000010  " + " ".join(f"{b:02x}" for b in b"0123456789abcdef") + (
        "  0123456789abcdef"
    )


def test_an_empty_file_prints_nothing(tmp_path: Path) -> None:
    result = dump_of(tmp_path, b"")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""


def test_a_file_that_cannot_be_read_exits_1(tmp_path: Path) -> None:
    result = hexpeek("missing.bin", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("width", ["0", "33", "two", "1.5"])
def test_a_bad_width_is_a_usage_error(tmp_path: Path, width: str) -> None:
    assert dump_of(tmp_path, b"abc", "--width", width).returncode == 2


def test_no_path_is_a_usage_error(tmp_path: Path) -> None:
    assert hexpeek(cwd=tmp_path).returncode == 2

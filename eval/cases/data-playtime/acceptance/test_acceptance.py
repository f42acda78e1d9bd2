"""Acceptance tests for the playtime script, written from the requirement alone."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

PLAYLIST = """\
Nina Simone - Feeling Good (2:53)
Miles Davis - So What (9:22)

Nina Simone - Sinnerman (10:19)
Bill Evans - Peace Piece (6:40)
Astrud Gilberto - Agua de Beber (2:42)
Joao Gilberto - Desafinado (4:00)
"""


def playtime(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "playtime", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=30,
    )


def run_on(tmp_path: Path, text: str, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "list.txt").write_text(text, encoding="utf-8")
    return playtime("list.txt", *args, cwd=tmp_path)


@pytest.mark.parametrize(
    ("lengths", "line"),
    [
        (["2:53"], "1 track, 2:53"),
        (["3:10", "4:05", "3:15"], "3 tracks, 10:30"),
        (["59:00", "0:59"], "2 tracks, 59:59"),
        (["30:00", "30:00"], "2 tracks, 1:00:00"),
        (["45:30", "16:39"], "2 tracks, 1:02:09"),
    ],
)
def test_the_count_and_total_running_time(tmp_path: Path, lengths: list[str], line: str) -> None:
    text = "".join(f"Band {n} - Song {n} ({length})\n" for n, length in enumerate(lengths))
    result = run_on(tmp_path, text)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == line


def test_blank_lines_are_not_tracks(tmp_path: Path) -> None:
    result = run_on(tmp_path, PLAYLIST)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "6 tracks, 35:56"


def test_by_artist_lists_the_longest_total_first(tmp_path: Path) -> None:
    result = run_on(tmp_path, PLAYLIST, "--by-artist")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "Nina Simone: 13:12",
        "Miles Davis: 9:22",
        "Bill Evans: 6:40",
        "Joao Gilberto: 4:00",
        "Astrud Gilberto: 2:42",
    ]


def test_artists_with_equal_totals_are_in_alphabetical_order(tmp_path: Path) -> None:
    text = "Zoe - One (3:00)\nAnna - Two (1:30)\nMia - Three (3:00)\nAnna - Four (1:30)\n"
    result = run_on(tmp_path, text, "--by-artist")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["Anna: 3:00", "Mia: 3:00", "Zoe: 3:00"]


def test_json_lists_every_track_in_file_order(tmp_path: Path) -> None:
    result = run_on(tmp_path, PLAYLIST, "--json")
    assert result.returncode == 0, result.stderr
    tracks = json.loads(result.stdout)
    assert tracks[:2] == [
        {"artist": "Nina Simone", "title": "Feeling Good", "seconds": 173},
        {"artist": "Miles Davis", "title": "So What", "seconds": 562},
    ]
    assert [t["seconds"] for t in tracks] == [173, 562, 619, 400, 162, 240]
    assert tracks[4]["title"] == "Agua de Beber"


@pytest.mark.parametrize(
    "bad",
    [
        "Nina Simone - Feeling Good",
        "Feeling Good (2:53)",
        "Nina Simone - Feeling Good (2:5)",
        "Nina Simone - Feeling Good (two:53)",
    ],
)
def test_a_line_without_the_form_exits_1_naming_its_number(tmp_path: Path, bad: str) -> None:
    text = "A - B (1:00)\n\nC - D (2:00)\n" + bad + "\n"
    result = run_on(tmp_path, text)
    assert result.returncode == 1
    assert re.search(r"(?<!\d)4(?!\d)", result.stderr)


def test_a_file_that_cannot_be_read_exits_1(tmp_path: Path) -> None:
    result = playtime("missing.txt", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr

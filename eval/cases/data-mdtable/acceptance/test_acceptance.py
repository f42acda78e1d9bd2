"""Acceptance tests for `python -m mdtable`, written from the requirement alone."""

import subprocess
import sys
from pathlib import Path

import pytest


def mdtable(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mdtable", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=30,
    )


def run_on(tmp_path: Path, text: str, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "table.csv").write_bytes(text.encode("utf-8"))
    return mdtable("table.csv", *args, cwd=tmp_path)


def test_the_example_from_the_requirement(tmp_path: Path) -> None:
    result = run_on(tmp_path, "name,qty\ntea,3\n", "--align", "lr")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "| name | qty |\n| :--- | --: |\n| tea  |   3 |\n"


def test_columns_default_to_left_and_are_at_least_3_wide(tmp_path: Path) -> None:
    result = run_on(tmp_path, "a,b\nx,long value\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "| a   | b          |\n"  # widths 3 and 10
        "| :-- | :--------- |\n"
        "| x   | long value |\n"
    )


@pytest.mark.parametrize(
    ("text", "spec", "expected"),
    [
        (
            "h,mid\nab,c\n",
            "cc",
            "|  h  | mid |\n| :-: | :-: |\n| ab  |  c  |\n",
        ),
        (
            "item,note\nbig tea,ok\n",
            "rc",
            "|    item | note |\n| ------: | :--: |\n| big tea |  ok  |\n",
        ),
    ],
)
def test_right_and_centre_alignment(tmp_path: Path, text: str, spec: str, expected: str) -> None:
    result = run_on(tmp_path, text, "--align", spec)
    assert result.returncode == 0, result.stderr
    assert result.stdout == expected


def test_cells_are_stripped_and_pipes_escaped(tmp_path: Path) -> None:
    result = run_on(tmp_path, " a | b ,c\n x,y|z\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "| a \\| b | c    |",
        "| :----- | :--- |",
        "| x      | y\\|z |",
    ]


def test_short_rows_get_empty_cells_and_empty_lines_are_skipped(tmp_path: Path) -> None:
    result = run_on(tmp_path, 'a,b,c\n1\n\n"x, y",3\n')
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "| a    | b   | c   |",
        "| :--- | :-- | :-- |",
        "| 1    |     |     |",
        "| x, y | 3   |     |",
    ]


def test_a_row_with_too_many_cells_exits_1(tmp_path: Path) -> None:
    result = run_on(tmp_path, "a,b\n1,2\n3,4,5\n")
    assert result.returncode == 1
    assert "mdtable: line 3: too many cells" in result.stderr


@pytest.mark.parametrize("name", ["empty.csv", "missing.csv"])
def test_an_empty_or_unreadable_file_exits_1(tmp_path: Path, name: str) -> None:
    (tmp_path / "empty.csv").write_bytes(b"")
    result = mdtable(name, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr


@pytest.mark.parametrize("spec", ["l", "lrl", "lx"])
def test_a_spec_of_the_wrong_length_or_letters_exits_2(tmp_path: Path, spec: str) -> None:
    assert run_on(tmp_path, "a,b\n1,2\n", "--align", spec).returncode == 2

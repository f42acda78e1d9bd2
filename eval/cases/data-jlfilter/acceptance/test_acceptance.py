"""Acceptance tests for `python -m jlfilter`, written from the requirement alone."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

RECORDS = """\
{"name": "tea", "kind": "drink", "price": 3, "stock": 10}
{"name": "scone", "kind": "food", "price": 2.5, "stock": 0}

{"name": "coffee", "kind": "drink", "price": 4, "stock": 5, "decaf": true}
{"name": "cake", "kind": "food", "price": 4.5, "stock": "n/a"}
{"name": "water", "kind": "drink", "price": 0, "vegan": true, "code": "3"}
"""


def jlfilter(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jlfilter", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=30,
    )


def run_on(tmp_path: Path, text: str, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "items.jsonl").write_text(text, encoding="utf-8")
    return jlfilter("items.jsonl", *args, cwd=tmp_path)


def objects(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines()]


def test_without_conditions_every_object_is_printed_one_per_line(tmp_path: Path) -> None:
    result = run_on(tmp_path, RECORDS)
    assert result.returncode == 0, result.stderr
    expected = [json.loads(line) for line in RECORDS.splitlines() if line]
    assert objects(result.stdout) == expected


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ("kind=drink", ["tea", "coffee", "water"]),
        ('kind="food"', ["scone", "cake"]),
        ("price=4", ["coffee"]),
        ("code=3", []),
        ("decaf!=true", ["tea", "scone", "cake", "water"]),
        ("price>3", ["coffee", "cake"]),
        ("stock<5", ["scone"]),
        ("vegan>0", []),
    ],
)
def test_where_compares_a_field(tmp_path: Path, expr: str, names: list[str]) -> None:
    result = run_on(tmp_path, RECORDS, "--where", expr)
    assert result.returncode == 0, result.stderr
    assert [item["name"] for item in objects(result.stdout)] == names


def test_every_where_condition_must_hold(tmp_path: Path) -> None:
    result = run_on(tmp_path, RECORDS, "--where", "kind=drink", "--where", "price>0")
    assert result.returncode == 0, result.stderr
    assert [item["name"] for item in objects(result.stdout)] == ["tea", "coffee"]


def test_fields_keeps_the_named_keys_in_order(tmp_path: Path) -> None:
    result = run_on(tmp_path, RECORDS, "--fields", "stock,name", "--where", "kind=drink")
    assert result.returncode == 0, result.stderr
    kept = objects(result.stdout)
    assert kept == [
        {"stock": 10, "name": "tea"},
        {"stock": 5, "name": "coffee"},
        {"name": "water"},
    ]
    assert [list(item) for item in kept] == [["stock", "name"], ["stock", "name"], ["name"]]


def test_count_prints_only_the_number_kept(tmp_path: Path) -> None:
    result = run_on(tmp_path, RECORDS, "--where", "kind=food", "--count")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "2"


@pytest.mark.parametrize("bad", ["[1, 2]", "{oops"])
def test_a_line_that_is_not_an_object_exits_1(tmp_path: Path, bad: str) -> None:
    text = '{"name": "a"}\n\n' + bad + '\n{"name": "b"}\n'
    result = run_on(tmp_path, text)
    assert result.returncode == 1
    assert "jlfilter: line 3: not a JSON object" in result.stderr
    assert result.stdout == ""


def test_an_unreadable_file_exits_1(tmp_path: Path) -> None:
    result = jlfilter("missing.jsonl", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr


@pytest.mark.parametrize("expr", ["price", "price>cheap"])
def test_a_malformed_where_exits_2(tmp_path: Path, expr: str) -> None:
    assert run_on(tmp_path, RECORDS, "--where", expr).returncode == 2

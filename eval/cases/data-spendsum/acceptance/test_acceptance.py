"""Acceptance tests for the spendsum script, written from the requirement alone."""

import subprocess
import sys
from pathlib import Path

import pytest

MAY = """date,category,amount,note
2026-05-02,travel,80.50,train
2026-05-03,food,12.25,lunch
2026-05-09,travel,40,taxi
2026-05-20,office,7.99,pens
"""

JUNE = """date,category,amount,note
2026-06-01,food,30.00,team lunch
2026-06-04,travel,-20.50,refund
2026-06-11,books,15.10,manual
"""


def spendsum(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "spendsum", *args],
        cwd=cwd,
        input="",
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=30,
    )


def write(tmp_path: Path, name: str, text: str) -> str:
    (tmp_path / name).write_text(text, encoding="utf-8")
    return name


def test_one_file_is_summed_by_category_in_alphabetical_order(tmp_path: Path) -> None:
    result = spendsum(write(tmp_path, "may.csv", MAY), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "food: 12.25",
        "office: 7.99",
        "travel: 120.50",
        "total: 140.74",
    ]


def test_several_files_make_one_summary(tmp_path: Path) -> None:
    may, june = write(tmp_path, "may.csv", MAY), write(tmp_path, "june.csv", JUNE)
    july = write(tmp_path, "july.csv", "category,amount\noffice,2.01\n")
    result = spendsum(may, june, july, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "books: 15.10",
        "food: 42.25",
        "office: 10.00",
        "travel: 100.00",
        "total: 167.35",
    ]


def test_columns_are_found_by_name_wherever_they_are(tmp_path: Path) -> None:
    text = "Amount,Who,CATEGORY\n3.5,ann,snacks\n1.25,bob,snacks\n10,ann,taxi\n"
    result = spendsum(write(tmp_path, "a.csv", text), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["snacks: 4.75", "taxi: 10.00", "total: 14.75"]


def test_an_empty_category_counts_as_uncategorised(tmp_path: Path) -> None:
    text = "category,amount\n,4.00\nzoo,1\n,0.50\n"
    result = spendsum(write(tmp_path, "a.csv", text), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["uncategorised: 4.50", "zoo: 1.00", "total: 5.50"]


def test_refunds_can_make_totals_negative(tmp_path: Path) -> None:
    text = "category,amount\nfood,5\nfood,-7.5\ngifts,2.5\n"
    result = spendsum(write(tmp_path, "a.csv", text), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["food: -2.50", "gifts: 2.50", "total: 0.00"]


def test_largest_first_orders_by_total_then_by_name(tmp_path: Path) -> None:
    text = "category,amount\ndelta,5\nalpha,1\ngamma,9\nbeta,5\nalpha,-2\n"
    result = spendsum("--largest-first", write(tmp_path, "a.csv", text), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "gamma: 9.00",
        "beta: 5.00",
        "delta: 5.00",
        "alpha: -1.00",
        "total: 18.00",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "category,amount\nfood,12\nfood,twelve\n",
        "category,amount\nfood,\n",
        "category,price\nfood,12\n",
        "what,amount\nfood,12\n",
    ],
)
def test_a_bad_file_exits_1_and_prints_nothing(tmp_path: Path, text: str) -> None:
    good = write(tmp_path, "good.csv", MAY)
    result = spendsum(good, write(tmp_path, "bad.csv", text), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr


def test_a_file_that_cannot_be_read_exits_1(tmp_path: Path) -> None:
    result = spendsum(write(tmp_path, "may.csv", MAY), "missing.csv", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr


def test_no_file_is_a_usage_error(tmp_path: Path) -> None:
    assert spendsum(cwd=tmp_path).returncode == 2
    assert spendsum("--largest-first", cwd=tmp_path).returncode == 2

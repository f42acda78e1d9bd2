"""Acceptance tests for `python -m salesreport`, written from the requirement alone."""

import subprocess
import sys
from pathlib import Path

SALES = """\
region,date,product,quantity,unit_price,seller
north,2024-01-15,tea,3,4.50,ann
south,2024-01-20,coffee,1,12.00,bob
north,2024-02-01,coffee,2,12.00,ann
east,2024-02-11,tea,10,0.99,cy
south,2024-02-28,tea,1,4.50,bob
"""


def salesreport(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "salesreport", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=30,
    )


def run_on(tmp_path: Path, text: str, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "sales.csv").write_bytes(text.encode("utf-8"))
    return salesreport("sales.csv", *args, cwd=tmp_path)


def test_by_region_sorts_by_revenue_and_ends_with_total(tmp_path: Path) -> None:
    result = run_on(tmp_path, SALES, "--by", "region")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "group,orders,units,revenue\n"
        "north,2,5,37.50\n"
        "south,2,2,16.50\n"
        "east,1,10,9.90\n"
        "TOTAL,5,17,63.90\n"
    )


def test_by_product(tmp_path: Path) -> None:
    result = run_on(tmp_path, SALES, "--by", "product")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "group,orders,units,revenue",
        "coffee,2,3,36.00",
        "tea,3,14,27.90",
        "TOTAL,5,17,63.90",
    ]


def test_by_month_uses_year_and_month(tmp_path: Path) -> None:
    result = run_on(tmp_path, SALES, "--by", "month")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "group,orders,units,revenue",
        "2024-02,3,13,38.40",
        "2024-01,2,4,25.50",
        "TOTAL,5,17,63.90",
    ]


def test_equal_revenue_is_ordered_by_group_and_rounding_is_half_up(tmp_path: Path) -> None:
    text = (
        "date,region,product,quantity,unit_price\n"
        "2024-03-01,zeta,a,1,0.125\n"
        "2024-03-01,alpha,a,1,0.125\n"
    )
    result = run_on(tmp_path, text, "--by", "region")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "group,orders,units,revenue",
        "alpha,1,1,0.13",
        "zeta,1,1,0.13",
        "TOTAL,2,2,0.25",
    ]


def test_output_option_writes_the_report(tmp_path: Path) -> None:
    result = run_on(tmp_path, SALES, "--by", "region", "--output", "report.csv")
    assert result.returncode == 0, result.stderr
    report = (tmp_path / "report.csv").read_bytes().decode("utf-8")
    assert report.startswith("group,orders,units,revenue\nnorth,2,5,37.50\n")
    assert "\r" not in report


def test_a_missing_column_exits_1(tmp_path: Path) -> None:
    result = run_on(tmp_path, "date,region,product,quantity\n2024-01-01,n,t,1\n", "--by", "region")
    assert result.returncode == 1
    assert "salesreport: missing column unit_price" in result.stderr


def test_bad_values_exit_1_and_name_the_line(tmp_path: Path) -> None:
    bad_quantity = SALES.replace("east,2024-02-11,tea,10,", "east,2024-02-11,tea,ten,")
    result = run_on(tmp_path, bad_quantity, "--by", "region")
    assert result.returncode == 1
    assert "salesreport: line 5:" in result.stderr
    bad_price = SALES.replace("12.00,bob", "twelve,bob")
    result = run_on(tmp_path, bad_price, "--by", "region")
    assert result.returncode == 1
    assert "salesreport: line 3:" in result.stderr
    bad_date = SALES.replace("2024-02-01", "2024-13-01")
    result = run_on(tmp_path, bad_date, "--by", "month")
    assert result.returncode == 1
    assert "salesreport: line 4:" in result.stderr


def test_unknown_by_exits_2_and_missing_file_exits_1(tmp_path: Path) -> None:
    assert run_on(tmp_path, SALES, "--by", "seller").returncode == 2
    missing = salesreport("nope.csv", "--by", "region", cwd=tmp_path)
    assert missing.returncode == 1
    assert missing.stderr

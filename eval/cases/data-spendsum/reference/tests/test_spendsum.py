from decimal import Decimal

import pytest
from spendsum import SpendingError, add_file, summary


def test_amounts_add_up_by_category(tmp_path) -> None:
    path = tmp_path / "may.csv"
    path.write_text("Amount,Category\n1.50,food\n2,food\n-0.25,\n", encoding="utf-8")
    totals: dict = {}
    add_file(str(path), totals)
    assert totals == {"food": Decimal("3.50"), "uncategorised": Decimal("-0.25")}


def test_summary_orders_and_totals() -> None:
    totals = {"b": Decimal("1"), "a": Decimal("1"), "c": Decimal("5")}
    assert summary(totals) == ["a: 1.00", "b: 1.00", "c: 5.00", "total: 7.00"]
    assert summary(totals, largest_first=True)[:3] == ["c: 5.00", "a: 1.00", "b: 1.00"]


def test_a_bad_amount_is_refused(tmp_path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("category,amount\nfood,lots\n", encoding="utf-8")
    with pytest.raises(SpendingError):
        add_file(str(path), {})

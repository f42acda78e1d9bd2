from decimal import Decimal

import pytest
from tempconv import ConversionError, convert, format_result, main


def test_boiling_point_in_fahrenheit() -> None:
    assert convert(Decimal(100), "C", "F") == Decimal(212)


def test_below_absolute_zero_is_refused() -> None:
    with pytest.raises(ConversionError):
        convert(Decimal("-459.68"), "F", "K")


def test_rounded_zero_has_no_sign() -> None:
    assert format_result(Decimal("-0.001"), 2, "C") == "0.00 C"


def test_main_prints_value_and_unit(capsys) -> None:
    assert main(["0", "--from", "c", "--to", "k"]) == 0
    assert capsys.readouterr().out == "273.15 K\n"

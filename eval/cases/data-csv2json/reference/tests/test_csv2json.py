import pytest
from csv2json import RaggedRowError, convert, key, value


def test_key() -> None:
    assert key(" Unit Price") == "unit_price"


def test_value_types() -> None:
    assert [value(v) for v in ["", "TRUE", "-3", "1e3", "abc"]] == [None, True, -3, 1000.0, "abc"]


def test_ragged_row() -> None:
    with pytest.raises(RaggedRowError):
        convert(["a,b\n", "1\n"])

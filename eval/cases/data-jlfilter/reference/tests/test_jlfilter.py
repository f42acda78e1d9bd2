import pytest
from jlfilter import LineError, parse_condition, read_objects


def test_equality_reads_json_values() -> None:
    assert parse_condition("n=3")({"n": 3})
    assert not parse_condition("n=3")({"n": "3"})
    assert not parse_condition("flag=1")({"flag": True})


def test_not_equal_keeps_missing_fields() -> None:
    assert parse_condition("a!=x")({})


def test_bad_line_is_named() -> None:
    with pytest.raises(LineError, match="line 2"):
        read_objects('{"a": 1}\n[]\n')

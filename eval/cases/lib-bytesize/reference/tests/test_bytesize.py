import pytest
from bytesize import format_size, parse_size


def test_formatted_sizes_parse_back() -> None:
    for size in (0, 999, 1000, 1500, 2500000):
        assert parse_size(format_size(size)) == size


def test_a_unit_without_a_number_is_refused() -> None:
    with pytest.raises(ValueError):
        parse_size("kB")

"""Acceptance tests for the bytesize module, written from the requirement alone."""

import pytest
from bytesize import format_size, parse_size


@pytest.mark.parametrize(("size", "text"), [(0, "0 B"), (1, "1 B"), (999, "999 B")])
def test_sizes_below_1000_are_whole_bytes(size: int, text: str) -> None:
    assert format_size(size) == text


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (1000, "1.0 kB"),
        (1500, "1.5 kB"),
        (2500000, "2.5 MB"),
        (3000000000, "3.0 GB"),
        (7100000000000, "7.1 TB"),
    ],
)
def test_larger_sizes_use_the_biggest_unit_with_one_decimal(size: int, text: str) -> None:
    assert format_size(size) == text


def test_sizes_past_tb_stay_in_tb() -> None:
    assert format_size(5000000000000000) == "5000.0 TB"


def test_a_negative_size_raises_value_error() -> None:
    with pytest.raises(ValueError):
        format_size(-1)


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("1.5 kB", 1500),
        ("20MB", 20000000),
        ("512 B", 512),
        ("512", 512),
        ("2 gb", 2000000000),
        ("0.5 KB", 500),
    ],
)
def test_parse_size_reads_number_and_unit(text: str, size: int) -> None:
    result = parse_size(text)
    assert result == size
    assert isinstance(result, int)


@pytest.mark.parametrize("text", ["lots", "5 XB"])
def test_parse_size_refuses_what_it_cannot_read(text: str) -> None:
    with pytest.raises(ValueError):
        parse_size(text)

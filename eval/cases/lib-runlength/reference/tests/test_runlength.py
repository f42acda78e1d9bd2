import pytest
from runlength import decode, encode, runs


def test_runs() -> None:
    assert runs("aab") == [("a", 2), ("b", 1)]


def test_round_trip_with_digits() -> None:
    assert encode("5555x") == "4\\5x"
    assert decode("4\\5x") == "5555x"


def test_zero_length_is_malformed() -> None:
    with pytest.raises(ValueError):
        decode("0x")

import pytest
from srtshift import TimingError, shift


def test_a_block_moves_later() -> None:
    text = "1\n00:00:01,000 --> 00:00:02,000\nHi\n"
    assert shift(text, 999) == "1\n00:00:01,999 --> 00:00:02,999\nHi\n"


def test_a_bad_timing_line_is_refused() -> None:
    with pytest.raises(TimingError):
        shift("1\nsoon --> later\nHi\n", 5)

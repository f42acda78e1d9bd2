import pytest
from timesum import format_total, parse_duration


def test_parse_duration() -> None:
    assert parse_duration("1h30m") == 5400
    assert parse_duration("90S") == 90


@pytest.mark.parametrize("text", ["", "m5", "1h1h", "30m1h"])
def test_invalid_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_hours_are_not_limited_to_a_day() -> None:
    assert format_total(26 * 3600 + 180) == "26:03:00"

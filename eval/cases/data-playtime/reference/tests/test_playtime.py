import pytest
from playtime import LineError, Track, duration, read_tracks


def test_a_track_line_is_read() -> None:
    assert read_tracks("A - B - C (1:05)\n") == [Track("A", "B - C", 65)]


def test_durations_past_an_hour_show_hours() -> None:
    assert (duration(59), duration(3600), duration(3725)) == ("0:59", "1:00:00", "1:02:05")


def test_a_bad_line_is_named() -> None:
    with pytest.raises(LineError, match="line 2"):
        read_tracks("A - B (1:00)\nnonsense\n")

from weatherstats import summarise


def test_readings_are_summarised_per_city() -> None:
    rows = [{"city": "A", "temp": "1"}, {"city": "A", "temp": "2"}, {"city": "B", "temp": "x"}]
    assert summarise(rows) == {"A": {"count": 2, "min": 1, "max": 2, "mean": 1.5}}


def test_one_city() -> None:
    rows = [{"city": "A", "temp": "1"}, {"city": "B", "temp": "2"}]
    assert list(summarise(rows, "B")) == ["B"]

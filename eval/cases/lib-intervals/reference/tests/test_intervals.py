from intervals import merge, subtract, total_length


def test_merge_adjacent() -> None:
    assert merge([(4, 6), (1, 3)]) == [(1, 6)]


def test_subtract_splits() -> None:
    assert subtract([(1, 10)], [(4, 5)]) == [(1, 3), (6, 10)]


def test_total_length() -> None:
    assert total_length([(1, 3), (2, 5)]) == 5

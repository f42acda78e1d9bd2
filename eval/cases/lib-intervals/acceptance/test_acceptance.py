"""Acceptance tests for the `intervals` module, written from the requirement alone."""

import pytest
from intervals import contains, intersect, merge, subtract, total_length


def test_merge_joins_overlapping_and_adjacent_and_sorts() -> None:
    assert merge([(10, 12), (1, 3), (2, 5), (7, 8), (6, 6)]) == [(1, 8), (10, 12)]
    assert merge([(1, 3), (5, 6)]) == [(1, 3), (5, 6)]


def test_merge_does_not_modify_its_input() -> None:
    given = [(5, 9), (1, 2), (2, 4)]
    merge(given)
    assert given == [(5, 9), (1, 2), (2, 4)]


def test_total_length_counts_integers_covered_once() -> None:
    assert total_length([(1, 3)]) == 3
    assert total_length([(1, 5), (3, 7), (10, 10)]) == 8
    assert total_length([(-2, 2)]) == 5


def test_intersect_keeps_what_both_cover() -> None:
    assert intersect([(1, 10)], [(3, 4), (8, 12)]) == [(3, 4), (8, 10)]
    assert intersect([(1, 2), (3, 4)], [(2, 3)]) == [(2, 3)]
    assert intersect([(1, 2)], [(3, 4)]) == []


def test_subtract_removes_what_b_covers() -> None:
    assert subtract([(1, 10)], [(4, 5)]) == [(1, 3), (6, 10)]
    assert subtract([(1, 10)], [(0, 3), (9, 20)]) == [(4, 8)]
    assert subtract([(1, 3), (5, 8)], [(1, 8)]) == []
    assert subtract([(3, 1 + 2)], []) == [(3, 3)]


def test_contains_checks_every_interval() -> None:
    spans = [(10, 20), (1, 3)]
    assert contains(spans, 1)
    assert contains(spans, 20)
    assert not contains(spans, 4)
    assert not contains(spans, 21)


def test_empty_lists_are_valid() -> None:
    assert merge([]) == []
    assert total_length([]) == 0
    assert intersect([], [(1, 2)]) == []
    assert subtract([], [(1, 2)]) == []
    assert contains([], 1) is False


@pytest.mark.parametrize("bad", [(3, 1), (1, 2, 3), (1.5, 2), (1,)])
def test_invalid_intervals_raise_value_error(bad: tuple) -> None:
    with pytest.raises(ValueError):
        merge([(0, 0), bad])
    with pytest.raises(ValueError):
        total_length([bad])

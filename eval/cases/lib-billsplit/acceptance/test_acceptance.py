"""Acceptance tests for the billsplit module, written from the requirement alone."""

import pytest
from billsplit import share_by_weight, share_equally


@pytest.mark.parametrize(
    ("cents", "people", "shares"),
    [
        (1000, 3, [334, 333, 333]),
        (5, 4, [2, 1, 1, 1]),
        (2, 3, [1, 1, 0]),
        (0, 2, [0, 0]),
    ],
)
def test_share_equally_gives_leftover_cents_to_the_first_people(
    cents: int, people: int, shares: list[int]
) -> None:
    result = share_equally(cents, people)
    assert result == shares
    assert isinstance(result, list)


@pytest.mark.parametrize(
    ("cents", "people", "tip", "shares"),
    [
        (1000, 3, 10, [367, 367, 366]),
        (1010, 2, 15, [581, 581]),
        (1010, 1, 5, [1061]),
    ],
)
def test_share_equally_adds_the_tip_rounded_half_up(
    cents: int, people: int, tip: int, shares: list[int]
) -> None:
    assert share_equally(cents, people, tip) == shares


@pytest.mark.parametrize(
    ("cents", "weights", "shares"),
    [
        (100, [2, 1], [67, 33]),
        (10, [1, 2, 0], [3, 7, 0]),
        (9999, [3, 7, 11], [1428, 3333, 5238]),
        (100, [0.5, 1.5], [25, 75]),
    ],
)
def test_share_by_weight_is_in_proportion(cents: int, weights: list, shares: list[int]) -> None:
    result = share_by_weight(cents, weights)
    assert result == shares
    assert isinstance(result, list)


def test_share_by_weight_breaks_ties_for_the_earlier_person() -> None:
    assert share_by_weight(2, [1, 1, 1]) == [1, 1, 0]
    assert share_by_weight(5, [1, 1]) == [3, 2]


def test_the_shares_always_add_up_to_the_total() -> None:
    assert sum(share_equally(12345, 7)) == 12345
    assert sum(share_equally(12345, 7, 18)) == 12345 + 2222
    shares = share_by_weight(12345, [5, 3, 3, 1, 9, 2])
    assert sum(shares) == 12345 and len(shares) == 6


def test_share_equally_refuses_bad_input() -> None:
    with pytest.raises(ValueError):
        share_equally(-1, 2)
    with pytest.raises(ValueError):
        share_equally(100, 0)
    with pytest.raises(ValueError):
        share_equally(100, 2, -5)


def test_share_by_weight_refuses_bad_input() -> None:
    with pytest.raises(ValueError):
        share_by_weight(-1, [1, 1])
    with pytest.raises(ValueError):
        share_by_weight(100, [1, -1])
    with pytest.raises(ValueError):
        share_by_weight(100, [0, 0])

import pytest
from billsplit import share_by_weight, share_equally


def test_even_shares_with_a_tip() -> None:
    assert share_equally(1000, 3) == [334, 333, 333]
    assert share_equally(1000, 3, 10) == [367, 367, 366]


def test_weighted_shares_add_up() -> None:
    assert share_by_weight(100, [2, 1]) == [67, 33]
    assert sum(share_by_weight(12345, [1, 2, 3, 4])) == 12345


def test_nobody_to_pay() -> None:
    with pytest.raises(ValueError):
        share_equally(100, 0)

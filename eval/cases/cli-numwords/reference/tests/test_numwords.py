import pytest
from numwords import in_words, ordinal


def test_words() -> None:
    assert in_words(118) == "one hundred eighteen"
    assert in_words(30_000) == "thirty thousand"


def test_ordinals() -> None:
    assert [ordinal(n) for n in (1, 2, 8, 9, 30, 101)] == [
        "first", "second", "eighth", "ninth", "thirtieth", "one hundred first"
    ]  # fmt: skip


def test_out_of_range() -> None:
    with pytest.raises(ValueError):
        in_words(1_000_000)

from rewrap import justify, rewrap, wrap


def test_wrap_is_greedy() -> None:
    assert wrap(["the", "quick", "brown", "fox"], 10) == [["the", "quick"], ["brown", "fox"]]


def test_justify_widens_leftmost_gaps_first() -> None:
    assert justify(["aa", "bb", "cc"], 9) == "aa  bb cc"


def test_paragraphs_are_separated_by_one_empty_line() -> None:
    assert rewrap("a\nb\n\n\nc\n", 10) == "a b\n\nc\n"

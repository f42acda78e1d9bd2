from dedupe import dedupe


def test_keeps_first_occurrence_in_order() -> None:
    assert dedupe(["b", "a", "b", "c", "a"]) == [("b", 2), ("a", 2), ("c", 1)]


def test_ignore_case_keeps_first_spelling() -> None:
    assert dedupe(["Apple", "APPLE", "apple"], ignore_case=True) == [("Apple", 3)]

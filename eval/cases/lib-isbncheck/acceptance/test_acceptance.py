"""Acceptance tests for the isbncheck module, written from the requirement alone."""

import pytest
from isbncheck import is_valid, to_isbn13


@pytest.mark.parametrize("text", ["0-306-40615-2", "0306406152", "0 8044 2957 X", "080442957X"])
def test_valid_isbn10_with_or_without_hyphens_and_spaces(text: str) -> None:
    assert is_valid(text) is True


@pytest.mark.parametrize("text", ["978-0-306-40615-7", "9780306406157"])
def test_valid_isbn13_with_or_without_hyphens(text: str) -> None:
    assert is_valid(text) is True


@pytest.mark.parametrize(
    "text",
    [
        "0-306-40615-3",
        "978-0-306-40615-8",
        "12345",
        "03064061X2",
        "abcdefghij",
    ],
)
def test_invalid_numbers(text: str) -> None:
    assert is_valid(text) is False


@pytest.mark.parametrize(
    ("isbn10", "isbn13"),
    [("0-306-40615-2", "9780306406157"), ("0 8044 2957 X", "9780804429573")],
)
def test_to_isbn13_converts_an_isbn10(isbn10: str, isbn13: str) -> None:
    result = to_isbn13(isbn10)
    assert result == isbn13
    assert is_valid(result) is True


@pytest.mark.parametrize("text", ["0-306-40615-3", "9780306406157"])
def test_to_isbn13_refuses_what_is_not_a_valid_isbn10(text: str) -> None:
    with pytest.raises(ValueError):
        to_isbn13(text)

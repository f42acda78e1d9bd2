"""Acceptance tests for `textslug.slugify`, written from the requirement alone."""

import pytest
from textslug import slugify


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("Hello, World!", "hello-world"),
        ("  Many   spaces\tand\nlines ", "many-spaces-and-lines"),
        ("Python 3.11 is out", "python-3-11-is-out"),
        ("--already-a-slug--", "already-a-slug"),
    ],
)
def test_runs_of_other_characters_become_one_separator(text: str, slug: str) -> None:
    assert slugify(text) == slug


def test_accents_are_folded_to_ascii() -> None:
    assert slugify("Crème Brûlée à la française") == "creme-brulee-a-la-francaise"


def test_non_ascii_without_an_ascii_form_is_dropped() -> None:
    assert slugify("Tokyo 東京 guide") == "tokyo-guide"


def test_apostrophes_are_removed_without_a_separator() -> None:
    assert slugify("Don't Stop Me Now") == "dont-stop-me-now"


def test_truncation_keeps_whole_leading_words() -> None:
    assert slugify("hello big world", max_length=12) == "hello-big"
    assert slugify("hello big world", max_length=15) == "hello-big-world"
    assert slugify("hello big world", max_length=9) == "hello-big"
    assert slugify("hello big world", max_length=8) == "hello"


def test_a_first_word_longer_than_the_limit_is_cut() -> None:
    assert slugify("Supercalifragilistic words", max_length=5) == "super"


def test_default_max_length_is_80() -> None:
    slug = slugify("word " * 40)
    assert len(slug) <= 80
    assert slug == "-".join(["word"] * 16)


def test_custom_separator() -> None:
    assert slugify("Python 3.11 is out", separator="_") == "python_3_11_is_out"
    assert slugify("a b c d", max_length=5, separator="_") == "a_b_c"


@pytest.mark.parametrize("text", ["", "   ", "!!! ??? ...", "東京"])
def test_nothing_to_keep_gives_an_empty_string(text: str) -> None:
    assert slugify(text) == ""


@pytest.mark.parametrize("max_length", [0, -5])
def test_max_length_below_1_raises_value_error(max_length: int) -> None:
    with pytest.raises(ValueError):
        slugify("anything", max_length=max_length)

from textslug import slugify


def test_basic() -> None:
    assert slugify("Hello, World!") == "hello-world"


def test_truncates_at_word() -> None:
    assert slugify("hello big world", max_length=12) == "hello-big"

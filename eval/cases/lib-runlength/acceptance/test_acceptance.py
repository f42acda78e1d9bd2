"""Acceptance tests for the `runlength` module, written from the requirement alone."""

import pytest
from runlength import decode, encode, ratio, runs


def test_runs_lists_maximal_runs_in_order() -> None:
    assert runs("aaab") == [("a", 3), ("b", 1)]
    assert runs("") == []
    assert runs("aAa") == [("a", 1), ("A", 1), ("a", 1)]
    assert runs("ééé  x") == [("é", 3), (" ", 2), ("x", 1)]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("aaabccdddd", "3ab2c4d"),
        ("", ""),
        ("abc", "abc"),
        ("z" * 12, "12z"),
        ("1112", "3\\1\\2"),
        ("\\", "\\\\"),
    ],
)
def test_encode_writes_lengths_and_escapes_digits_and_backslashes(text: str, code: str) -> None:
    assert encode(text) == code


@pytest.mark.parametrize(
    ("code", "text"),
    [
        ("3ab2c4d", "aaabccdddd"),
        ("1a2a", "aaa"),
        ("12z", "z" * 12),
        ("3\\1\\2", "1112"),
    ],
)
def test_decode_reverses_encode_and_accepts_written_out_lengths(code: str, text: str) -> None:
    assert decode(code) == text


def test_decode_of_encode_is_the_identity() -> None:
    samples = ["", "a", "hello  world", "1", "00700", "\\\\x\\", "x" * 25 + "9" * 11, "éé\n\n\t"]
    for text in samples:
        assert decode(encode(text)) == text


@pytest.mark.parametrize("code", ["3", "a2", "0a", "03a", "a\\"])
def test_decode_rejects_malformed_codes(code: str) -> None:
    with pytest.raises(ValueError):
        decode(code)


def test_ratio_compares_encoded_and_original_lengths() -> None:
    assert ratio("aaaa") == 0.5
    assert ratio("ab") == 1.0
    assert ratio("1") == 2.0
    assert ratio("") == 1.0

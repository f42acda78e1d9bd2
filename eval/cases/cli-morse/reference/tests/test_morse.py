import pytest
from morse import Untranslatable, decode, encode


def test_round_trip() -> None:
    assert decode(encode("The quick brown fox 42")) == "THE QUICK BROWN FOX 42"


def test_unknown_character_is_refused() -> None:
    with pytest.raises(Untranslatable, match="'#'"):
        encode("a#b")

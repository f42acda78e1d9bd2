import pytest
from romanconv import from_roman, main, to_roman


def test_round_trip() -> None:
    assert all(from_roman(to_roman(n)) == n for n in range(1, 4000))


def test_rejects_non_canonical() -> None:
    with pytest.raises(ValueError):
        from_roman("IIII")


def test_main_prints_numeral(capsys) -> None:
    assert main(["to-roman", "14"]) == 0
    assert capsys.readouterr().out == "XIV\n"
